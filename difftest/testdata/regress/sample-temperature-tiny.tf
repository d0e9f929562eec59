# A temperature so small that round(2^16/T) passes 31 bits: tfc sim and the
# images drew different tokens, in silence (found by hand, December 2026).
# rejected: temperature 1e-05 is below 3.05e-05
model mha_random

weights   random seed 1
tokenizer synthetic

config {
  dim      = 64
  hidden   = 96
  layers   = 2
  heads    = 4
  kv_heads = 4
  vocab    = 256
  context  = 128
  head_dim = dim / heads
  kv_dim   = kv_heads * head_dim
}

param token_embedding [vocab, dim]
param rms_att         [layers, dim]
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
    x = add(x, matmul(w2, mul(silu(matmul(w1, h)), matmul(w3, h))))
  }
  x = rmsnorm(x, rms_final)
  next = sample(matmul(token_embedding, x))
}

generate {
  prompt = ""
  steps  = 8
  sampler temperature 0.00001 top_p 0.9 seed 7
}
