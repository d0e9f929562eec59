# --gen loop, flat (the size policy's procs): with a proc's arguments in
# registers, seven registers arrive holding them and crowd its entry, where
# nothing can go to memory; the spiller took the entry as the most crowded
# place and gave up ("nothing to spill"), a BUG at build time. Generated
# program 18 of difftest's TestGenerated.
model diff18

weights random seed 19
tokenizer synthetic

config {
  dim = 48
  layers = 2
  context = 16
  vocab = 5
  hidden = 61
  kv_heads = 8
  heads = 8
  head_dim = dim / heads
  kv_dim = kv_heads * head_dim
  hd0 = 12
  hd1 = 2
}

param emb0 [vocab, kv_dim]
param g1 [layers, dim]
param g2 [layers, kv_dim]
param w3 [layers, hidden, kv_dim]
param w4 [layers, hidden, dim]
param w5 [layers, dim, hidden]
param g6 [dim]
param g7 [layers, kv_dim]
param bias8 [kv_dim]
param w9 [layers, dim * hd1, heads * head_dim]
param bias10 [dim * layers]
param bias11 [layers, layers * dim]
param w12 [dim * hd1, dim]
param bias13 [layers, dim * layers]
param wo14 [kv_dim, layers * dim]
param w15 [layers, layers * heads, kv_heads * head_dim]
param bias16 [context]
param w17 [layers, context, kv_dim]
param bias18 [layers, context]
param wo19 [layers, dim, context]
param pe20 [context, kv_dim]
param cls21 [vocab, kv_dim]
param unused [vocab, dim]
quant g1, g7, bias8 : fixed
quant w3, w4, w5 : int16 per row
quant cls21 : int8 per row
quant w12 : int8 per tensor
quant bias10, bias11 : fixed
quant w15, w17 : int16 per layer
quant wo14, wo19, pe20 : int8 per tensor
cache kv0 [layers, context, kv_heads * hd0] : int16 per token_head
cache kv1 [layers, context, kv_heads * hd1] : int16 per token_head

forward {
  x = embed(emb0, token)
  layer {
    t1 = rope(rmsnorm(x, g1), 24)
    h = rmsnorm(x, g2)
    x = add(x, matmul(w5, mul(relu(matmul(w3, h)), matmul(w4, h))))
    b3 = layernorm(x, g7, bias8)
    k = rope(add(matmul(w9, b3), bias11), 12, rotary_dim = 12)
    v = add(matmul(w12, b3), bias13)
    store(kv0, k, v)
    x = add(x, matmul(wo14, attention(rope(add(matmul(w9, b3), bias10), 12), kv0, hd0)))
    q = rope(add(matmul(w15, x), bias16), 2)
    y7 = rope(add(matmul(w17, x), bias18), hd1)
    v = add(matmul(w15, x), bias16)
    store(kv1, y7, y7)
    x = add(x, matmul(wo19, attention(q, kv1, hd1)))
    x = sub(t1, x)
  }
  x = rmsnorm(x, bias8)
  b10 = embed(pe20, pos)
  y7 = add(q, bias16)
  next = argmax(matmul(emb0, x))
}

generate {
  steps = 3
  sampler temperature 0
}
