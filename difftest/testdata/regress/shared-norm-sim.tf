# A norm vector shared by every layer (rms_att [dim]): the simulator
# sliced past the tensor from the third layer (panic: slice bounds out of
# range), while the images ran.
# The llama2 block with a GELU gate instead of SiLU, random weights and the
# synthetic tokenizer.
model shared_norm_sim

weights   random seed 2
tokenizer synthetic

config {
  dim      = 48
  hidden   = 96
  layers   = 3
  heads    = 6
  kv_heads = 2
  vocab    = 384
  context  = 128
  head_dim = dim / heads
  kv_dim   = kv_heads * head_dim
}

param token_embedding [vocab, dim]
param rms_att [dim]
param wq              [layers, dim, dim]
param wk              [layers, kv_dim, dim]
param wv              [layers, kv_dim, dim]
param wo              [layers, dim, dim]
param rms_ffn         [layers, dim]
param w1              [layers, hidden, dim]
param w2              [layers, dim, hidden]
param w3              [layers, hidden, dim]
param rms_final       [dim]

quant token_embedding, wq, wk, wv, wo, w1, w2, w3 : int16 per row
quant rms_att, rms_ffn, rms_final : fixed

cache kv [layers, context, kv_dim] : int16 per token_head

forward {
  x = embed(token_embedding, token)
  layer {
    h = rmsnorm(x, rms_att)
    q = rope(matmul(wq, h), head_dim)
    k = rope(matmul(wk, h), head_dim)
    v = matmul(wv, h)
    store(kv, k, v)
    x = add(x, matmul(wo, attention(q, kv, head_dim)))
    h = rmsnorm(x, rms_ffn)
    x = add(x, matmul(w2, mul(gelu(matmul(w1, h)), matmul(w3, h))))
  }
  x = rmsnorm(x, rms_final)
  next = argmax(matmul(token_embedding, x))
}

generate {
  prompt = ""
  steps  = 64
  sampler greedy
}
