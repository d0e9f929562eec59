package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"tfc/checkpoint"
)

// cmdImport writes a complete .tf file for a checkpoint from its header:
// llama2.c's Llama 2 block, or llm.c's GPT-2 block, with the exact scheme
// (int16 per row weights, fixed norm weights and biases, an int16 cache),
// greedy generation.
func cmdImport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("import", "import model.bin [-z tokenizer.bin] [-o model.tf]")
	tok := fs.String("z", "", "the tokenizer file (llama2.c's, or llm.c's GPT-2 one; default: tokenizer synthetic)")
	out := fs.String("o", "", "the .tf file to write (default: standard output); paths in it are relative to its directory")
	path, err := parseFlags(fs, args, stderr)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	c, err := checkpoint.ReadHeader(f)
	f.Close()
	if err != nil {
		return &exitError{1, fmt.Sprintf("%s: %v", path, err)}
	}
	if *tok != "" {
		if _, err := checkpoint.LoadTokenizer(*tok, c.Vocab); err != nil {
			return &exitError{1, fmt.Sprintf("-z %s: %v", *tok, err)}
		}
	}
	dir := "."
	if *out != "" {
		dir = filepath.Dir(*out)
	}
	// Paths as given on standard output; relative to the .tf file's
	// directory when it is written.
	rel := func(p string) (string, error) {
		if *out == "" {
			return p, nil
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", err
		}
		absDir, err := filepath.Abs(dir)
		if err != nil {
			return "", err
		}
		r, err := filepath.Rel(absDir, abs)
		if err != nil {
			return abs, nil
		}
		return filepath.ToSlash(r), nil
	}
	ckpt, err := rel(path)
	if err != nil {
		return err
	}
	tokPath := ""
	if *tok != "" {
		if tokPath, err = rel(*tok); err != nil {
			return err
		}
	}
	src := importSource(c, modelName(path), filepath.Base(path), ckpt, tokPath)
	if *out == "" {
		_, err = io.WriteString(stdout, src)
		return err
	}
	return os.WriteFile(*out, []byte(src), 0o644)
}

// modelName makes a model name of a file name: stories15M.bin gives
// stories15M.
func modelName(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	var b strings.Builder
	for i, r := range base {
		switch {
		case r < 128 && (unicode.IsLetter(r) || r == '_' || (i > 0 && unicode.IsDigit(r))):
			b.WriteRune(r)
		case i == 0 && r < 128 && unicode.IsDigit(r):
			b.WriteString("m")
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "model"
	}
	return b.String()
}

// importSource is the .tf file of a checkpoint whose header is c.
func importSource(c checkpoint.Config, name, file, ckpt, tok string) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	article := "a"
	if c.Format == checkpoint.GPT2 {
		article = "an"
	}
	w("# %s, imported from %s (%s %s checkpoint) by tfc import.\n", name, file, article, c.Format)
	w("# The exact scheme: int16 weights with a scale per row, fixed norm\n")
	w("# weights and biases, an int16 KV cache with a scale per token and head.\n")
	w("model %s\n\n", name)
	w("weights   checkpoint %q\n", ckpt)
	if tok != "" {
		w("tokenizer %q\n\n", tok)
	} else {
		w("tokenizer synthetic\n\n")
	}
	hidden := fmt.Sprint(c.Hidden)
	if c.Format == checkpoint.GPT2 {
		hidden = "4 * dim"
	}
	w("config {\n  dim      = %d\n  hidden   = %s\n  layers   = %d\n  heads    = %d\n  kv_heads = %d\n  vocab    = %d\n  context  = %d\n  head_dim = dim / heads\n  kv_dim   = kv_heads * head_dim\n}\n\n",
		c.Dim, hidden, c.Layers, c.Heads, c.KVHeads, c.Vocab, c.SeqLen)
	shapes := c.Shapes()
	var matrices, vectors []string
	width := 0
	for _, n := range c.Names() {
		width = max(width, len(n))
	}
	for _, n := range c.Names() {
		dims := importDims(c, n, shapes[n])
		w("param %-*s [%s]\n", width, n, strings.Join(dims, ", "))
		if len(shapes[n]) == 1 || (c.PerLayer(n) && len(shapes[n]) == 2) {
			vectors = append(vectors, n)
		} else {
			matrices = append(matrices, n)
		}
	}
	w("\nquant %s : int16 per row\n", strings.Join(matrices, ", "))
	w("quant %s : fixed\n\n", strings.Join(vectors, ", "))
	w("cache kv [layers, context, kv_dim] : int16 per token_head\n\n")
	if c.Format == checkpoint.GPT2 {
		w(`forward {
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
`)
	} else {
		cls := "token_embedding"
		if !c.Shared {
			cls = "wcls"
		}
		w(`forward {
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
  next = argmax(matmul(%s, x))
}
`, cls)
	}
	w("\ngenerate {\n  steps = %d\n  sampler greedy\n}\n", min(256, c.SeqLen))
	return b.String()
}

// importDims writes a tensor's shape with the config's names.
func importDims(c checkpoint.Config, name string, shape []int) []string {
	names := []struct {
		name string
		v    int
	}{{"vocab", c.Vocab}, {"dim", c.Dim}, {"hidden", c.Hidden}, {"kv_dim", c.KVDim()}, {"context", c.SeqLen}}
	var dims []string
	for i, d := range shape {
		s := fmt.Sprint(d)
		switch {
		case i == 0 && c.PerLayer(name):
			s = "layers"
		case i == 0 && name == "wpe":
			s = "context"
		default:
			for _, n := range names {
				if n.v == d {
					s = n.name
					break
				}
			}
		}
		dims = append(dims, s)
	}
	return dims
}
