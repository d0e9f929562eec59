package parser

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/lang"
)

func TestParseExamples(t *testing.T) {
	files, _ := filepath.Glob("../examples/*.tf")
	more, _ := filepath.Glob("../lang/testdata/*.tf")
	files = append(files, more...)
	require.NotEmpty(t, files, "no examples")
	for _, path := range files {
		f, err := ParseFile(path)
		if !assert.NoError(t, err, lang.FormatError(err, nil)) {
			continue
		}
		assert.Equal(t, path, f.Filename, "Filename")
		assert.NotEmpty(t, f.Source, "%s: source", path)
		assert.NotEmpty(t, f.Decls, "%s: declarations", path)
	}
}

func TestParseTree(t *testing.T) {
	src := `model m
weights checkpoint "a\tb.bin"
tokenizer synthetic
config { dim = 2 * (3 + 4) - 6 / 2 }
param w [layers, dim]
quant w, v : int8 per layer
cache kv [layers, context, 8] : int16 per token_head
forward {
  x = embed(w, token)
  layer { store(kv, x, x) }
  y = argmax(f(g(x), 3))
}
generate { sampler temperature 0.5 top_p 1 seed 7 prompt = "hi" steps = 3 }
`
	f, err := Parse("t.tf", []byte(src))
	require.NoError(t, err, lang.FormatError(err, nil))
	d := f.Decls
	require.Len(t, d, 9, "declarations")

	require.NotNil(t, d[0].Model, "model")
	assert.Equal(t, "m", d[0].Model.Name, "model")
	require.NotNil(t, d[1].Weights, "weights")
	require.NotNil(t, d[1].Weights.Checkpoint, "weights: %+v", d[1].Weights)
	assert.Equal(t, "a\tb.bin", string(*d[1].Weights.Checkpoint), "weights")
	require.NotNil(t, d[2].Tokenizer, "tokenizer")
	assert.True(t, d[2].Tokenizer.Synthetic, "tokenizer: %+v", d[2].Tokenizer)

	require.NotNil(t, d[3].Config, "config")
	require.NotEmpty(t, d[3].Config.Consts, "config")
	c := d[3].Config.Consts[0]
	assert.Equal(t, "dim", c.Name, "config: %+v", c)
	assert.Equal(t, 4, c.Pos.Line, "config: %+v", c)
	assert.Equal(t, 10, c.Pos.Column, "config: %+v", c)
	if assert.Len(t, c.Value.Rest, 1, "config: %+v", c) {
		assert.Equal(t, "-", c.Value.Rest[0].Op, "config: %+v", c)
	}
	if assert.Len(t, c.Value.First.Rest, 1, "config: %+v", c) {
		assert.NotNil(t, c.Value.First.Rest[0].Atom.Sub, "config: %+v", c)
	}

	require.NotNil(t, d[5].Quant, "quant")
	q := d[5].Quant
	assert.Equal(t, "int8", q.Type.Type, "quant: %+v", q)
	assert.Equal(t, "layer", q.Type.Per, "quant: %+v", q)
	if assert.Len(t, q.Names, 2, "quant: %+v", q) {
		assert.Equal(t, "v", q.Names[1].Name, "quant: %+v", q)
		assert.Equal(t, 10, q.Names[1].Pos.Column, "quant: %+v", q)
	}

	require.NotNil(t, d[6].Cache, "cache")
	k := d[6].Cache
	assert.Equal(t, "kv", k.Name, "cache: %+v", k)
	assert.Equal(t, "int16", k.Type, "cache: %+v", k)
	assert.Len(t, k.Shape.Dims, 3, "cache: %+v", k)

	require.NotNil(t, d[7].Forward, "forward")
	fw := d[7].Forward
	require.Len(t, fw.Items, 3, "forward: %+v", fw)
	require.NotNil(t, fw.Items[1].Layer, "forward: %+v", fw)
	require.NotEmpty(t, fw.Items[1].Layer.Stmts, "forward: %+v", fw)
	require.Equal(t, "", fw.Items[1].Layer.Stmts[0].Target, "forward: %+v", fw)

	last := fw.Items[2].Stmt
	require.NotNil(t, last, "last statement")
	assert.Equal(t, "y", last.Target, "last statement: %+v", last)
	assert.Equal(t, "argmax", last.Call.Op, "last statement: %+v", last)
	require.NotEmpty(t, last.Call.Args, "last statement: %+v", last)
	fc := last.Call.Args[0].Call
	require.NotNil(t, fc, "last statement: %+v", last)
	assert.Equal(t, "f", fc.Op, "last statement: %+v", last)
	require.Len(t, fc.Args, 2, "last statement: %+v", last)
	require.NotNil(t, fc.Args[1].Lit, "last statement: %+v", last)
	require.NotNil(t, fc.Args[1].Lit.Int, "last statement: %+v", last)
	assert.Equal(t, lang.Int(3), *fc.Args[1].Lit.Int, "last statement: %+v", last)
	require.NotNil(t, fc.Args[0].Call, "last statement: %+v", last)
	require.NotEmpty(t, fc.Args[0].Call.Args, "last statement: %+v", last)
	assert.Equal(t, "x", fc.Args[0].Call.Args[0].Name, "last statement: %+v", last)

	require.NotNil(t, d[8].Generate, "generate")
	g := d[8].Generate.Items
	require.Len(t, g, 3, "generate: %+v", g)
	require.NotNil(t, g[0].Sampler, "generate: %+v", g)
	require.NotNil(t, g[0].Sampler.Temperature, "generate: %+v", g[0].Sampler)
	require.NotNil(t, g[0].Sampler.TopP, "generate: %+v", g[0].Sampler)
	require.NotNil(t, g[0].Sampler.Seed, "generate: %+v", g[0].Sampler)
	assert.Equal(t, lang.Float(0.5), g[0].Sampler.Temperature.Value, "generate: temperature")
	assert.Equal(t, lang.Float(1), g[0].Sampler.TopP.Value, "generate: top_p")
	assert.Equal(t, lang.Int(7), *g[0].Sampler.Seed, "generate: seed")
	require.NotNil(t, g[1].Prompt, "generate: %+v", g[1])
	assert.Equal(t, "hi", string(*g[1].Prompt), "generate: prompt")
	require.NotNil(t, g[2].Steps, "generate: %+v", g[2])
	assert.Equal(t, lang.Int(3), *g[2].Steps, "generate: steps")
}

