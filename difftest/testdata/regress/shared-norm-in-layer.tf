# -Os flat: a per-layer norm fused into the matmul's rms entry with a
# shared matrix: the two addresses took one layer base.
model shared_norm_in_layer

weights random seed 8
tokenizer synthetic

config {
  dim = 1
  vocab = 3
  context = 2
  layers = 2
  heads = 1
  kv_heads = 1
  hidden = 1
  head_dim = dim / heads
  kv_dim = kv_heads * head_dim
  hd0 = 1
}

param emb0 [vocab, dim]
param g1 [layers, dim]
param w5 [hidden, dim]
cache kv0 [layers, context, kv_heads * hd0] : int16 per token_head

forward {
  x = embed(emb0, token)
  layer {
    z5 = rmsnorm(x, g1)
    x = gelu(matmul(w5, z5))
  }
  tok = argmax(matmul(emb0, x))
}

generate {
  steps = 2
  sampler greedy
}
