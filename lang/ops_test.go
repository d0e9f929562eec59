package lang_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/checkpoint"
	"tfc/lang"
	"tfc/parser"
)

// gpt is a valid model that uses the ops and options added for GPT-2,
// GPT-J and Llama variants; the rows below edit it. Its line numbers are
// fixed: the rows' positions depend on them.
const gpt = `model g
weights random seed 1
tokenizer synthetic
config {
  dim = 64
  hidden = 256
  layers = 2
  heads = 4
  kv_heads = 4
  vocab = 256
  context = 128
  head_dim = dim / heads
}
param wte [vocab, dim]
param wpe [context, dim]
param ln1_w [layers, dim]
param ln1_b [layers, dim]
param wq [layers, dim, dim]
param bq [layers, dim]
param wk [layers, dim, dim]
param wv [layers, dim, dim]
param wo [layers, dim, dim]
param ln2_w [layers, dim]
param w_fc [layers, hidden, dim]
param b_fc [layers, hidden]
param w_proj [layers, dim, hidden]
param lnf_w [dim]
param lnf_b [dim]
cache kv [layers, context, dim] : int16 per token_head
forward {
  x = add(embed(wte, token), embed(wpe, pos))
  layer {
    h = layernorm(x, ln1_w, ln1_b)
    q = rope(add(matmul(wq, h), bq), head_dim, theta = 500000, rotary_dim = 8)
    k = rope(matmul(wk, h), head_dim, theta = 500000, rotary_dim = 8)
    v = matmul(wv, h)
    store(kv, k, v)
    x = add(x, matmul(wo, attention(q, kv, head_dim)))
    h = layernorm(x, ln2_w, eps = 1e-6)
    x = add(x, matmul(w_proj, gelu_tanh(add(matmul(w_fc, h), b_fc))))
  }
  x = layernorm(x, lnf_w, lnf_b)
  next = argmax(matmul(wte, mul(sub(x, relu(x)), -0.5)))
}
`

func TestNewOpsCheck(t *testing.T) {
	err := parseAndCheck(gpt, lang.CheckOptions{})
	require.NoError(t, err, lang.FormatError(err, nil))
	// Options print as written; the overload chosen is the one of the
	// arguments' kinds.
	f, err := parser.Parse("t.tf", []byte(gpt))
	require.NoError(t, err)
	p, _ := lang.Check(f, lang.CheckOptions{})
	assert.Equal(t, "q = rope(add(matmul(wq, h:64):64, bq):64, head_dim=16, theta = 500000, rotary_dim = 8):64", p.Layer[1].String())
	assert.Equal(t, "layernorm(x, g, b)", p.Layer[0].Call.Row.Form, "layernorm(x, ln1_w, ln1_b)")
	assert.Equal(t, "layernorm(x, g)", p.Layer[6].Call.Row.Form, "layernorm(x, ln2_w)")
	assert.Equal(t, "embed(P, pos)", p.Pre[0].Call.Args[1].Row.Form, "embed(wpe, pos)")
	// The same with llm.c's names and weights from its checkpoint.
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "model.bin"), gpt2Files()["model.bin"], 0o644))
	assert.NoError(t, parseAndCheck(gptCkpt(`model g`, `model g`), lang.CheckOptions{OpenFiles: true, Dir: dir}), "with an llm.c checkpoint")
	// sample() over any vocabulary.
	big := edit(edit(edit(base, `vocab = 256`, `vocab = 32000`), `next = argmax`, `next = sample`), `sampler greedy`, `sampler temperature 1`)
	assert.NoError(t, parseAndCheck(big, lang.CheckOptions{}), "sample over 32000 tokens")
}

