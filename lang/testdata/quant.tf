# Every quantization: int8 and int16 per tensor, layer and row for the
# matrices, and fixed (the only scheme of norm weights);
# a temperature-0 sampler (greedy) with sample().
model quant
weights random seed 9
tokenizer synthetic
config {
  dim = 16
  hidden = 32
  layers = 2
  heads = 2
  kv_heads = 2
  vocab = 260
  context = 32
  head_dim = dim / heads
}
param token_embedding [vocab, dim]
param rms_att [layers, dim]
param wqkv_q [layers, dim, dim]
param wqkv_k [layers, dim, dim]
param wqkv_v [layers, dim, dim]
param wo [layers, dim, dim]
param rms_ffn [layers, dim]
param w1 [layers, hidden, dim]
param w2 [layers, dim, hidden]
param rms_final [dim]
param wcls [vocab, dim]
quant token_embedding : int8 per row
quant wqkv_q : int8 per layer
quant wqkv_k : int8 per tensor
quant wqkv_v : int16 per tensor
quant wo : int16 per layer
quant rms_att : fixed
quant w1, w2 : int8 per row
quant wcls : int16 per row
cache kv [layers, context, dim] : int16 per token_head
forward {
  x = embed(token_embedding, token)
  layer {
    h = rmsnorm(x, rms_att)
    k = rope(matmul(wqkv_k, h), head_dim)
    store(kv, k, matmul(wqkv_v, h))
    x = add(x, matmul(wo, attention(rope(matmul(wqkv_q, h), head_dim), kv, head_dim)))
    x = add(x, matmul(w2, silu(matmul(w1, rmsnorm(x, rms_ffn)))))
  }
  x = rmsnorm(x, rms_final)
  tok = sample(matmul(wcls, x))
}
generate {
  sampler temperature 0 top_p 0.5 seed 3
  prompt = "Once upon a time\n\t\"quoted\" \u00e9"
  steps = 32
}
