# -Os segmented: with only per-layer params in the layer block, the loop
# counted layers by the cache's segment, which does not move without a
# cache: one layer ran instead of three.
model layers_without_cache

weights random seed 3
tokenizer synthetic

config {
  dim = 8
  hidden = 8
  layers = 3
  heads = 2
  kv_heads = 1
  vocab = 260
  context = 8
}

param emb [vocab, dim]
param g [layers, dim]
param w [layers, dim, dim]

forward {
  x = embed(emb, token)
  layer {
    x = add(x, matmul(w, rmsnorm(x, g)))
    x = mul(x, x)
  }
  next = argmax(matmul(emb, x))
}

generate {
  steps = 6
}