// Every bad use of a new op or option, with its message.
func TestNewOpsErrors(t *testing.T) {
	for _, row := range []errorRow{
		{name: "layernorm arity", src: edit(gpt, `layernorm(x, ln1_w, ln1_b)`, `layernorm(x)`),
			want: `t.tf:33:9: layernorm takes 2 or 3 arguments, not 1`},
		{name: "layernorm weights a matrix", src: edit(gpt, `layernorm(x, ln1_w, ln1_b)`, `layernorm(x, wq, ln1_b)`),
			want: `t.tf:33:9: layernorm: wq must be a vector, but it is a matrix`},
		{name: "layernorm biases too long", src: edit(gpt, `layernorm(x, ln1_w, ln1_b)`, `layernorm(x, ln1_w, b_fc)`),
			want: `t.tf:33:9: layernorm: x has 64 elements, but b_fc has 256`},
		{name: "layernorm biases quantized", src: edit(gpt, `cache kv`, "quant ln1_b : int8 per layer\ncache kv"),
			want: `t.tf:34:29: layernorm: the biases ln1_b must be fixed, not int8 per layer`},
		{name: "layernorm weights quantized", src: edit(gpt, `cache kv`, "quant ln2_w : int16 per layer\ncache kv"),
			want: `t.tf:40:22: layernorm: the weights ln2_w must be fixed, not int16 per layer`},
		{name: "bias of a cache", src: edit(gpt, `add(matmul(wq, h), bq)`, `add(matmul(wq, h), kv)`),
			want: `t.tf:34:33: add: argument 2 must be a vector or a param, not the cache "kv"`},
		{name: "bias a matrix", src: edit(gpt, `add(matmul(wq, h), bq)`, `add(matmul(wq, h), wk)`),
			want: `t.tf:34:14: add: wk must be a vector, but it is a matrix`},
		{name: "bias of another length", src: edit(gpt, `add(matmul(wq, h), bq)`, `add(matmul(wq, h), b_fc)`),
			want: `t.tf:34:14: add: matmul(…) has 64 elements, but b_fc has 256`},
		{name: "bias first", src: edit(gpt, `add(matmul(wq, h), bq)`, `add(bq, matmul(wq, h))`),
			want: `t.tf:34:18: add: argument 1 must be a vector, not the param "bq"`},
		{name: "bias quantized", src: edit(gpt, `cache kv`, "quant bq : int8 per layer\ncache kv"),
			want: `t.tf:35:33: add: the biases bq must be fixed, not int8 per layer`},
		{name: "positions fewer than context", src: edit(gpt, `param wpe [context, dim]`, `param wpe [64, dim]`),
			want: `t.tf:31:30: embed: wpe has 64 rows, but context is 128 (a row per position)`},
		{name: "positions of a vector", src: edit(gpt, `embed(wpe, pos)`, `embed(lnf_w, pos)`),
			want: `t.tf:31:30: embed: lnf_w must be a matrix [context, n], but it is a vector`},
		{name: "scale out of range", src: edit(gpt, `-0.5`, `40000`),
			want: `t.tf:43:50: mul: the constant 40000 is out of range (it must be within ±32768)`},
		{name: "scale of zero", src: edit(gpt, `-0.5`, `0.000001`),
			want: `t.tf:43:50: mul: the constant 1e-06 is 0 in Q16.16 (the smallest is 1/65536)`},
		{name: "mul by a param", src: edit(gpt, `-0.5`, `lnf_w`),
			want: `t.tf:43:50: mul: argument 2 must be a vector or a number, not the param "lnf_w"`},
		{name: "relu arity", src: edit(gpt, `relu(x)`, `relu(x, x)`),
			want: `t.tf:43:40: relu takes 1 argument, not 2`},
		{name: "gelu_tanh of a param", src: edit(gpt, `gelu_tanh(add(matmul(w_fc, h), b_fc))`, `gelu_tanh(b_fc)`),
			want: `t.tf:40:41: gelu_tanh: argument 1 must be a vector, not the param "b_fc"`},
		{name: "sub of lengths", src: edit(gpt, `add(matmul(w_fc, h), b_fc)`, `sub(matmul(w_fc, h), h)`),
			want: `t.tf:40:41: sub: matmul(…) has 256 elements, but h has 64`},
		{name: "unknown option", src: edit(gpt, `eps = 1e-6`, `epsilon = 1e-6`),
			want: `t.tf:39:29: layernorm has no option "epsilon" (its options: eps)`},
		{name: "option of an op without", src: edit(gpt, `v = matmul(wv, h)`, `v = matmul(wv, h, eps = 1)`),
			want: `t.tf:36:23: matmul has no options`},
		{name: "option twice", src: edit(gpt, `eps = 1e-6`, `eps = 1e-6, eps = 1e-5`),
			want: `t.tf:39:41: layernorm: option eps is given twice`},
		{name: "eps of zero", src: edit(gpt, `eps = 1e-6`, `eps = 0`),
			want: `t.tf:39:35: layernorm: eps must be in (0, 1], not 0`},
		{name: "eps below Q32.32", src: edit(gpt, `eps = 1e-6`, `eps = 1e-12`),
			want: `t.tf:39:35: layernorm: eps 1e-12 is 0 in Q32.32 (the smallest is 1.2e-10)`},
		{name: "rmsnorm eps", src: edit(base, `h = rmsnorm(x, rms_att)`, `h = rmsnorm(x, rms_att, eps = 2)`),
			want: `t.tf:32:35: rmsnorm: eps must be in (0, 1], not 2`},
		{name: "theta", src: edit(gpt, `k = rope(matmul(wk, h), head_dim, theta = 500000`, `k = rope(matmul(wk, h), head_dim, theta = 0.5`),
			want: `t.tf:35:47: rope: theta must be more than 1 and at most 1e12, not 0.5`},
		{name: "rotary_dim odd", src: edit(gpt, `head_dim, theta = 500000, rotary_dim = 8)
    v`, `head_dim, theta = 500000, rotary_dim = 7)
    v`),
			want: `t.tf:35:68: rope: rotary_dim 7 is odd (rope rotates pairs)`},
		{name: "rotary_dim past the head", src: edit(gpt, `head_dim, theta = 500000, rotary_dim = 8)
    v`, `head_dim, theta = 500000, rotary_dim = 32)
    v`),
			want: `t.tf:35:68: rope: rotary_dim 32 is more than the head size 16`},
		{name: "rotary_dim negative", src: edit(gpt, `head_dim, theta = 500000, rotary_dim = 8)
    v`, `head_dim, theta = 500000, rotary_dim = -2)
    v`),
			want: `t.tf:35:68: rope: rotary_dim must be positive, not -2`},
		{name: "rotary_dim not an integer", src: edit(gpt, `head_dim, theta = 500000, rotary_dim = 8)
    v`, `head_dim, theta = 500000, rotary_dim = 4.5)
    v`),
			want: `t.tf:35:68: rope: rotary_dim must be an integer, not 4.5`},
		{name: "head size a decimal", src: edit(gpt, `attention(q, kv, head_dim)`, `attention(q, kv, 16.0)`),
			want: `t.tf:38:44: attention: argument 3 must be an integer (a constant or a number), not the decimal 16.0`},
		{name: "decimal argument of a param", src: edit(gpt, `embed(wte, token)`, `embed(wte, 1.5)`),
			want: `t.tf:31:22: embed: argument 2 must be token or pos, not the decimal 1.5`},
		// An llm.c GPT-2 checkpoint: its header's names, its tensors.
		{name: "gpt2 checkpoint hidden", src: gptCkpt(`hidden = 256`, `hidden = 128`), files: gpt2Files(), open: true,
			want: `t.tf:6:3: hidden = 128, but the checkpoint has 4*channels 256`},
		{name: "gpt2 checkpoint context", src: gptCkpt(`context = 128`, `context = 64`), files: gpt2Files(), open: true,
			want: `t.tf:11:3: context = 64, but the checkpoint has max_seq_len 128`},
		{name: "gpt2 checkpoint tensor", src: gptCkpt(`param w_fc [layers, hidden, dim]`, `param w1 [layers, hidden, dim]`), files: gpt2Files(), open: true,
			want: `t.tf:24:1: "w1" is not a tensor of the checkpoint (wte wpe ln1w ln1b wq wk wv bq bk bv attprojw attprojb ln2w ln2b fcw fcb fcprojw fcprojb lnfw lnfb)`},
		{name: "gpt2 checkpoint shape", src: gptCkpt(`param wpe [context, dim]`, `param wpe [64, dim]`), files: gpt2Files(), open: true,
			want: `t.tf:15:11: wpe has shape [64, 64], but the checkpoint's is [128, 64]`},
		{name: "gpt2 checkpoint per layer", src: gptCkpt(`param lnf_w [dim]`, `param lnfw [layers, dim]`), files: gpt2Files(), open: true,
			want: `t.tf:27:12: lnfw has shape [2, 64], but the checkpoint's is [64]`},
	} {
		t.Run(row.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range row.files {
				require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
			}
			err := parseAndCheck(row.src, lang.CheckOptions{OpenFiles: row.open, Dir: dir})
			require.Error(t, err, "want %s", row.want)
			assert.Equal(t, row.want, err.Error(), lang.FormatError(err, nil))
			assert.True(t, strings.HasPrefix(err.Error(), "t.tf:"), "no position: %s", err)
		})
	}
}

