package parser

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"tfc/lang"
)

// FuzzParse parses and checks (without opening files) arbitrary input: it
// must never panic, and every error must be a *lang.Error at a position in
// the file.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../examples/*.tf")
	more, _ := filepath.Glob("../lang/testdata/*.tf")
	for _, path := range append(files, more...) {
		if src, err := os.ReadFile(path); err == nil {
			f.Add(src)
		}
	}
	for _, s := range []string{
		"", "model m", "config { dim = 64 / (heads - 8) }", "forward { layer { } layer { } }",
		`generate { prompt = "\u00e9\x00" sampler temperature -0.5 top_p 1 seed 0 }`,
		"quant a, b : int8 per row\ncache kv [layers, context, 8] : int16 per token_head",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		file, err := Parse("t.tf", src)
		if err != nil {
			checkError(t, err, src)
			return
		}
		p, err := lang.Check(file, lang.CheckOptions{})
		if err != nil {
			checkError(t, err, src)
			return
		}
		_ = p.String()
		if len(p.Post) == 0 {
			t.Fatalf("checked program without a final statement")
		}
		switch op := p.Post[len(p.Post)-1].Call.Op; op {
		case "argmax", "sample":
		default:
			t.Fatalf("checked program ends with %s", op)
		}
		for _, blk := range [][]*lang.Stmt{p.Pre, p.Layer, p.Post} {
			for _, s := range blk {
				checkExpr(t, s.Call)
			}
		}
	})
}

func checkError(t *testing.T, err error, src []byte) {
	var le *lang.Error
	if !errors.As(err, &le) {
		t.Fatalf("error %v is a %T, not a *lang.Error", err, err)
	}
	if le.Pos.Filename != "t.tf" || le.Pos.Line < 1 || le.Pos.Column < 1 {
		t.Fatalf("error %q at a bad position %+v", err, le.Pos)
	}
	if le.Msg == "" {
		t.Fatalf("error without a message at %v", le.Pos)
	}
	_ = lang.FormatError(err, src)
}

// checkExpr checks that every vector a checked call produces has a length.
func checkExpr(t *testing.T, e *lang.Expr) {
	if e.Kind != lang.Call {
		return
	}
	switch e.Op {
	case "store", "argmax", "sample":
	default:
		if e.Len <= 0 {
			t.Fatalf("%s has length %d", e, e.Len)
		}
	}
	for _, a := range e.Args {
		checkExpr(t, a)
	}
}
