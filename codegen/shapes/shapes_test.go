// Package shapes tests the shapes of the models people run: each booted
// image equals the simulator. (A package of its own, so that go test runs it beside
// codegen's tests.)
package shapes_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/difftest"
	"tfc/lang"
	"tfc/parser"
	"tfc/qemu"
)

// The tinyllamas family's shapes (llama2.c's stories15M, 42M and 110M:
// dim/hidden/layers/heads/vocab/context) with random weights, int8 and
// int16 per row (vectors past 255, 32000-token sampling): -Os and -O2
// build them, and each image computes the
// simulator's logits and tokens for 16 steps. One layer each (the full
// depth only repeats it, and the images load at a few MB/s); 42M int8
// samples (temperature 1, top-p 0.9) over its 32000 tokens, the others
// are greedy; -Os builds the 15M ones (the loop generator's size policy
// runs a token of the larger ones several times slower). The full shapes
// are testdata/tinyllamas/*.tf (README's figures).
func TestTinyllamasShapes(t *testing.T) {
	if !qemu.Available() {
		t.Skip("SKIPPED: qemu-system-i386 is not installed (make deps)")
	}
	for _, c := range []struct {
		name                        string
		dim, hidden, heads, context int
		quant, opt                  string
		sample                      bool
	}{
		{"15M-int8", 288, 768, 6, 256, "int8", "s", false},
		{"15M-int16", 288, 768, 6, 256, "int16", "s", false},
		{"42M-int8", 512, 1376, 8, 1024, "int8", "2", true},
		{"42M-int16", 512, 1376, 8, 1024, "int16", "2", false},
		{"110M-int8", 768, 2048, 12, 1024, "int8", "2", false},
		{"110M-int16", 768, 2048, 12, 1024, "int16", "2", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			src := tinyllamaSource(c.dim, c.hidden, 1, c.heads, 32000, c.context, 16, c.quant, c.sample)
			r := difftest.Run("tiny"+c.name, src, difftest.RunOptions{Timeout: 4 * time.Minute,
				Configs: []difftest.Config{{Opt: c.opt, Memory: "flat"}}})
			require.Empty(t, r.Rejected, "refused")
			for _, f := range r.Failures {
				assert.Fail(t, f.String())
			}
			assert.GreaterOrEqual(t, r.Tokens, 16, "tokens the simulator generated")
			for _, cr := range r.Configs {
				assert.Equal(t, "loop", cr.Generator, "%v: generator (built %v, booted %v)", cr.Config, cr.Built, cr.Booted)
				assert.True(t, cr.Booted, "%v: booted (built %v, %s)", cr.Config, cr.Built, cr.Generator)
			}
		})
	}
}

// tinyllamaSource is tinyllama with its shape filled in, its weights and
// cache int8 or int16 per row, greedy or sampling.
func tinyllamaSource(dim, hidden, layers, heads, vocab, context, steps int, quant string, sample bool) string {
	src := strings.NewReplacer("{DIM}", fmt.Sprint(dim), "{HIDDEN}", fmt.Sprint(hidden), "{LAYERS}", fmt.Sprint(layers),
		"{HEADS}", fmt.Sprint(heads), "{VOCAB}", fmt.Sprint(vocab), "{CONTEXT}", fmt.Sprint(context),
		"{STEPS}", fmt.Sprint(steps), "int16 per token_head", quant+" per token_head").Replace(tinyllama)
	src = strings.Replace(src, "cache kv", "quant token_embedding, wq, wk, wv, wo, w1, w2, w3 : "+quant+" per row\ncache kv", 1)
	if sample {
		src = strings.Replace(src, "next = argmax(", "next = sample(", 1)
		src = strings.Replace(src, "generate {", "generate {\n  sampler temperature 1.0 top_p 0.9 seed 11", 1)
	}
	return src
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

// The full shapes of testdata/tinyllamas (README's figures) are valid
// programs (checked only: their weights take seconds to make).
func TestTinyllamasFiles(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/tinyllamas/*.tf")
	require.Len(t, files, 3, "testdata/tinyllamas/*.tf")
	for _, f := range files {
		ast, err := parser.ParseFile(f)
		if err == nil {
			_, err = lang.Check(ast, lang.CheckOptions{})
		}
		assert.NoError(t, err, f)
	}
}
