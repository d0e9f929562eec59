# difftest's program of seed 2 (difftest.Generate(2, Options{})), kept as it
# is: the size policy's build that fuses elementwise ops is larger here
# (TestSizePolicyKeepsTheSmaller).
model diff2

weights random seed 3
tokenizer synthetic

config {
  layers = 3
  context = 11
  kv_heads = 4
  hidden = 53
  vocab = 64
  heads = 8
  dim = 48
  head_dim = dim / heads
  kv_dim = kv_heads * head_dim
}

param emb0 [vocab, 48]
param e1 [vocab, kv_dim]
param w2 [kv_dim, heads * head_dim]
param w3 [dim, dim]
param g4 [dim]
param e5 [layers, heads * heads, dim]
param w6 [kv_dim, dim]
param w7 [kv_dim, dim]
param wo8 [layers, dim, dim]
param g9 [layers, dim]
param w10 [layers, hidden, dim]
param w11 [layers, hidden, dim]
param w12 [layers, dim, hidden]
param g13 [dim]
quant w11 : int16 per tensor
quant e5, wo8, w10 : int8 per row
quant e1 : int16 per row
quant w3, w6 : int8 per tensor
quant w12 : int8 per layer
quant w7 : int8 per tensor
cache kv0 [layers, context, kv_dim] : int16 per token_head

forward {
  x = embed(emb0, token)
  y1 = add(embed(e1, token), matmul(w2, x))
  x = matmul(w3, x)
  x = rmsnorm(x, g4)
  layer {
    x = embed(e5, token)
    xn = rmsnorm(x, g4)
    q = rope(matmul(w3, xn), head_dim)
    b7 = rope(matmul(w6, xn), head_dim)
    t8 = matmul(w7, xn)
    store(kv0, b7, t8)
    t9 = matmul(wo8, attention(q, kv0, head_dim))
    h = rmsnorm(x, g9)
    a11 = mul(silu(matmul(w10, h)), matmul(w11, h))
    x = add(x, matmul(w12, a11))
  }
  x = rmsnorm(x, g13)
  out = argmax(matmul(emb0, x))
}

generate {
  prompt = "w s"
  steps = 10
  sampler temperature 0
}
