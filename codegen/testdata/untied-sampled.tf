# examples/untied-random.tf sampled (sample() where it takes argmax, at
# temperature 0.8): the sampler reads the activations' segment after the
# layer loop, so the caches' slot keeps GS (pinSlots), and a kernel there
# needs FS and GS, so the params' slot stays in memory: its procs load the
# segments they are passed (TestSegmentedProcsKeepSegments,
# TestCallsPassSegmentsAsWords).
model untied_sampled

weights   random seed 3
tokenizer synthetic

config {
  dim      = 32
  hidden   = 64
  layers   = 2
  heads    = 4
  kv_heads = 2
  vocab    = 512
  context  = 128
  head_dim = dim / heads
  kv_dim   = kv_heads * head_dim
}

param token_embedding [vocab, dim]
param rms_att         [layers, dim]
param wq              [layers, dim, dim]
param wk              [layers, kv_dim, dim]
param wv              [layers, kv_dim, dim]
param wo              [layers, dim, dim]
param rms_ffn         [layers, dim]
param w1              [layers, hidden, dim]
param w2              [layers, dim, hidden]
param w3              [layers, hidden, dim]
param rms_final       [dim]
param wcls            [vocab, dim]

quant token_embedding, wq, wk, wv, wo, w1, w2, w3, wcls : int16 per row
quant rms_att, rms_ffn, rms_final : fixed

cache kv [layers, context, kv_dim] : int16 per token_head

forward {
  x = embed(token_embedding, token)
  layer {
    h = rmsnorm(x, rms_att)
    q = rope(matmul(wq, h), head_dim)
    k = rope(matmul(wk, h), head_dim)
    v = matmul(wv, h)
    store(kv, k, v)
    x = add(x, matmul(wo, attention(q, kv, head_dim)))
    h = rmsnorm(x, rms_ffn)
    x = add(x, matmul(w2, mul(silu(matmul(w1, h)), matmul(w3, h))))
  }
  x = rmsnorm(x, rms_final)
  next = sample(matmul(wcls, x))
}

generate {
  prompt = ""
  steps  = 64
  sampler temperature 0.8 seed 7
}
