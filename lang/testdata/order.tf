// Declarations may come in any order; only config's constants must be
// defined before they are used. No quant declarations (the defaults: fixed
// for vectors, int16 per row for matrices) and no generate block (greedy,
// steps = min(256, context)).
forward {
  x = embed(emb, token)
  layer {
    h = rmsnorm(x, norm1)
    q = rope(matmul(wq, h), 16)          // a literal head size
    k = rope(matmul(wk, h), hd)
    v = matmul(wv, h)
    store(cache, k, v)
    a = attention(q, cache, hd)
    x = add(x, matmul(wo, a))
    h = rmsnorm(x, norm2)
    x = add(x, matmul(down, gelu(matmul(up, h))))
  }
  next = argmax(matmul(emb, rmsnorm(x, norm3)))
}

param emb   [vocab, dim]
param norm1 [layers, dim]
param wq    [layers, dim, dim]
param wk    [layers, kv, dim]
param wv    [layers, kv, dim]
param wo    [layers, dim, dim]
param norm2 [layers, dim]
param up    [layers, hidden, dim]
param down  [layers, dim, hidden]
param norm3 [dim]

cache cache [layers, context, kv] : int8 per token_head

config {
  dim = 32
  hidden = (dim * 3) - dim / 2   # 80
  layers = 3
  heads = 2
  kv_heads = 1
  vocab = 300
  context = 100
  hd = dim / heads
  kv = kv_heads * hd
}

tokenizer synthetic
weights random seed 12345
model order
