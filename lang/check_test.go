package lang_test

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/lang"
	"tfc/parser"
)

// base is a valid model with random weights; the table's rows edit it.
// Its line numbers are fixed: the rows' positions depend on them.
const base = `model tiny
weights random seed 1
tokenizer synthetic
config {
  dim = 64
  hidden = 96
  layers = 2
  heads = 8
  kv_heads = 4
  vocab = 256
  context = 128
  head_dim = dim / heads
  kv_dim = kv_heads * head_dim
}
param token_embedding [vocab, dim]
param rms_att [layers, dim]
param wq [layers, dim, dim]
param wk [layers, kv_dim, dim]
param wv [layers, kv_dim, dim]
param wo [layers, dim, dim]
param rms_ffn [layers, dim]
param w1 [layers, hidden, dim]
param w2 [layers, dim, hidden]
param w3 [layers, hidden, dim]
param rms_final [dim]
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
generate {
  prompt = ""
  steps = 64
  sampler greedy
}
`

// withCkpt is base with a checkpoint and a tokenizer file.
var withCkpt = edit(edit(base, `weights random seed 1`, `weights checkpoint "model.bin"`),
	`tokenizer synthetic`, `tokenizer "tok.bin"`)

// edit replaces the one occurrence of old in src by new.
func edit(src, old, new string) string {
	if strings.Count(src, old) != 1 {
		panic("edit: " + old + " does not occur exactly once")
	}
	return strings.Replace(src, old, new, 1)
}

// header is a llama2.c checkpoint header.
type header struct {
	dim, hidden, layers, heads, kvHeads, vocab, seqLen int
	shared                                             bool
}

// good matches base's config.
var good = header{64, 96, 2, 8, 4, 256, 128, true}

// floats counts the float32 values of a llama2.c checkpoint: the weights,
// the two legacy RoPE tables and, unshared, wcls.
func (h header) floats() int {
	hd := h.dim / h.heads
	kv := h.kvHeads * hd
	perLayer := h.dim + h.dim*h.dim + 2*kv*h.dim + h.dim*h.dim + h.dim + 3*h.dim*h.hidden
	n := h.vocab*h.dim + h.layers*perLayer + h.dim + 2*(h.seqLen*hd/2)
	if !h.shared {
		n += h.vocab * h.dim
	}
	return n
}

// checkpointFile writes the header and then zero weights, extra bytes more
// (or fewer) than the format needs.
func checkpointFile(h header, extra int) []byte {
	out := make([]byte, 0, 28+4*h.floats()+max(extra, 0))
	vocab := h.vocab
	if !h.shared {
		vocab = -vocab
	}
	for _, v := range []int{h.dim, h.hidden, h.layers, h.heads, h.kvHeads, vocab, h.seqLen} {
		out = binary.LittleEndian.AppendUint32(out, uint32(int32(v)))
	}
	out = append(out, make([]byte, 4*h.floats()+extra)...)
	return out
}

// tokenizerFile writes a llama2.c tokenizer of n tokens: int32
// max_token_length, then per token a float32 score, an int32 length and the
// bytes.
func tokenizerFile(n int) []byte {
	out := binary.LittleEndian.AppendUint32(nil, 8)
	for i := 0; i < n; i++ {
		piece := []byte{byte('a' + i%26), byte('a' + i/26%26)}
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(float32(-i)))
		out = binary.LittleEndian.AppendUint32(out, uint32(len(piece)))
		out = append(out, piece...)
	}
	return out
}

type errorRow struct {
	name  string
	src   string
	files map[string][]byte // written next to the .tf file
	open  bool              // CheckOptions.OpenFiles
	want  string
}

func deep(n int) string { return strings.Repeat("(", n) + "64" + strings.Repeat(")", n) }

