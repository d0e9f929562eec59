package main

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/checkpoint"
	"tfc/frontend"
	"tfc/ir"
)

// tfc import writes, for stories260K, a .tf file that builds as it is and
// prints what examples/llama2.tf prints.
func TestImportLlama2(t *testing.T) {
	needModels(t)
	dir := t.TempDir()
	tf := filepath.Join(dir, "s.tf")
	tfc(t, "import", "../../models/stories260K.bin", "-z", "../../models/tok512.bin", "-o", tf)
	src, _ := os.ReadFile(tf)
	for _, want := range []string{"model stories260K\n", `weights   checkpoint "`, "hidden   = 172\n", "kv_heads = 4\n", "param wk              [layers, kv_dim, dim]\n"} {
		assert.Contains(t, string(src), want, "the import:\n%s", src)
	}
	want, err := os.ReadFile("../../examples/llama2.expected")
	require.NoError(t, err)
	assert.Equal(t, string(want), tfc(t, "sim", tf, "--steps", "200"), "tfc sim of the import (expected: examples/llama2.expected)")
	needQEMU(t)
	got := tfc(t, "run", tf, "--steps", "40")
	assert.True(t, strings.HasPrefix(string(want), strings.TrimSuffix(got, "\n")),
		"tfc run of the import printed %q, not the start of examples/llama2.expected", got)
}

// A small llm.c GPT-2 checkpoint: tfc import writes a .tf file for it
// that builds, whose float simulator computes the logits of GPT-2's
// forward pass (a reference in float64 here, from the file's tensors as
// llm.c lays them out), and whose image prints what tfc sim prints.
func TestImportGPT2(t *testing.T) {
	const T, V, Vp, L, NH, C = 24, 40, 64, 2, 2, 16
	c := checkpoint.Config{Format: checkpoint.GPT2, Dim: C, Hidden: 4 * C, Layers: L, Heads: NH, KVHeads: NH,
		Vocab: V, SeqLen: T, Shared: true, PaddedVocab: Vp}
	m := &checkpoint.Model{Config: c, Tensors: map[string]*checkpoint.Tensor{}}
	r := rand.New(rand.NewPCG(3, 4))
	for _, name := range c.Names() {
		shape := c.Shapes()[name]
		n := 1
		for _, d := range shape {
			n *= d
		}
		tn := &checkpoint.Tensor{Name: name, Shape: shape, Data: make([]float32, n)}
		scale := 1 / math.Sqrt(float64(shape[len(shape)-1]))
		for i := range tn.Data {
			tn.Data[i] = float32(r.NormFloat64() * scale)
			if strings.HasPrefix(name, "ln") && strings.HasSuffix(name, "w") {
				tn.Data[i] = float32(1 + 0.1*r.NormFloat64())
			}
		}
		m.Tensors[name] = tn
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "tiny_gpt2.bin")
	require.NoError(t, os.WriteFile(bin, checkpoint.WriteGPT2(m), 0o644))
	tf := filepath.Join(dir, "g.tf")
	tfc(t, "import", bin, "-o", tf)
	src, _ := os.ReadFile(tf)
	assert.Contains(t, string(src), `weights   checkpoint "tiny_gpt2.bin"`, "the import:\n%s", src)
	assert.Contains(t, string(src), "layernorm(x, ln1w, ln1b)", "the import:\n%s", src)

	p, err := frontend.LoadFile(tf, ir.Options{SkipQuantize: true})
	require.NoError(t, err)
	fs := ir.NewFloatSim(p)
	ref := newGPT2Ref(m)
	token := ir.BOS
	for pos := 0; pos < 8; pos++ {
		next := fs.Step(token, pos)
		want := ref.step(token, pos)
		for i, v := range fs.Logits() {
			require.InDelta(t, want[i], v, 1e-3, "step %d, logit %d (expected: the reference's)", pos, i)
		}
		token = next
	}

	sim := tfc(t, "sim", tf, "--steps", "16")
	needQEMU(t)
	assert.Equal(t, sim, tfc(t, "run", tf, "--steps", "16"), "tfc run (expected: tfc sim's)")

	// With llm.c's tokenizer file (-z): its pieces, printed from the
	// end-of-text token on, on the host and booted alike.
	pieces := make([][]byte, V)
	for i := range pieces {
		pieces[i] = []byte{byte('a' + i%26)}
	}
	tokFile := filepath.Join(dir, "gpt2_tokenizer.bin")
	require.NoError(t, os.WriteFile(tokFile, checkpoint.WriteLLMCTokenizer(pieces, V-1), 0o644))
	tfz := filepath.Join(dir, "gz.tf")
	tfc(t, "import", bin, "-z", tokFile, "-o", tfz)
	simz := tfc(t, "sim", tfz, "--steps", "16")
	assert.NotEqual(t, sim, simz, "the llm.c tokenizer printed the synthetic one's text")
	assert.Equal(t, simz, tfc(t, "run", tfz, "--steps", "16"), "with llm.c's tokenizer: tfc run (expected: tfc sim's)")
}

