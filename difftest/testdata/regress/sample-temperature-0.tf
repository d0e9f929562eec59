# sample() with temperature 0: llama2.c takes the argmax. The simulators
# divided by the temperature and the -O2 image's multiplier 1/T did not fit
# an immediate (BUG: isel ... out of range): sample lowers to argmax now.
model sample_temperature_0

weights random seed 43
tokenizer synthetic

config {
  context = 2
  layers = 1
  vocab = 3
  dim = 2
  kv_heads = 2
  hidden = 1
  heads = 2
  head_dim = dim / heads
  kv_dim = kv_heads * head_dim
  extra = 1
  hd0 = 1
}

param emb0 [vocab, dim]
param cls13 [vocab, kv_dim]
cache kv0 [layers, context, kv_heads * hd0] : int16 per token_head

forward {
  x = embed(emb0, token)
  layer {
  }
  next = sample(matmul(cls13, x))
}

generate {
  steps = 2
  sampler temperature 0 top_p 0.5 seed 765
}