var errorRows = []errorRow{
	// Syntax.
	{name: "string expected", src: edit(base, `weights random seed 1`, `weights checkpoint {`),
		want: `t.tf:2:20: unexpected "{" (expected a string after "checkpoint")`},
	{name: "unknown declaration", src: edit(base, `model tiny`, `modle tiny`),
		want: `t.tf:1:1: unexpected "modle" (expected a declaration: model, weights, tokenizer, config, param, quant, cache, forward or generate)`},
	{name: "config without =", src: edit(base, `dim = 64`, `dim 64`),
		want: `t.tf:5:7: unexpected "64" (expected "=" after "dim")`},
	{name: "unterminated string", src: edit(base, `prompt = ""`, `prompt = "abc`),
		want: `t.tf:45:12: unterminated string`},
	{name: "bad character", src: edit(base, `dim = 64`, `dim = 64$`),
		want: `t.tf:5:11: unexpected character '$'`},
	{name: "missing comma", src: edit(base, `embed(token_embedding, token)`, `embed(token_embedding token)`),
		want: `t.tf:30:29: unexpected "token" (expected ")" after "token_embedding")`},
	{name: "unknown granularity", src: edit(base, `w3 : int16 per row`, `w3 : int16 per column`),
		want: `t.tf:26:63: unexpected "column" (expected "tensor", "layer" or "row" after "per")`},
	{name: "cache granularity", src: edit(base, `kv_dim] : int16 per token_head`, `kv_dim] : int16 per tensor`),
		want: `t.tf:28:48: unexpected "tensor" (expected "token_head" after "per")`},
	{name: "float steps", src: edit(base, `steps = 64`, `steps = 6.4`),
		want: `t.tf:46:11: unexpected "6.4" (expected an integer after "=")`},
	{name: "integer too large", src: edit(base, `dim = 64`, `dim = 99999999999999999999`),
		want: `t.tf:5:9: integer 99999999999999999999 is too large`},
	{name: "end of file", src: strings.TrimSuffix(base, "}\n"),
		want: `t.tf:47:17: unexpected end of file (expected "prompt", "steps", "sampler" or "}" after "greedy")`},
	{name: "nested too deep", src: edit(base, `dim = 64`, `dim = `+deep(70)),
		want: `t.tf:5:72: brackets nested deeper than 64`},
	{name: "call expected", src: edit(base, `v = matmul(wv, h)`, `v = 5`),
		want: `t.tf:35:9: unexpected "5" (expected a call such as matmul(w, x) after "=")`},

	// Declarations and config.
	{name: "missing model", src: edit(base, "model tiny\n", "\n"),
		want: `t.tf:1:1: missing model declaration`},
	{name: "duplicate model", src: edit(base, `weights random seed 1`, `weights random seed 1 model other`),
		want: `t.tf:2:23: duplicate model declaration (the first is at line 1)`},
	{name: "duplicate boot", src: edit(base, `weights random seed 1`, `weights random seed 1 boot lean boot full`),
		want: `t.tf:2:33: duplicate boot declaration (the first is at line 2)`},
	{name: "unknown boot path", src: edit(base, `weights random seed 1`, `weights random seed 1 boot fast`),
		want: `t.tf:2:28: unexpected "fast" (expected ("full" | "lean") after "boot")`},
	{name: "missing context", src: edit(base, "  context = 128\n", "\n"),
		want: `t.tf:4:1: config is missing context`},
	{name: "duplicate constant", src: edit(base, `head_dim = dim / heads`, `dim = dim / heads`),
		want: `t.tf:12:3: duplicate constant "dim" (the first is at line 5)`},
	{name: "unknown constant", src: edit(base, `kv_dim = kv_heads * head_dim`, `kv_dim = kv_heads * head_size`),
		want: `t.tf:13:23: unknown constant "head_size"`},
	{name: "constant used before its definition", src: edit(base, `head_dim = dim / heads`, `head_dim = kv_dim / kv_heads`),
		want: `t.tf:12:14: constant "kv_dim" is used before its definition`},
	{name: "inexact division", src: edit(base, `head_dim = dim / heads`, `head_dim = dim / 5`),
		want: `t.tf:12:18: inexact division: 64 / 5 leaves 4`},
	{name: "division by zero", src: edit(base, `head_dim = dim / heads`, `head_dim = dim / (heads - 8)`),
		want: `t.tf:12:18: division by zero`},
	{name: "dim not divisible by heads", src: edit(base, `heads = 8`, `heads = 7`),
		want: `t.tf:8:3: dim 64 is not divisible by heads 7`},
	{name: "heads not divisible by kv_heads", src: edit(base, `kv_heads = 4`, `kv_heads = 3`),
		want: `t.tf:9:3: heads 8 is not divisible by kv_heads 3`},
	{name: "layers not positive", src: edit(base, `layers = 2`, `layers = 0`),
		want: `t.tf:7:3: layers must be positive, not 0`},

	{name: "value out of range", src: edit(base, `head_dim = dim / heads`, `head_dim = 65536 * 65536`),
		want: `t.tf:12:20: value 4294967296 is out of range (more than 2147483647 in magnitude)`},
	{name: "vocab beyond the limit", src: edit(base, `vocab = 256`, `vocab = 2000000`),
		want: `t.tf:10:3: vocab = 2000000 is more than the limit 1048576`},
	{name: "missing forward", src: base[:strings.Index(base, "forward {")] + base[strings.Index(base, "generate {"):],
		want: `t.tf:1:1: missing forward declaration`},

	// Params.
	{name: "duplicate param", src: edit(base, `param rms_final [dim]`, `param rms_att [dim]`),
		want: `t.tf:25:1: duplicate param "rms_att" (the first is at line 16)`},
	{name: "param of 3 dimensions", src: edit(base, `param wq [layers, dim, dim]`, `param wq [layers, dim, dim, 2]`),
		want: `t.tf:17:10: param "wq" has 3 dimensions after layers; a param is a vector or a matrix`},
	{name: "zero dimension", src: edit(base, `param rms_final [dim]`, `param rms_final [dim - 64]`),
		want: `t.tf:25:18: a dimension must be positive, not 0`},
	{name: "param named like a constant", src: edit(base, `param rms_final [dim]`, `param dim [dim]`),
		want: `t.tf:25:1: param "dim" has the name of a config constant`},
	{name: "not a checkpoint tensor", src: edit(withCkpt, `param rms_final [dim]`, `param final_norm [dim]`),
		want: `t.tf:25:1: "final_norm" is not a tensor of the checkpoint (token_embedding rms_att wq wk wv wo rms_ffn w1 w2 w3 rms_final wcls)`},
	{name: "checkpoint tensor shape", src: edit(withCkpt, `param w2 [layers, dim, hidden]`, `param w2 [layers, hidden, dim]`),
		want: `t.tf:23:10: w2 has shape [2, 96, 64], but the checkpoint's is [2, 64, 96]`},
	{name: "per-layer tensor without layers", src: edit(withCkpt, `param wq [layers, dim, dim]`, `param wq [2, dim, dim]`),
		want: `t.tf:17:10: wq is per-layer: write its first dimension as layers`},

	{name: "param too large", src: edit(base, `param rms_final [dim]`, `param rms_final [vocab * 100000, 100000]`),
		want: `t.tf:25:17: param "rms_final" has more than 2147483648 elements`},

	// Files.
	{name: "missing checkpoint", open: true, src: edit(base, `weights random seed 1`, `weights checkpoint "../models/x.bin"`),
		want: `t.tf:2:1: open ../models/x.bin: no such file or directory`},
	{name: "checkpoint hidden", open: true, src: withCkpt,
		files: map[string][]byte{"model.bin": checkpointFile(header{64, 172, 2, 8, 4, 256, 128, true}, 0), "tok.bin": tokenizerFile(256)},
		want:  `t.tf:6:3: hidden = 96, but the checkpoint has hidden_dim 172`},
	{name: "checkpoint vocab", open: true, src: withCkpt,
		files: map[string][]byte{"model.bin": checkpointFile(header{64, 96, 2, 8, 4, 512, 128, true}, 0), "tok.bin": tokenizerFile(256)},
		want:  `t.tf:10:3: vocab = 256, but the checkpoint has vocab_size 512`},
	{name: "checkpoint size", open: true, src: withCkpt,
		files: map[string][]byte{"model.bin": checkpointFile(good, 8), "tok.bin": tokenizerFile(256)},
		want:  `t.tf:2:1: checkpoint is 316708 bytes, but dim=64 hidden_dim=96 n_layers=2 n_heads=8 n_kv_heads=4 vocab_size=256 seq_len=128 needs 316700`},
	{name: "checkpoint header truncated", open: true, src: withCkpt,
		files: map[string][]byte{"model.bin": make([]byte, 10), "tok.bin": tokenizerFile(256)},
		want:  `t.tf:2:1: checkpoint header is truncated: 10 bytes, need 28`},
	{name: "missing tokenizer", open: true, src: withCkpt,
		files: map[string][]byte{"model.bin": checkpointFile(good, 0)},
		want:  `t.tf:3:1: open tok.bin: no such file or directory`},
	{name: "tokenizer too large", open: true, src: withCkpt,
		files: map[string][]byte{"model.bin": checkpointFile(good, 0), "tok.bin": tokenizerFile(300)},
		want:  `t.tf:3:1: tokenizer has 440 trailing bytes after its 256 tokens`},
	{name: "tokenizer too small", open: true, src: withCkpt,
		files: map[string][]byte{"model.bin": checkpointFile(good, 0), "tok.bin": tokenizerFile(200)},
		want:  `t.tf:3:1: tokenizer is truncated: token 200 of 256 at offset 2004 needs 8 bytes for its score and length, only 0 remain`},
	{name: "wcls of a shared checkpoint", open: true,
		src:   edit(withCkpt, `param rms_final [dim]`, `param rms_final [dim] param wcls [vocab, dim]`),
		files: map[string][]byte{"model.bin": checkpointFile(good, 0), "tok.bin": tokenizerFile(256)},
		want:  `t.tf:25:23: the checkpoint has no wcls: its classifier is token_embedding`},

	// Quant.
	{name: "quant of an unknown param", src: edit(base, `quant rms_att, rms_ffn, rms_final`, `quant rms_att, rms_fn, rms_final`),
		want: `t.tf:27:16: unknown param "rms_fn"`},
	{name: "quantized twice", src: edit(base, `quant rms_att, rms_ffn, rms_final`, `quant rms_att, rms_ffn, wq`),
		want: `t.tf:27:25: param "wq" is quantized twice (the first is at line 26)`},
	{name: "per row on a vector", src: edit(base, `rms_final : fixed`, `rms_final : int8 per row`),
		want: `t.tf:27:7: per row needs a matrix, but rms_att is a vector`},
	{name: "fixed on a matrix", src: edit(base, `w3 : int16 per row`, `w3 : fixed`),
		want: `t.tf:26:7: fixed is for vectors, but token_embedding is a matrix`},
	{name: "quantized norm weights", src: edit(base, `rms_final : fixed`, `rms_final : int8 per tensor`),
		want: `t.tf:32:20: rmsnorm: the weights rms_att must be fixed, not int8 per tensor`},
	{name: "vocab too small", src: edit(base, `vocab = 256`, `vocab = 2`),
		want: `t.tf:10:3: vocab 2 is too small: tokens 0, 1 and 2 are <unk>, BOS and EOS`},
	{name: "per layer on a whole tensor", src: edit(base, `rms_final : fixed`, `rms_final : int16 per layer`),
		want: `t.tf:27:25: per layer needs a per-layer param, but rms_final is not per-layer`},

	// Cache.
	{name: "cache context", src: edit(base, `cache kv [layers, context, kv_dim]`, `cache kv [layers, 64, kv_dim]`),
		want: `t.tf:28:19: the cache's second dimension is 64, but context is 128`},
	{name: "cache of 2 dimensions", src: edit(base, `cache kv [layers, context, kv_dim]`, `cache kv [layers, kv_dim]`),
		want: `t.tf:28:10: a cache has the shape [layers, context, width], not 2 dimensions`},

	// Forward.
	{name: "unknown operation", src: edit(base, `v = matmul(wv, h)`, `v = matmull(wv, h)`),
		want: `t.tf:35:9: unknown operation "matmull" (the operations: embed, rmsnorm, layernorm, matmul, rope, store, attention, silu, gelu, gelu_tanh, relu, mul, add, sub, argmax, sample)`},
	{name: "arity", src: edit(base, `v = matmul(wv, h)`, `v = matmul(wv, h, h)`),
		want: `t.tf:35:9: matmul takes 2 arguments, not 3`},
	{name: "argument kind", src: edit(base, `v = matmul(wv, h)`, `v = matmul(h, wv)`),
		want: `t.tf:35:16: matmul: argument 1 must be a param, not the value "h"`},
	{name: "embed of a number", src: edit(base, `embed(token_embedding, token)`, `embed(token_embedding, 3)`),
		want: `t.tf:30:30: embed: argument 2 must be token or pos, not the integer 3`},
	{name: "use before bind", src: edit(base, `h = rmsnorm(x, rms_att)`, `h = rmsnorm(v, rms_att)`),
		want: `t.tf:32:17: v is used before it is bound`},
	{name: "unknown name", src: edit(base, `q = rope(matmul(wq, h), head_dim)`, `q = rope(matmul(wq, hh), head_dim)`),
		want: `t.tf:33:25: unknown name "hh"`},
	{name: "per-layer param outside the layer block", src: edit(base, `x = rmsnorm(x, rms_final)`, `x = rmsnorm(x, rms_ffn)`),
		want: `t.tf:41:18: rms_ffn is a per-layer param: it can only be used inside the layer block`},
	{name: "duplicate layer block", src: edit(base, "  }\n  x = rmsnorm", "  } layer { }\n  x = rmsnorm"),
		want: `t.tf:40:5: duplicate layer block (the first is at line 31)`},
	{name: "no argmax at the end", src: edit(base, `next = argmax(matmul(token_embedding, x))`, `next = matmul(token_embedding, x)`),
		want: `t.tf:42:3: the forward pass must end, after the layer block, with NAME = argmax(…) or NAME = sample(…)`},
	{name: "argmax not last", src: edit(base, `x = rmsnorm(x, rms_final)`, `y = argmax(matmul(token_embedding, x))`),
		want: `t.tf:41:7: argmax can only be the last statement of the forward pass`},
	{name: "unbound result", src: edit(base, `x = rmsnorm(x, rms_final)`, `rmsnorm(x, rms_final)`),
		want: `t.tf:41:3: the result of rmsnorm is not used: bind it, as in NAME = rmsnorm(…)`},
	{name: "bind a param", src: edit(base, `x = rmsnorm(x, rms_final)`, `wq = rmsnorm(x, rms_final)`),
		want: `t.tf:41:3: cannot bind "wq": it is a param`},
	{name: "store outside the layer block", src: edit(base, `x = embed(token_embedding, token)`, `x = embed(token_embedding, token) store(kv, x, x)`),
		want: `t.tf:30:37: store can only be used inside the layer block`},
	{name: "matmul shape", src: edit(base, `v = matmul(wv, h)`, `v = matmul(w2, h)`),
		want: `t.tf:35:9: matmul: w2 has 96 columns, but h has 64 elements`},
	{name: "add of different lengths", src: edit(base, `matmul(wo, attention`, `matmul(w1, attention`),
		want: `t.tf:37:9: add: x has 64 elements, but matmul(…) has 96`},
	{name: "rope length", src: edit(base, `q = rope(matmul(wq, h), head_dim)`, `q = rope(matmul(wq, h), 12)`),
		want: `t.tf:33:9: rope: matmul(…) has 64 elements, not a multiple of the head size 12`},
	{name: "attention head size", src: edit(base, `attention(q, kv, head_dim)`, `attention(q, kv, 12)`),
		want: `t.tf:37:27: attention: q has 64 elements, not a multiple of the head size 12`},
	{name: "cache width", src: edit(base, `cache kv [layers, context, kv_dim]`, `cache kv [layers, context, dim]`),
		want: `t.tf:36:5: store: k has 32 elements, but cache kv has width 64`},
	{name: "attention before store", src: edit(edit(base, `    store(kv, k, v)`, `    x = add(x, matmul(wo, attention(q, kv, head_dim)))`),
		`    x = add(x, matmul(wo, attention(q, kv, head_dim)))
    h = rmsnorm`, `    store(kv, k, v)
    h = rmsnorm`),
		want: `t.tf:36:27: attention reads cache kv before the layer block stores into it`},
	{name: "loop-carried length", src: edit(base, `x = add(x, matmul(w2, mul(silu(matmul(w1, h)), matmul(w3, h))))`, `x = matmul(w1, h)`),
		want: `t.tf:39:5: the layer block reads x with 64 elements but rebinds it with 96 (the block repeats for each layer)`},

	{name: "no layer block", src: edit(edit(base, "  layer {\n", "\n"), "  }\n  x = rmsnorm", "\n  x = rmsnorm"),
		want: `t.tf:29:1: the forward pass has no layer block`},
	{name: "bind token", src: edit(base, `h = rmsnorm(x, rms_ffn)`, `token = rmsnorm(x, rms_ffn)`),
		want: `t.tf:38:5: cannot bind "token": it is predefined`},
	{name: "attention heads", src: edit(base, `attention(q, kv, head_dim)`, `attention(q, kv, 4)`),
		want: `t.tf:37:27: attention: q has 16 heads of 4 elements, but heads is 8`},
	{name: "rmsnorm of a matrix", src: edit(base, `h = rmsnorm(x, rms_ffn)`, `h = rmsnorm(x, w1)`),
		want: `t.tf:38:9: rmsnorm: w1 must be a vector, but it is a matrix`},
	{name: "embed of a vector", src: edit(base, `x = embed(token_embedding, token)`, `x = embed(rms_final, token)`),
		want: `t.tf:30:7: embed: rms_final must be a matrix [vocab, n], but it is a vector`},
	{name: "embed rows", src: edit(edit(base, `param rms_final [dim]`, `param rms_final [dim] param e2 [dim, dim]`), `x = embed(token_embedding, token)`, `x = embed(e2, token)`),
		want: `t.tf:30:7: embed: e2 has 64 rows, but vocab is 256`},
	{name: "per-layer param before the layer block", src: edit(base, `x = embed(token_embedding, token)`, `x = embed(wq, token)`),
		want: `t.tf:30:13: wq is a per-layer param: it can only be used inside the layer block`},
	{name: "argmax length", src: edit(base, `next = argmax(matmul(token_embedding, x))`, `next = argmax(x)`),
		want: `t.tf:42:10: argmax: x has 64 elements, but vocab is 256`},

	// Generate.
	{name: "steps beyond context", src: edit(base, `steps = 64`, `steps = 500`),
		want: `t.tf:46:3: steps 500 is more than context 128`},
	{name: "zero steps", src: edit(base, `steps = 64`, `steps = 0`),
		want: `t.tf:46:3: steps must be positive, not 0`},
	{name: "duplicate steps", src: edit(base, `steps = 64`, `steps = 64 steps = 32`),
		want: `t.tf:46:14: duplicate steps (the first is at line 46)`},
	{name: "top_p out of range", src: edit(base, `sampler greedy`, `sampler temperature 0.8 top_p 1.5`),
		want: `t.tf:47:33: top_p must be in (0, 1], not 1.5`},
	{name: "negative temperature", src: edit(base, `sampler greedy`, `sampler temperature -1`),
		want: `t.tf:47:23: temperature must be at least 0, not -1`},
	{name: "temperature too small", src: edit(base, `sampler greedy`, `sampler temperature 0.00001`),
		want: `t.tf:47:23: temperature 1e-05 is below 3.05e-05, the smallest whose 2^16/temperature fits the sampler's 31 bits (0: greedy)`},
	{name: "sample with a greedy sampler", src: edit(base, `next = argmax(`, `next = sample(`),
		want: `t.tf:42:10: sample needs a temperature sampler, but generate says sampler greedy (line 47)`},
	{name: "sample with the default sampler", src: edit(edit(base, "generate {\n  prompt = \"\"\n  steps = 64\n  sampler greedy\n}\n", ""), `next = argmax(`, `next = sample(`),
		want: `t.tf:42:10: sample needs a temperature sampler, but the sampler is greedy (the default): add sampler temperature T to generate`},
	{name: "zero seed", src: edit(edit(base, `sampler greedy`, `sampler temperature 1 seed 0`), `next = argmax(`, `next = sample(`),
		want: `t.tf:47:11: seed must be positive, not 0`},
	{name: "argmax with a temperature", src: edit(base, `sampler greedy`, `sampler temperature 0.8`),
		want: `t.tf:42:10: argmax ignores the sampler temperature 0.8 (line 47): use sample(…), or sampler greedy`},
}

