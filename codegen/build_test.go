package codegen_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/codegen"
	"tfc/frontend"
	"tfc/ir"
	"tfc/qemu"
)

func build(t *testing.T, path, memory string) (*ir.Program, *codegen.Image) {
	t.Helper()
	p, err := frontend.LoadFile(path, ir.Options{})
	require.NoError(t, err)
	prompt, err := p.Tokenizer.Encode(p.Gen.Prompt, true, false)
	require.NoError(t, err)
	im, err := codegen.Build(p, prompt, p.Gen.Steps, codegen.Options{Memory: memory})
	require.NoError(t, err)
	return p, im
}

func simulate(t *testing.T, p *ir.Program) string {
	t.Helper()
	prompt, _ := p.Tokenizer.Encode(p.Gen.Prompt, true, false)
	var out bytes.Buffer
	_, err := ir.Generate(ir.NewSim(p), p.Tokenizer, prompt, p.Gen.Steps, &out)
	require.NoError(t, err)
	return out.String()
}

func boot(t *testing.T, img []byte) *qemu.Result {
	t.Helper()
	if !qemu.Available() {
		t.Skip("SKIPPED: qemu-system-i386 is not installed (make deps)")
	}
	res, err := qemu.BootBytes(context.Background(), img, qemu.Options{Timeout: 2 * time.Minute})
	require.NoError(t, err)
	return res
}

// examples are the random-weight examples, which need no model files.
var examples = []string{"gelu-random", "mha-random", "mlp-random", "untied-random"}

func path(name string) string { return filepath.Join("..", "examples", name+".tf") }

// Each memory model the model fits gives an image that prints what the
// simulator prints, at -Os and at -O2. The
// llama2 examples need the model files (make models); llama2-int8's cache
// shifts pass 8, which takes attention's 64-bit path in -O2.
func TestMemoryModels(t *testing.T) {
	for _, name := range append([]string{"llama2", "llama2-int8"}, examples...) {
		for _, memory := range []string{"flat", "segmented"} {
			for _, opt := range []string{"s", "2"} {
				t.Run(name+"/"+memory+"/O"+opt, func(t *testing.T) {
					if strings.HasPrefix(name, "llama2") {
						if _, err := os.Stat(filepath.Join("..", "models", "stories260K.bin")); err != nil {
							t.Skip("SKIPPED: models/ is empty (make models)")
						}
					}
					p, err := frontend.LoadFile(path(name), ir.Options{})
					require.NoError(t, err)
					prompt, _ := p.Tokenizer.Encode(p.Gen.Prompt, true, false)
					im, err := codegen.Build(p, prompt, p.Gen.Steps, codegen.Options{Memory: memory, Opt: opt})
					if err != nil && memory == "segmented" && strings.Contains(err.Error(), "64 KiB segment") {
						t.Skipf("does not fit: %v", err)
					}
					require.NoError(t, err)
					require.Equal(t, memory, im.Memory, "the memory model built")
					res := boot(t, im.Bytes)
					assert.Equal(t, simulate(t, p), string(res.Serial), "what QEMU printed (expected: the simulator's), exit %d", res.ExitCode)
					assert.Equal(t, 0, res.ExitCode, "exit code")
				})
			}
		}
	}
}

func TestMemoryModelChoice(t *testing.T) {
	_, im := build(t, path("gelu-random"), "")
	assert.Equal(t, "segmented", im.Memory, "gelu-random: the memory model chosen (it fits 640 KiB)")
	// A layer's weights pass 64 KiB: the loop code generator splits them
	// in segments.
	p, err := frontend.LoadFile(path("mha-random"), ir.Options{})
	require.NoError(t, err)
	im, err = codegen.Build(p, []int{1}, 8, codegen.Options{Gen: "loop"})
	if assert.NoError(t, err, "mha-random --gen loop") {
		assert.Equal(t, "segmented", im.Memory, "mha-random --gen loop: the memory model (a layer's weights in two segments)")
	}
	// A table of more than 64 KiB: flat.
	src, err := os.ReadFile(path("mha-random"))
	require.NoError(t, err)
	wide := filepath.Join(t.TempDir(), "wide.tf")
	require.NoError(t, os.WriteFile(wide, []byte(strings.Replace(string(src), "vocab    = 256", "vocab    = 1100", 1)), 0o644))
	_, im = build(t, wide, "")
	assert.Equal(t, "flat", im.Memory, "mha-random with 1100 tokens: the memory model chosen (its embedding table passes 64 KiB)")
	p, err = frontend.LoadFile(wide, ir.Options{})
	require.NoError(t, err)
	_, err = codegen.Build(p, []int{1}, 8, codegen.Options{Memory: "segmented"})
	assert.EqualError(t, err, wide+":4:1: segmented memory model: token_embedding is 145200 bytes, more than a 64 KiB segment",
		"forcing segmented")
}

