package codegen_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/difftest"
	"tfc/qemu"
)

// A new op is a row in op/, its semantics in ir/ and its lowering in lir/:
// no x86 is written for it. relu came that way (op.Rows, ir's intOps and
// floatOps, lir's lowerings). Its images come from the loop code
// generator, at -Os and at -O2, and compute the simulator's logits and
// tokens; no code generator names it.
func TestNewOpNeedsNoX86(t *testing.T) {
	for _, dir := range []string{"x86_16", "loopgen"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			src, err := os.ReadFile(f)
			require.NoError(t, err)
			// Not assert.NotContains: it would print the whole file.
			assert.False(t, strings.Contains(strings.ToLower(string(src)), "relu"),
				"%s names relu: a new op needs no code in the code generators", f)
		}
	}
	if !qemu.Available() {
		t.Skip("SKIPPED: qemu-system-i386 is not installed (make deps)")
	}
	r := difftest.Run("relu", reluModel, difftest.RunOptions{
		Configs: []difftest.Config{{Opt: "s", Memory: "flat"}, {Opt: "2", Memory: "flat"}}})
	require.Empty(t, r.Rejected, "refused")
	for _, f := range r.Failures {
		assert.Fail(t, f.String())
	}
	for _, c := range r.Configs {
		assert.Equal(t, "loop", c.Generator, "%v: generator (built %v, booted %v)", c.Config, c.Built, c.Booted)
		assert.True(t, c.Booted, "%v: booted (built %v by %q)", c.Config, c.Built, c.Generator)
	}
}

// reluModel is a Llama block whose feed-forward gate is relu.
const reluModel = `model relu_block
weights random seed 12
tokenizer synthetic
config {
  dim = 16
  hidden = 40
  layers = 2
  heads = 2
  kv_heads = 1
  vocab = 260
  context = 16
  head_dim = dim / heads
  kv_dim = kv_heads * head_dim
}
param emb [vocab, dim]
param g1 [layers, dim]
param wq [layers, dim, dim]
param wk [layers, kv_dim, dim]
param wv [layers, kv_dim, dim]
param wo [layers, dim, dim]
param g2 [layers, dim]
param w1 [layers, hidden, dim]
param w2 [layers, dim, hidden]
param gf [dim]
cache kv [layers, context, kv_dim] : int16 per token_head
forward {
  x = embed(emb, token)
  layer {
    h = rmsnorm(x, g1)
    store(kv, rope(matmul(wk, h), head_dim), matmul(wv, h))
    x = add(x, matmul(wo, attention(rope(matmul(wq, h), head_dim), kv, head_dim)))
    x = add(x, matmul(w2, relu(matmul(w1, rmsnorm(x, g2)))))
  }
  x = rmsnorm(x, gf)
  next = argmax(matmul(emb, x))
}
generate {
  steps = 8
}
`