func TestCheckErrors(t *testing.T) {
	require.GreaterOrEqual(t, len(errorRows), 30, "rows")
	seen := map[string]bool{}
	for _, row := range errorRows {
		require.False(t, seen[row.name], "duplicate row name %q", row.name)
		seen[row.name] = true
		t.Run(row.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range row.files {
				require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
			}
			err := parseAndCheck(row.src, lang.CheckOptions{OpenFiles: row.open, Dir: dir})
			require.Error(t, err, "want %s", row.want)
			assert.Equal(t, row.want, err.Error(), lang.FormatError(err, nil))
			le, ok := err.(*lang.Error)
			require.True(t, ok, "error is a %T, not a *lang.Error", err)
			assert.NotEmpty(t, le.Detail(), "error has no detail")
		})
	}
}

func parseAndCheck(src string, opts lang.CheckOptions) error {
	f, err := parser.Parse("t.tf", []byte(src))
	if err != nil {
		return err
	}
	_, err = lang.Check(f, opts)
	return err
}

// TestBaseIsValid makes sure the table's rows start from a valid model, with
// and without files.
func TestBaseIsValid(t *testing.T) {
	err := parseAndCheck(base, lang.CheckOptions{OpenFiles: true})
	require.NoError(t, err, lang.FormatError(err, nil))
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "model.bin"), checkpointFile(good, 0), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tok.bin"), tokenizerFile(256), 0o644))
	err = parseAndCheck(withCkpt, lang.CheckOptions{OpenFiles: true, Dir: dir})
	require.NoError(t, err, lang.FormatError(err, nil))
}

