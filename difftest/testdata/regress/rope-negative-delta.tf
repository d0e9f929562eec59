# -O2: a rope whose result lies before its input got a label with a minus
# sign (BUG: invalid label name rope2.-24.head).
model rope_negative_delta

weights random seed 65
tokenizer synthetic

config {
  heads = 6
  kv_heads = 6
  context = 2
  dim = 6
  layers = 1
  vocab = 3
  hidden = 1
  head_dim = dim / heads
  kv_dim = kv_heads * head_dim
}

param emb0 [vocab, kv_dim]
param w2 [kv_dim, kv_dim]
param cls12 [vocab, dim]
cache kv0 [layers, context, kv_dim] : int16 per token_head

forward {
  x = embed(emb0, token)
  x = rope(matmul(w2, x), 2)
  layer {
  }
  out = sample(matmul(cls12, x))
}

generate {
  steps = 2
  sampler temperature 0.5 top_p 0.95 seed 207
}
