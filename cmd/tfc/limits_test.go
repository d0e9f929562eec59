package main

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/checkpoint"
)

// variant writes examples/NAME.tf, each old string replaced by its new
// one, into dir as out and returns its path.
func variant(t *testing.T, dir, name, out string, repl ...string) string {
	t.Helper()
	b, err := os.ReadFile("../../examples/" + name + ".tf")
	require.NoError(t, err)
	s := string(b)
	for i := 0; i < len(repl); i += 2 {
		require.Contains(t, s, repl[i], "%s has no %q", name, repl[i])
		s = strings.ReplaceAll(s, repl[i], repl[i+1])
	}
	p := filepath.Join(dir, out)
	require.NoError(t, os.WriteFile(p, []byte(s), 0o644))
	return p
}

// The compiler's limits and the cases it once got wrong, each with its
// exact message: a model too big for any image is refused at its
// declaration before a weight is generated (these took 20 GB and more),
// NaN weights like infinite ones, -o without a name; a prompt or steps
// that are cut say so.
func TestLimits(t *testing.T) {
	dir := t.TempDir()
	layers := variant(t, dir, "mha-random", "layers.tf", "layers   = 2", "layers   = 100000")
	big := variant(t, dir, "mha-random", "7b.tf", "dim      = 64", "dim      = 4096", "hidden   = 96", "hidden   = 11008",
		"layers   = 2", "layers   = 32", "heads    = 4", "heads    = 32", "kv_heads = 4", "kv_heads = 32",
		"vocab    = 256", "vocab    = 32000", "context  = 128", "context  = 2048",
		"next = sample(", "next = argmax(", "sampler temperature 0.8 top_p 0.9 seed 7", "sampler greedy")
	long := variant(t, dir, "gelu-random", "long.tf", `prompt = ""`, `prompt = "`+strings.Repeat("ab ", 600000)+`"`)
	nan := nanModel(t, dir)
	wide := variant(t, dir, "mha-random", "wide.tf", "hidden   = 96", "hidden   = 4096")
	img := filepath.Join(dir, "x.img")
	for _, c := range []struct {
		args   []string
		code   int
		stderr string // what stderr must hold (a prefix of it)
	}{
		{[]string{"build", layers, "-o", img}, 1, layers + ":4:1: the model needs 7014433024 bytes of weights and 3276800000 of caches, more than the 4293918720 an image holds (between 1 MiB and 4 GiB)\n"},
		{[]string{"check", layers}, 1, layers + ":4:1: the model needs 7014433024 bytes"},
		{[]string{"sim", big}, 1, big + ":4:1: the model needs 13215219712 bytes of weights and 1073741824 of caches, more than the 4293918720 an image holds (between 1 MiB and 4 GiB)\n"},
		{[]string{"build", nan, "-o", img}, 1, nan + ":15:1: param wq: weight 134 (layer 0, row 8, column 6) is not a number (NaN)\n"},
		// Once "BUG: isel: ... branch target out of rel16 range".
		{[]string{"build", "-O2", wide, "-o", img}, 0, "tfc: wrote "},
		{[]string{"build", "../../examples/gelu-random.tf", "-o", ""}, 2, "tfc: build: -o needs a file name (or - for standard output)\n"},
		{[]string{"asm", "../../examples/gelu-random.tf", "-o", ""}, 2, "tfc: asm: -o needs a file name (or - for standard output)\n"},
		{[]string{"sim", long}, 1, long + ":54:3: the prompt is 1800000 bytes, more than the 1048576 tfc encodes\n"},
		{[]string{"sim", "../../examples/gelu-random.tf", "--prompt", "ab cd ef gh", "--steps", "3"}, 0, "tfc: warning: the prompt is 8 tokens, more than the 3 steps: only its first 3 are used\n"},
		{[]string{"sim", "../../examples/gelu-random.tf", "--steps", "1000"}, 0, "tfc: warning: --steps 1000 is more than the context (128): 128 steps\n"},
	} {
		start := time.Now()
		code, _, stderr := runCLI(c.args...)
		args := strings.Join(c.args, " ")
		assert.Equal(t, c.code, code, "tfc %s: exit code; stderr:\n%s", args, clip(stderr))
		// clip: stderr can be long (the cut prompt's message, ...).
		assert.True(t, strings.HasPrefix(stderr, c.stderr), "tfc %s: stderr:\n%s\nwant it to start with %q", args, clip(stderr), c.stderr)
		assert.LessOrEqual(t, time.Since(start), 10*time.Second, "tfc %s: the time it took", args)
	}
	// -o - writes the image to standard output.
	code, stdout, stderr := runCLI("build", "../../examples/gelu-random.tf", "-o", "-")
	want, _ := os.ReadFile(buildTo(t, "../../examples/gelu-random.tf", img))
	assert.Equal(t, 0, code, "-o -: exit code (stderr %q)", stderr)
	// Not assert.Equal: the image's bytes would make a diff too long to read.
	assert.True(t, bytes.Equal([]byte(stdout), want), "-o -: %d bytes on stdout, not the %d of the image", len(stdout), len(want))
	assert.True(t, strings.HasPrefix(stderr, "tfc: wrote standard output: "), "-o -: stderr %q", stderr)
}

// buildTo builds path into img and returns img.
func buildTo(t *testing.T, path, img string) string {
	t.Helper()
	tfc(t, "build", path, "-o", img)
	return img
}

// nanModel writes a small checkpoint with one NaN weight and a .tf file
// that reads it.
func nanModel(t *testing.T, dir string) string {
	t.Helper()
	c := checkpoint.Config{Dim: 16, Hidden: 32, Layers: 1, Heads: 2, KVHeads: 2, Vocab: 32, SeqLen: 16, Shared: true}
	m := &checkpoint.Model{Config: c, Tensors: map[string]*checkpoint.Tensor{}}
	r := rand.New(rand.NewPCG(1, 1))
	for name, shape := range checkpoint.TensorShapes(c) {
		n := 1
		for _, d := range shape {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = r.Float32() - 0.5
		}
		m.Tensors[name] = &checkpoint.Tensor{Name: name, Shape: shape, Data: data}
	}
	m.Tensors["wq"].Data[8*16+6] = float32(math.NaN())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "nan.bin"), checkpoint.Write(m), 0o644))
	src := `model nan
weights checkpoint "nan.bin"
tokenizer synthetic
config {
  dim = 16
  hidden = 32
  layers = 1
  heads = 2
  kv_heads = 2
  vocab = 32
  context = 16
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
    q = rope(matmul(wq, h), 8)
    k = rope(matmul(wk, h), 8)
    v = matmul(wv, h)
    store(kv, k, v)
    x = add(x, matmul(wo, attention(q, kv, 8)))
    h = rmsnorm(x, rms_ffn)
    x = add(x, matmul(w2, mul(silu(matmul(w1, h)), matmul(w3, h))))
  }
  x = rmsnorm(x, rms_final)
  next = argmax(matmul(token_embedding, x))
}
`
	p := filepath.Join(dir, "nan.tf")
	require.NoError(t, os.WriteFile(p, []byte(src), 0o644))
	return p
}