// TestProgramFields checks the resolved sources, defaults and expressions.
func TestProgramFields(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "model.bin"), checkpointFile(good, 0), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tok.bin"), tokenizerFile(256), 0o644))
	src := edit(withCkpt, "generate {\n  prompt = \"\"\n  steps = 64\n  sampler greedy\n}\n",
		"generate { sampler temperature 0.5 } boot lean\n")
	src = edit(src, `next = argmax(`, `next = sample(`)
	path := filepath.Join(dir, "sub", "..", "t.tf")
	f, err := parser.Parse(path, []byte(src))
	require.NoError(t, err)
	p, err := lang.Check(f, lang.CheckOptions{OpenFiles: true})
	require.NoError(t, err, lang.FormatError(err, nil))

	assert.Equal(t, dir, p.Dir, "dir")
	assert.Equal(t, "model.bin", p.Weights.Checkpoint, "weights: %+v", p.Weights)
	assert.Equal(t, filepath.Join(dir, "model.bin"), p.Weights.Path, "weights: %+v", p.Weights)
	assert.False(t, p.Weights.Random, "weights: %+v", p.Weights)
	assert.Equal(t, 2, p.Weights.Pos.Line, "weights: %+v", p.Weights)

	assert.Equal(t, "tok.bin", p.Tokenizer.Written, "tokenizer: %+v", p.Tokenizer)
	assert.Equal(t, filepath.Join(dir, "tok.bin"), p.Tokenizer.Path, "tokenizer: %+v", p.Tokenizer)
	assert.False(t, p.Tokenizer.Synthetic, "tokenizer: %+v", p.Tokenizer)
	assert.Equal(t, 3, p.Tokenizer.Pos.Line, "tokenizer: %+v", p.Tokenizer)

	assert.Equal(t, "lean", p.Boot, "boot")
	assert.Equal(t, lang.Generate{Steps: 128, Temperature: 0.5, TopP: lang.DefaultTopP, Seed: lang.DefaultSeed}, p.Gen, "generate")

	assert.Equal(t, []int{64, 96, 2, 8, 4, 256, 128}, []int{p.Dim, p.Hidden, p.Layers, p.Heads, p.KVHeads, p.Vocab, p.Context},
		"config: dim, hidden, layers, heads, kv_heads, vocab, context")
	assert.Equal(t, 32, p.Consts["kv_dim"], "config: kv_dim")
	assert.Equal(t, "dim hidden layers heads kv_heads vocab context head_dim kv_dim", strings.Join(p.ConstOrder, " "), "config: ConstOrder")

	require.Len(t, p.Params, 11, "params")
	assert.Equal(t, "rms_att", p.Params[1].Name, "params[1]: %+v", p.Params[1])
	assert.True(t, p.Params[1].PerLayer, "params[1]: %+v", p.Params[1])
	assert.Equal(t, lang.Quant{Type: "fixed"}, p.Params[1].Quant, "params[1]: %+v", p.Params[1])
	assert.False(t, p.Params[0].PerLayer, "params[0]: %+v", p.Params[0])
	assert.Equal(t, lang.Quant{Type: "int16", Per: "row"}, p.Params[0].Quant, "params[0]: %+v", p.Params[0])

	require.Len(t, p.Caches, 1, "caches")
	assert.Equal(t, lang.Cache{Pos: p.Caches[0].Pos, Name: "kv", Layers: 2, Context: 128, Width: 32, Type: "int16"}, *p.Caches[0], "caches")

	require.Equal(t, []int{1, 8, 2}, []int{len(p.Pre), len(p.Layer), len(p.Post)}, "statements: pre, layer, post")
	st := p.Layer[1] // q = rope(matmul(wq, h), head_dim)
	e := st.Call
	assert.Equal(t, "q", st.Target, "q: %s", st)
	assert.Equal(t, 33, st.Pos.Line, "q: %s", st)
	assert.Equal(t, lang.Call, e.Kind, "q: %+v", e)
	assert.Equal(t, "rope", e.Op, "q: %+v", e)
	assert.Equal(t, 64, e.Len, "q: %+v", e)
	assert.Equal(t, 9, e.Pos.Column, "q: %+v", e)
	require.Len(t, e.Args, 2, "q: %+v", e)
	require.Len(t, e.Args[0].Args, 2, "q: %+v", e)
	assert.Equal(t, "matmul", e.Args[0].Op, "q: %+v", e)
	assert.Equal(t, lang.ParamRef, e.Args[0].Args[0].Kind, "q: %+v", e)
	assert.Equal(t, lang.ValueRef, e.Args[0].Args[1].Kind, "q: %+v", e)
	assert.Equal(t, 64, e.Args[0].Args[1].Len, "q: %+v", e)
	assert.Equal(t, lang.Const, e.Args[1].Kind, "q: %+v", e)
	assert.Equal(t, "head_dim", e.Args[1].Name, "q: %+v", e)
	assert.Equal(t, 8, e.Args[1].Int, "q: %+v", e)

	s := p.Layer[4]
	assert.Equal(t, "", s.Target, "store: %s", s)
	assert.Equal(t, "store", s.Call.Op, "store: %s", s)
	require.NotEmpty(t, s.Call.Args, "store: %s", s)
	assert.Equal(t, lang.CacheRef, s.Call.Args[0].Kind, "store: %s", s)
	assert.Equal(t, 0, s.Call.Len, "store: %s", s)

	e = p.Pre[0].Call
	require.Len(t, e.Args, 2, "embed: %s", p.Pre[0])
	assert.Equal(t, lang.Input, e.Args[1].Kind, "embed: %s", p.Pre[0])
	assert.Equal(t, "token", e.Args[1].Name, "embed: %s", p.Pre[0])
	assert.Equal(t, 64, e.Len, "embed: %s", p.Pre[0])
}
