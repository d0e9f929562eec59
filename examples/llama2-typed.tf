# llama2.tf with a typed prompt: the image prints "> " on the screen, reads a
# line from the keyboard or COM1, encodes it with the tokenizer's merges on
# the machine, tells the story, and asks again; an empty line or the end of
# the input (EOT on COM1) stops it.
#
#   printf 'Lily wanted a puppy\n' | tfc run examples/llama2-typed.tf
model stories260K_typed

weights   checkpoint "../models/stories260K.bin"
tokenizer "../models/tok512.bin"

config {
  dim      = 64
  hidden   = 172
  layers   = 5
  heads    = 8
  kv_heads = 4
  vocab    = 512
  context  = 512
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

quant token_embedding, wq, wk, wv, wo, w1, w2, w3 : int16 per row
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
  next = argmax(matmul(token_embedding, x))
}

# The lean boot sector (spec.md section 7): the code bytes of the record
# comparison. Without this line the image gets the full boot path, which
# also boots from floppies and checks the machine.
boot lean

generate {
  prompt = typed
  steps  = 256
  sampler greedy
}
