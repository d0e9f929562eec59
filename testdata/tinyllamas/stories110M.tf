# stories110M's shape (llama2.c's tinyllamas: dim 768, hidden 2048, 12 layers,
# 12 heads, vocab 32000, context 1024) with random weights and the synthetic
# tokenizer, the exact scheme (int16 weights per row, int16 cache). The
# templates cannot take it; -Os and -O2 build it with the loop code
# generator. README's figures: tfc run --bench on this file.
model stories110M_random
weights random seed 110
tokenizer synthetic
config {
  dim = 768
  hidden = 2048
  layers = 12
  heads = 12
  kv_heads = 12
  vocab = 32000
  context = 1024
  head_dim = dim / heads
}
param token_embedding [vocab, dim]
param rms_att [layers, dim]
param wq [layers, dim, dim]
param wk [layers, dim, dim]
param wv [layers, dim, dim]
param wo [layers, dim, dim]
param rms_ffn [layers, dim]
param w1 [layers, hidden, dim]
param w2 [layers, dim, hidden]
param w3 [layers, hidden, dim]
param rms_final [dim]
quant token_embedding, wq, wk, wv, wo, w1, w2, w3 : int16 per row

cache kv [layers, context, dim] : int16 per token_head
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
  next = argmax(matmul(token_embedding, x))
}
generate {
  steps = 64
}
