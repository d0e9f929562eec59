package parser

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tfc/lang"
)

func TestParseExamples(t *testing.T) {
	files, _ := filepath.Glob("../examples/*.tf")
	more, _ := filepath.Glob("../lang/testdata/*.tf")
	files = append(files, more...)
	if len(files) == 0 {
		t.Fatal("no examples")
	}
	for _, path := range files {
		f, err := ParseFile(path)
		if err != nil {
			t.Errorf("%s", lang.FormatError(err, nil))
			continue
		}
		if f.Filename != path || len(f.Source) == 0 || len(f.Decls) == 0 {
			t.Errorf("%s: Filename %q, %d bytes, %d declarations", path, f.Filename, len(f.Source), len(f.Decls))
		}
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
	if err != nil {
		t.Fatal(lang.FormatError(err, nil))
	}
	d := f.Decls
	if len(d) != 9 {
		t.Fatalf("%d declarations", len(d))
	}
	if d[0].Model.Name != "m" || string(*d[1].Weights.Checkpoint) != "a\tb.bin" || !d[2].Tokenizer.Synthetic {
		t.Errorf("model/weights/tokenizer: %+v %+v %+v", d[0].Model, d[1].Weights, d[2].Tokenizer)
	}
	c := d[3].Config.Consts[0]
	if c.Name != "dim" || len(c.Value.Rest) != 1 || c.Value.Rest[0].Op != "-" || len(c.Value.First.Rest) != 1 ||
		c.Value.First.Rest[0].Atom.Sub == nil || c.Pos.Line != 4 || c.Pos.Column != 10 {
		t.Errorf("config: %+v", c)
	}
	if q := d[5].Quant; len(q.Names) != 2 || q.Names[1].Name != "v" || q.Type.Type != "int8" || q.Type.Per != "layer" || q.Names[1].Pos.Column != 10 {
		t.Errorf("quant: %+v", q)
	}
	if k := d[6].Cache; k.Name != "kv" || k.Type != "int16" || len(k.Shape.Dims) != 3 {
		t.Errorf("cache: %+v", k)
	}
	fw := d[7].Forward
	if len(fw.Items) != 3 || fw.Items[1].Layer == nil || fw.Items[1].Layer.Stmts[0].Target != "" {
		t.Fatalf("forward: %+v", fw)
	}
	last := fw.Items[2].Stmt
	if last.Target != "y" || last.Call.Op != "argmax" || last.Call.Args[0].Call.Op != "f" ||
		*last.Call.Args[0].Call.Args[1].Lit.Int != 3 || last.Call.Args[0].Call.Args[0].Call.Args[0].Name != "x" {
		t.Errorf("last statement: %+v", last)
	}
	g := d[8].Generate.Items
	if len(g) != 3 || g[0].Sampler.Temperature.Value != 0.5 || g[0].Sampler.TopP.Value != 1 || *g[0].Sampler.Seed != 7 ||
		string(*g[1].Prompt) != "hi" || *g[2].Steps != 3 {
		t.Errorf("generate: %+v", g)
	}
}

func TestFormatError(t *testing.T) {
	src := "model m\n\tweights checkpoint {\n"
	_, err := Parse("x.tf", []byte(src))
	if err == nil {
		t.Fatal("no error")
	}
	want := "x.tf:2:21: unexpected \"{\" (expected a string after \"checkpoint\")\n" +
		"\tweights checkpoint {\n" +
		"\t                   ^"
	if got := lang.FormatError(err, nil); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := lang.FormatError(err, []byte(src)); got != want {
		t.Errorf("with src: got\n%s\nwant\n%s", got, want)
	}
	var le *lang.Error
	if !errors.As(err, &le) || le.Detail() != "\tweights checkpoint {\n\t                   ^" {
		t.Errorf("Detail: %q", le.Detail())
	}
	if got := lang.FormatError(errors.New("plain"), nil); got != "plain" {
		t.Errorf("plain error: %q", got)
	}
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
		if got != tc.want {
			t.Errorf("%q:\ngot  %s\nwant %s", tc.src, got, tc.want)
		}
	}
}

func TestParseFileMissing(t *testing.T) {
	_, err := ParseFile(filepath.Join(t.TempDir(), "none.tf"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v", err)
	}
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