// gptCkpt is gpt with llm.c's tensor names and its weights from model.bin,
// then old replaced by new.
func gptCkpt(old, new string) string {
	src := edit(gpt, `weights random seed 1`, `weights checkpoint "model.bin"`)
	for _, r := range [][2]string{{"ln1_w", "ln1w"}, {"ln1_b", "ln1b"}, {"ln2_w", "ln2w"}, {"lnf_w", "lnfw"}, {"lnf_b", "lnfb"},
		{"w_fc", "fcw"}, {"b_fc", "fcb"}, {"w_proj", "fcprojw"}, {"param wo ", "param attprojw "}, {"matmul(wo,", "matmul(attprojw,"}} {
		if r[0] != old {
			src = strings.ReplaceAll(src, r[0], r[1])
			old = strings.ReplaceAll(old, r[0], r[1])
		}
	}
	return edit(src, old, new)
}

// gpt2Files is an llm.c GPT-2 checkpoint of gpt's config: vocab 256 (padded
// to 320), context 128, 2 layers, 4 heads, 64 channels.
func gpt2Files() map[string][]byte {
	c := checkpoint.Config{Format: checkpoint.GPT2, Dim: 64, Hidden: 256, Layers: 2, Heads: 4, KVHeads: 4, Vocab: 256,
		SeqLen: 128, Shared: true, PaddedVocab: 320}
	m := &checkpoint.Model{Config: c, Tensors: map[string]*checkpoint.Tensor{}}
	for name, shape := range c.Shapes() {
		n := 1
		for _, d := range shape {
			n *= d
		}
		m.Tensors[name] = &checkpoint.Tensor{Name: name, Shape: shape, Data: make([]float32, n)}
	}
	return map[string][]byte{"model.bin": checkpoint.WriteGPT2(m)}
}
