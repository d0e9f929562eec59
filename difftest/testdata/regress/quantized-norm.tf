# rejected: rmsnorm: the weights g must be fixed, not int8 per tensor
# Norm weights quantized to int8 were read as Q16.16 by the simulator and
# in another format by the images: three different results, no message.
model quantized_norm

weights random seed 3
tokenizer synthetic

config {
  dim = 8
  hidden = 8
  layers = 1
  heads = 2
  kv_heads = 1
  vocab = 260
  context = 8
}

param emb [vocab, dim]
param g [dim]
quant g : int8 per tensor

forward {
  x = embed(emb, token)
  layer {
  }
  x = rmsnorm(x, g)
  next = argmax(matmul(emb, x))
}

generate {
  steps = 6
}