func TestFormatError(t *testing.T) {
	src := "model m\n\tweights checkpoint {\n"
	_, err := Parse("x.tf", []byte(src))
	require.Error(t, err)
	want := "x.tf:2:21: unexpected \"{\" (expected a string after \"checkpoint\")\n" +
		"\tweights checkpoint {\n" +
		"\t                   ^"
	assert.Equal(t, want, lang.FormatError(err, nil))
	assert.Equal(t, want, lang.FormatError(err, []byte(src)), "with src")
	var le *lang.Error
	if assert.ErrorAs(t, err, &le) {
		assert.Equal(t, "\tweights checkpoint {\n\t                   ^", le.Detail(), "Detail")
	}
	assert.Equal(t, "plain", lang.FormatError(errors.New("plain"), nil), "plain error")
}

// TestSyntaxErrors covers messages the check table (lang) does not.
func TestSyntaxErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"model", `t.tf:1:6: unexpected end of file (expected a name after "model")`},
		{"model \"x\"", `t.tf:1:7: unexpected string "x" (expected a name after "model")`},
		{"model \xff", `t.tf:1:7: invalid byte 0xff`},
		{"model é", `t.tf:1:7: unexpected character 'é'`},
		{"tokenizer 5", `t.tf:1:11: unexpected "5" (expected a string or "synthetic" after "tokenizer")`},
		{"config { dim = 5 + }", `t.tf:1:20: unexpected "}" (expected a dimension after "+")`},
		{"config { dim = (5 }", `t.tf:1:19: unexpected "}" (expected ")" after "5")`},
		{"param x [1,]", `t.tf:1:12: unexpected "]" (expected a dimension after ",")`},
		{"param x (1)", `t.tf:1:9: unexpected "(" (expected a shape such as "[dim, dim]" after "x")`},
		{"quant : fixed", `t.tf:1:7: unexpected ":" (expected a param name after "quant")`},
		{"quant a fixed", `t.tf:1:9: unexpected "fixed" (expected ":" after "a")`},
		{"quant a : int9", `t.tf:1:11: unexpected "int9" (expected "fixed", "int8" or "int16" after ":")`},
		{"forward { 5 }", `t.tf:1:11: unexpected "5" (expected a statement, "layer" or "}" after "{")`},
		{"forward { layer { layer { } } }", `t.tf:1:25: unexpected "{" (expected "(" after "layer")`},
		{"forward { x = f(a, }", `t.tf:1:20: unexpected "}" (expected an argument after ",")`},
		{"forward { x = f(a, eps = }", `t.tf:1:26: unexpected "}" (expected a number after "=")`},
		{"forward { x = f(a, eps = -) }", `t.tf:1:27: unexpected ")" (expected a number after "-")`},
		{"forward { x = f(a) } }", `t.tf:1:22: unexpected "}" (expected a declaration: model, weights, tokenizer, config, param, quant, cache, forward or generate)`},
		{"generate { foo = 1 }", `t.tf:1:12: unexpected "foo" (expected "prompt", "steps", "sampler" or "}" after "{")`},
		{"generate { sampler foo }", `t.tf:1:20: unexpected "foo" (expected "greedy" or "temperature" after "sampler")`},
		{"generate { sampler temperature x }", `t.tf:1:32: unexpected "x" (expected a number after "temperature")`},
		{`generate { prompt = "a\qb" }`, `t.tf:1:21: invalid escape in string "a\qb"`},
		{"generate { prompt = \"a\nb\" }", `t.tf:1:21: unterminated string`},
		{"# only a comment", ``},
	} {
		_, err := Parse("t.tf", []byte(tc.src))
		got := ""
		if err != nil {
			got = err.Error()
		}
		assert.Equal(t, tc.want, got, "%q", tc.src)
	}
}

func TestParseFileMissing(t *testing.T) {
	_, err := ParseFile(filepath.Join(t.TempDir(), "none.tf"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// TestNoPanic feeds inputs that have broken parsers before.
func TestNoPanic(t *testing.T) {
	for _, src := range []string{
		"", "\x00", "{", "}", "(((", "forward {", "forward { layer {", "forward { x = f(",
		strings.Repeat("(", 100000), strings.Repeat("[", 1000), "config { a = " + strings.Repeat("1+", 10000) + "1 }",
		"generate { sampler temperature -", "generate { sampler temperature 1e5 }", "weights random seed 99999999999999999999",
		"\"", "\"\\", "//", "#", "model m // x\n#y",
	} {
		f, err := Parse("t.tf", []byte(src))
		if err == nil {
			lang.Check(f, lang.CheckOptions{})
		} else {
			lang.FormatError(err, nil)
		}
	}
}
