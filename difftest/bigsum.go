package difftest

import "strings"

// bigSum is a model whose attention sums 2^22 per position (keys and
// queries all zero: every score 0, every softmax weight exp(0)), so that
// from position 1024 on the sum passes 32 bits and the loop code divides
// by it in two steps (lowerer.bigDivide). A prompt of a's runs it past
// 1024 positions whatever the model would choose.
const bigSum = `model bigsum
weights random seed 3
tokenizer synthetic
config {
  dim = 4
  hidden = 4
  layers = 1
  heads = 1
  kv_heads = 1
  vocab = 8
  context = 1100
}
param emb [vocab, dim]
param wv [layers, dim, dim]
param wo [vocab, dim]
cache kv [layers, context, dim] : int16 per token_head
forward {
  x = embed(emb, token)
  layer {
    z = sub(x, x)
    v = matmul(wv, x)
    store(kv, z, v)
    x = add(x, attention(z, kv, dim))
  }
  next = argmax(matmul(wo, x))
}
generate {
  prompt = "PROMPT"
  steps = 1100
}
`

// BigSumSource is the model of bigSum with its prompt.
func BigSumSource() string { return strings.Replace(bigSum, "PROMPT", strings.Repeat("a", 1080), 1) }
