# -Os: an embedding table per layer (embed in the layer block) was read as
# a shared one (segmented: at segment 0; flat: without the layer base); the
# simulators read layer 0's table for every layer.
model embed_per_layer

weights random seed 9
tokenizer synthetic

config {
  dim = 24
  hidden = 1
  heads = 4
  context = 16
  layers = 1
  vocab = 384
  kv_heads = 4
  head_dim = dim / heads
  kv_dim = kv_heads * head_dim
}

param emb0 [layers, vocab, dim]
param g1 [layers, dim]
param w2 [layers, hidden, kv_dim]
param w3 [layers, dim, hidden]
param cls5 [context * kv_dim, kv_dim]

forward {
  layer {
    x = embed(emb0, token)
    h = rmsnorm(x, g1)
    x = matmul(w3, silu(matmul(w2, h)))
  }
  out = argmax(matmul(cls5, x))
}

generate {
  steps = 2
}