// Two builds of the same input are byte-identical.
func TestDeterministic(t *testing.T) {
	for _, name := range examples {
		_, a := build(t, path(name), "")
		_, b := build(t, path(name), "")
		assert.Equal(t, sha256.Sum256(a.Bytes), sha256.Sum256(b.Bytes), "%s: two builds' SHA-256", name)
	}
}

// nasm -f bin of the listing gives a prefix of the image: everything
// before the data. gpt2-random's -Os build is the loop generator's, with
// procedures whose calls pass data after them.
func TestListingAssemblesToImagePrefix(t *testing.T) {
	if _, err := exec.LookPath("nasm"); err != nil {
		t.Skip("SKIPPED: nasm is not installed (make deps)")
	}
	for _, name := range []string{"gelu-random", "mha-random", "gpt2-random"} {
		_, im := build(t, path(name), "")
		dir := t.TempDir()
		src, bin := filepath.Join(dir, "a.asm"), filepath.Join(dir, "a.bin")
		require.NoError(t, os.WriteFile(src, []byte(im.Listing()), 0o644))
		out, err := exec.Command("nasm", "-f", "bin", "-o", bin, src).CombinedOutput()
		require.NoError(t, err, "%s: nasm:\n%s", name, out)
		got, err := os.ReadFile(bin)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, len(got), 512+im.CodeBytes()/2, "%s: the bytes nasm gave", name)
		assert.True(t, bytes.HasPrefix(im.Bytes, got), "%s: nasm gave %d bytes that are not a prefix of the %d-byte image", name, len(got), len(im.Bytes))
	}
}

// An image whose data sectors are cut short stops with an error: "disk
// error" and the BIOS status in hex from the full boot sector, "E" alone
// from the lean one (-Os only); exit 2 from both.
func TestCutShortImage(t *testing.T) {
	p, err := frontend.LoadFile(path("gelu-random"), ir.Options{})
	require.NoError(t, err)
	for _, opt := range []string{"s lean", "s full", "2 full"} {
		want := `^disk error [0-9A-F]{2}\n$`
		if opt == "s lean" {
			want = `^E$`
		}
		for _, memory := range []string{"flat", "segmented"} {
			im, err := codegen.Build(p, []int{ir.BOS}, p.Gen.Steps, codegen.Options{Memory: memory, Opt: opt[:1], Boot: opt[2:]})
			require.NoError(t, err)
			cut := im.Bytes[:im.Streams-len(im.Layout.Data)/2/512*512]
			res := boot(t, cut)
			assert.Regexp(t, want, string(res.Serial), "-O%s %s: what the cut-short image printed (exit %d)", opt, memory, res.ExitCode)
			assert.Equal(t, 2, res.ExitCode, "-O%s %s: the cut-short image's exit code (printed %q)", opt, memory, res.Serial)
		}
	}
}

// shapesModel is a model with random weights whose sizes take -O2's rarer
// paths: head sizes 4, 6 and 20, groups of 3 query heads, lengths that 8
// does not divide (loops unrolled by what divides them or not at all),
// more than 127 columns (32-bit displacements), odd numbers of rows and of
// columns, int8 weights and caches (value shifts past 8), top-p sampling.
const shapesModel = `model shapes

weights   random seed {SEED}
tokenizer synthetic

config {
  dim      = {DIM}
  hidden   = {HIDDEN}
  layers   = 2
  heads    = {HEADS}
  kv_heads = {KVHEADS}
  vocab    = {VOCAB}
  context  = 64
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

quant token_embedding, wq, wk, wv, wo, w1, w2, w3 : {WEIGHTS}
quant rms_att, rms_ffn, rms_final : fixed

cache kv [layers, context, kv_dim] : {CACHE} per token_head

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
    x = add(x, matmul(w2, mul({GATE}(matmul(w1, h)), matmul(w3, h))))
  }
  x = rmsnorm(x, rms_final)
  next = {FINAL}(matmul(token_embedding, x))
}

generate {
  prompt = ""
  steps  = 48
  {SAMPLER}
}
`

