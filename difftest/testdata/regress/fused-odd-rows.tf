# -Os and -O2 agree here but the layout did not: a fused matmul over two
# shared params reads them as one run of rows, and the layout padded the
# second to 4 bytes (rows of 4 + 2 bytes): the wrong weights.
model fused_odd_rows
weights random seed 5
tokenizer synthetic
config {
  dim = 1
  hidden = 4
  layers = 1
  heads = 1
  kv_heads = 1
  vocab = 260
  context = 8
}
param emb [vocab, dim]
param w1 [dim, dim]
param w2 [dim, dim]
forward {
  x = embed(emb, token)
  y = matmul(w1, x)
  z = matmul(w2, x)
  x = add(y, z)
  layer {
    x = mul(x, x)
  }
  tok = argmax(matmul(emb, x))
}
generate {
  steps = 4
}
