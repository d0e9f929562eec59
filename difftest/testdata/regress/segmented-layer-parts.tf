# A layer's params past 64 KiB, split in parts, the second starting 4 bytes
# past the end of the first (aligned to 16): the segmented loop image wrote
# the second part's params without that gap, and read them 4 bytes off
# (go run ./cmd/stress -n 40 -seed 13000; reduced by its -reduce).
model diff13011

weights random seed 12
tokenizer synthetic

config {
  hidden = 34
  context = 2
  heads = 1
  kv_heads = 1
  layers = 1
  dim = 77
  vocab = 312
  head_dim = dim / heads
  kv_dim = kv_heads * head_dim
}

param emb0 [vocab, dim]
param e3 [layers, vocab, dim]
param bias4 [layers, dim]
param w13 [layers, hidden, dim]
param w14 [layers, hidden, dim]
param w15 [layers, dim, hidden]
param cls19 [vocab, dim]
cache kv0 [layers, context, kv_heads * head_dim] : int16 per token_head

forward {
  x = embed(emb0, token)
  layer {
    t3 = embed(e3, token)
    t9 = layernorm(x, bias4)
    t10 = mul(matmul(w14, t9), matmul(w13, t9))
    x = matmul(w15, t10)
  }
  next = argmax(matmul(cls19, x))
}

generate {
  steps = 2
  sampler temperature 0
}