// -O2 (the loop code generator) on unusual shapes, in both memory models,
// prints what the simulator prints.
func TestO2Shapes(t *testing.T) {
	cases := []struct{ name, vars string }{
		{"d4-group3-int8", "SEED=5 DIM=36 HIDDEN=150 HEADS=9 KVHEADS=3 VOCAB=259 WEIGHTS=int8~per~tensor CACHE=int8 GATE=gelu FINAL=sample SAMPLER=sampler~temperature~0.9~top_p~0.8~seed~3"},
		{"d20-mha-int16", "SEED=6 DIM=40 HIDDEN=66 HEADS=2 KVHEADS=2 VOCAB=301 WEIGHTS=int16~per~tensor CACHE=int16 GATE=silu FINAL=argmax SAMPLER=sampler~greedy"},
		{"d6-odd", "SEED=7 DIM=30 HIDDEN=45 HEADS=5 KVHEADS=5 VOCAB=263 WEIGHTS=int16~per~row CACHE=int16 GATE=silu FINAL=sample SAMPLER=sampler~temperature~1.0~seed~13"},
	}
	for _, c := range cases {
		file := shapeFile(t, c.name, c.vars)
		for _, memory := range []string{"flat", "segmented"} {
			t.Run(c.name+"/"+memory, func(t *testing.T) {
				p, err := frontend.LoadFile(file, ir.Options{})
				require.NoError(t, err)
				prompt, _ := p.Tokenizer.Encode(p.Gen.Prompt, true, false)
				im, err := codegen.Build(p, prompt, p.Gen.Steps, codegen.Options{Memory: memory, Opt: "2"})
				require.NoError(t, err)
				res := boot(t, im.Bytes)
				assert.Equal(t, simulate(t, p), string(res.Serial), "what QEMU printed (expected: the simulator's), exit %d", res.ExitCode)
				assert.Equal(t, 0, res.ExitCode, "exit code")
			})
		}
	}
}

// shapeFile writes shapesModel with vars ("KEY=value …", ~ for a space)
// filled in and returns its path.
func shapeFile(t *testing.T, name, vars string) string {
	t.Helper()
	src := shapesModel
	for _, kv := range strings.Fields(vars) {
		k, v, _ := strings.Cut(kv, "=")
		src = strings.ReplaceAll(src, "{"+k+"}", strings.ReplaceAll(v, "~", " "))
	}
	file := filepath.Join(t.TempDir(), name+".tf")
	require.NoError(t, os.WriteFile(file, []byte(src), 0o644))
	return file
}

// editedExample writes example name with each edit made (old, new: the
// first match of old) and returns its path; an edit that finds nothing
// fails the test.
func editedExample(t *testing.T, name string, edits ...[2]string) string {
	t.Helper()
	src, err := os.ReadFile(path(name))
	require.NoError(t, err)
	s := string(src)
	for _, e := range edits {
		require.Contains(t, s, e[0], "%s: nothing to edit", name)
		s = strings.Replace(s, e[0], e[1], 1)
	}
	file := filepath.Join(t.TempDir(), name+".tf")
	require.NoError(t, os.WriteFile(file, []byte(s), 0o644))
	return file
}

// The loop generator's layer loop ends where the layer params' slot
// reaches its value after the last layer: no count of the layers left
// (segmented, a word; flat, a dword, of which the size policy compares
// the narrowest window where no layer before the last leaves what the
// last does, endWindow, and steps the narrowest that no carry leaves,
// stepWindow: gpt2-random's params on 256-byte strides, AlignLayers).
// The examples' boots check the end.
func TestLayerLoopEndsOnItsSlot(t *testing.T) {
	for memory, want := range map[string]string{"": `cmp byte \[0x1004\], `, "flat": `add word \[0x1005\], 0x196\n(\s+add [^\n]+\n)?\s+cmp byte \[0x1005\], `} {
		_, im := build(t, path("gpt2-random"), memory)
		l := im.Listing()
		assert.Regexp(t, want, l, "%s: listing", memory)
		assert.NotContains(t, l, "[0x100c]", "%s: a count of the layers left", memory)
	}
	p, err := frontend.LoadFile(path("gpt2-random"), ir.Options{})
	require.NoError(t, err)
	im, err := codegen.Build(p, []int{ir.BOS}, 8, codegen.Options{Gen: "loop", Memory: "flat", Opt: "2"})
	require.NoError(t, err)
	assert.Contains(t, im.Main.Listing(), "cmp dword [0x1004], ", "-O2, flat")
}
