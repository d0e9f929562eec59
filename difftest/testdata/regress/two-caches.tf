# -Os: with two caches, the second cache's values were addressed as if it
# were the first (the layout gave V relative to the first cache):
# BUG: add bx, 0xfffffd42 out of range.
model two_caches

weights random seed 48
tokenizer synthetic

config {
  kv_heads = 6
  layers = 1
  context = 2
  heads = 6
  vocab = 3
  dim = 18
  hidden = 1
  head_dim = dim / heads
  kv_dim = kv_heads * head_dim
  extra = 1
  hd1 = 5
}

param emb0 [vocab, kv_dim]
param g1 [kv_heads * head_dim]
param w2 [layers, kv_heads * hd1, kv_dim]
param w3 [layers, heads * hd1, kv_dim]
param cls13 [vocab, dim]
cache kv0 [layers, context, kv_heads * head_dim] : int16 per token_head
cache kv1 [layers, context, kv_heads * hd1] : int16 per token_head

forward {
  x = embed(emb0, token)
  layer {
    h = rmsnorm(x, g1)
    q = matmul(w2, h)
    a3 = matmul(w3, h)
    store(kv1, a3, a3)
    a5 = attention(q, kv1, 5)
  }
  tok = argmax(matmul(cls13, x))
}

generate {
  steps = 2
  sampler temperature 0
}
