# GPT-2's block with random weights and the synthetic tokenizer: learned
# absolute positions added to the token embedding, pre-LayerNorm with
# biases, a bias in every linear layer, multi-head attention without RoPE,
# an MLP of 4·dim through GELU's tanh approximation, a final LayerNorm and
# the classifier tied to the token embedding. The names are llm.c's
# (train_gpt2.c's ParameterTensors, its fused qkvw split into wq, wk, wv).
model gpt2_random

weights   random seed 4
tokenizer synthetic

config {
  dim      = 64
  hidden   = 4 * dim
  layers   = 2
  heads    = 4
  kv_heads = 4
  vocab    = 300
  context  = 64
  head_dim = dim / heads
}

param wte      [vocab, dim]
param wpe      [context, dim]
param ln1w     [layers, dim]
param ln1b     [layers, dim]
param wq       [layers, dim, dim]
param wk       [layers, dim, dim]
param wv       [layers, dim, dim]
param bq       [layers, dim]
param bk       [layers, dim]
param bv       [layers, dim]
param attprojw [layers, dim, dim]
param attprojb [layers, dim]
param ln2w     [layers, dim]
param ln2b     [layers, dim]
param fcw      [layers, hidden, dim]
param fcb      [layers, hidden]
param fcprojw  [layers, dim, hidden]
param fcprojb  [layers, dim]
param lnfw     [dim]
param lnfb     [dim]

quant wte, wpe, wq, wk, wv, attprojw, fcw, fcprojw : int16 per row

cache kv [layers, context, dim] : int16 per token_head

forward {
  x = add(embed(wte, token), embed(wpe, pos))
  layer {
    h = layernorm(x, ln1w, ln1b)
    q = add(matmul(wq, h), bq)
    k = add(matmul(wk, h), bk)
    v = add(matmul(wv, h), bv)
    store(kv, k, v)
    x = add(x, add(matmul(attprojw, attention(q, kv, head_dim)), attprojb))
    h = layernorm(x, ln2w, ln2b)
    x = add(x, add(matmul(fcprojw, gelu_tanh(add(matmul(fcw, h), fcb))), fcprojb))
  }
  x = layernorm(x, lnfw, lnfb)
  next = argmax(matmul(wte, x))
}

generate {
  prompt = "the"
  steps  = 48
  sampler greedy
}
