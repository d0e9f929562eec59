# -O2 (and -Os falling back for sample) with dim 576: the unrolled code
# passes 64 KiB, reported as BUG: code generation: branch target out of
# rel16 range; now the loop code generator, whose code does not grow with
# the shape, takes it.
model fast_code_too_big

weights random seed 201
tokenizer synthetic

config {
  vocab = 3
  kv_heads = 3
  heads = 3
  dim = 576
  hidden = 1
  context = 2
  layers = 1
  head_dim = dim / heads
  kv_dim = kv_heads * head_dim
}

param emb0 [layers, vocab, dim]
param g1 [layers, dim]
param w4 [layers, dim, dim]
param w5 [kv_dim, dim]
param w7 [vocab, dim]
quant w4 : int8 per layer
cache kv0 [layers, context, kv_heads * head_dim] : int16 per token_head

forward {
  layer {
    x = embed(emb0, token)
    h = rmsnorm(x, g1)
    t4 = rmsnorm(x, g1)
    b5 = matmul(w4, t4)
    z6 = matmul(w5, t4)
    v = matmul(w5, t4)
    store(kv0, z6, v)
  }
  tok = sample(matmul(w7, h))
}

generate {
  steps = 2
  sampler temperature 0.8 top_p 0.95 seed 880
}