// gpt2Ref is GPT-2's forward pass in float64 over an llm.c model's
// tensors, as train_gpt2.py's model computes it: learned positions,
// pre-LayerNorm blocks, GELU's tanh form, the tied classifier.
type gpt2Ref struct {
	m    *checkpoint.Model
	k, v [][][]float64 // [layer][pos][C]
}

func newGPT2Ref(m *checkpoint.Model) *gpt2Ref {
	r := &gpt2Ref{m: m, k: make([][][]float64, m.Layers), v: make([][][]float64, m.Layers)}
	return r
}

func (r *gpt2Ref) t(name string, l int) []float32 {
	tn := r.m.Tensors[name]
	if r.m.PerLayer(name) {
		return tn.Layer(l)
	}
	return tn.Data
}

func refLayernorm(x []float64, w, b []float32) []float64 {
	var mean, v float64
	for _, a := range x {
		mean += a
	}
	mean /= float64(len(x))
	for _, a := range x {
		v += (a - mean) * (a - mean)
	}
	v /= float64(len(x))
	out := make([]float64, len(x))
	for i, a := range x {
		out[i] = (a-mean)/math.Sqrt(v+1e-5)*float64(w[i]) + float64(b[i])
	}
	return out
}

func refLinear(w []float32, b []float32, x []float64, rows int) []float64 {
	out := make([]float64, rows)
	n := len(x)
	for i := range out {
		for j, a := range x {
			out[i] += float64(w[i*n+j]) * a
		}
		if b != nil {
			out[i] += float64(b[i])
		}
	}
	return out
}

func (r *gpt2Ref) step(token, pos int) []float64 {
	c := r.m.Config
	C, D := c.Dim, c.Dim/c.Heads
	x := make([]float64, C)
	for i := range x {
		x[i] = float64(r.m.Tensors["wte"].Data[token*C+i]) + float64(r.m.Tensors["wpe"].Data[pos*C+i])
	}
	for l := 0; l < c.Layers; l++ {
		h := refLayernorm(x, r.t("ln1w", l), r.t("ln1b", l))
		q := refLinear(r.t("wq", l), r.t("bq", l), h, C)
		r.k[l] = append(r.k[l], refLinear(r.t("wk", l), r.t("bk", l), h, C))
		r.v[l] = append(r.v[l], refLinear(r.t("wv", l), r.t("bv", l), h, C))
		att := make([]float64, C)
		for hd := 0; hd < c.Heads; hd++ {
			sc := make([]float64, pos+1)
			best := math.Inf(-1)
			for s := 0; s <= pos; s++ {
				for i := 0; i < D; i++ {
					sc[s] += q[hd*D+i] * r.k[l][s][hd*D+i]
				}
				sc[s] /= math.Sqrt(float64(D))
				best = math.Max(best, sc[s])
			}
			var sum float64
			for s := range sc {
				sc[s] = math.Exp(sc[s] - best)
				sum += sc[s]
			}
			for s := range sc {
				for i := 0; i < D; i++ {
					att[hd*D+i] += sc[s] / sum * r.v[l][s][hd*D+i]
				}
			}
		}
		o := refLinear(r.t("attprojw", l), r.t("attprojb", l), att, C)
		for i := range x {
			x[i] += o[i]
		}
		h = refLayernorm(x, r.t("ln2w", l), r.t("ln2b", l))
		f := refLinear(r.t("fcw", l), r.t("fcb", l), h, 4*C)
		for i, a := range f {
			f[i] = 0.5 * a * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(a+0.044715*a*a*a)))
		}
		o = refLinear(r.t("fcprojw", l), r.t("fcprojb", l), f, C)
		for i := range x {
			x[i] += o[i]
		}
	}
	x = refLayernorm(x, r.t("lnfw", 0), r.t("lnfb", 0))
	return refLinear(r.m.Tensors["wte"].Data, nil, x, c.Vocab)
}
