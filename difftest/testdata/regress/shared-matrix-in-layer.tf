# -Os flat: a matrix shared by every layer (no layers dimension) read in
# the layer block was addressed relative to the first layer's weights while
# the subroutine added the current layer's: wrong weights from layer 2.
model shared_matrix_in_layer

weights random seed 11
tokenizer synthetic

config {
  layers = 2
  heads = 1
  kv_heads = 1
  hidden = 1
  dim = 16
  context = 16
  vocab = 3
  head_dim = dim / heads
  kv_dim = kv_heads * head_dim
}

param emb0 [vocab, dim]
param w1 [layers, context, hidden]
param w9 [layers, hidden, context]
param w10 [hidden, context]

forward {
  x = embed(emb0, token)
  layer {
    x = matmul(w1, mul(matmul(w9, x), matmul(w10, x)))
  }
  tok = argmax(matmul(emb0, x))
}

generate {
  steps = 2
}
