# -Os: the rounding shift, used only from the matmul subroutine, was never
# emitted (BUG: undefined label rshr.body): subroutines are emitted until
# every one used is.
model small_sub_of_sub

weights random seed 7
tokenizer synthetic

config {
  hidden = 1
  kv_heads = 1
  heads = 1
  dim = 1
  vocab = 3
  context = 2
  layers = 1
  head_dim = dim / heads
  kv_dim = kv_heads * head_dim
}

param emb0 [vocab, dim]
cache kv0 [layers, context, kv_dim] : int16 per token_head

forward {
  x = embed(emb0, token)
  layer {
  }
  next = argmax(matmul(emb0, x))
}

generate {
  steps = 2
}
