package codegen_test

import (
	"strings"
	"testing"
	"time"

	"tfc/difftest"
	"tfc/qemu"
)

// stories15M's shape (dim 288, hidden 768, 6 layers and heads, vocab
// 32000, context 256) with random weights: the templates cannot take it
// (vectors past 255, unrolled code past 64 KiB), so -Os and -O2 build it
// with the loop code generator, and the image computes the simulator's
// logits and tokens.
func TestStories15MShape(t *testing.T) {
	if !qemu.Available() {
		t.Skip("SKIPPED: qemu-system-i386 is not installed (make deps)")
	}
	src := strings.NewReplacer("{DIM}", "288", "{HIDDEN}", "768", "{LAYERS}", "6", "{HEADS}", "6",
		"{VOCAB}", "32000", "{CONTEXT}", "256", "{STEPS}", "4").Replace(tinyllama)
	r := difftest.Run("stories15m", src, difftest.RunOptions{Timeout: 3 * time.Minute,
		Configs: []difftest.Config{{Opt: "s", Memory: "flat"}, {Opt: "2", Memory: "flat"}}})
	if r.Rejected != "" {
		t.Fatalf("refused: %s", r.Rejected)
	}
	for _, f := range r.Failures {
		t.Error(f)
	}
	for _, c := range r.Configs {
		if !c.Booted || c.Generator != "loop" {
			t.Errorf("%v: built %v (%s), booted %v", c.Config, c.Built, c.Generator, c.Booted)
		}
	}
}

// tinyllama is the Llama 2 block of the tinyllamas family with random
// weights, its shape to be filled in.
const tinyllama = `model tinyllama
weights random seed 15
tokenizer synthetic
config {
  dim = {DIM}
  hidden = {HIDDEN}
  layers = {LAYERS}
  heads = {HEADS}
  kv_heads = {HEADS}
  vocab = {VOCAB}
  context = {CONTEXT}
  head_dim = dim / heads
}
param token_embedding [vocab, dim]
param rms_att [layers, dim]
param wq [layers, dim, dim]
param wk [layers, dim, dim]
param wv [layers, dim, dim]
param wo [layers, dim, dim]
param rms_ffn [layers, dim]
param w1 [layers, hidden, dim]
param w2 [layers, dim, hidden]
param w3 [layers, hidden, dim]
param rms_final [dim]
cache kv [layers, context, dim] : int16 per token_head
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
generate {
  steps = {STEPS}
}
`

// Attention over more positions than the templates' 32-bit sum of softmax
// weights holds: -Os and -O2 take the loop code generator, which divides
// by a sum past 32 bits exactly (difftest.BigSumSource: 1100 positions of
// equal scores), and the image equals the simulator at every step.
func TestAttentionSumPast32BitsBoots(t *testing.T) {
	if !qemu.Available() {
		t.Skip("SKIPPED: qemu-system-i386 is not installed (make deps)")
	}
	t.Parallel()
	r := difftest.Run("bigsum", difftest.BigSumSource(), difftest.RunOptions{Timeout: 2 * time.Minute,
		Configs: []difftest.Config{{Opt: "s", Memory: "flat"}, {Opt: "2", Memory: "flat"}}})
	if r.Rejected != "" {
		t.Fatalf("refused: %s", r.Rejected)
	}
	for _, f := range r.Failures {
		t.Error(f)
	}
	if r.Tokens < 1025 {
		t.Errorf("the simulator ran %d positions", r.Tokens)
	}
	for _, cr := range r.Configs {
		if !cr.Booted || cr.Generator != "loop" {
			t.Errorf("%v: built %v (%s), booted %v", cr.Config, cr.Built, cr.Generator, cr.Booted)
		}
	}
}
