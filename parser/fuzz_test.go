package parser

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

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
		require.NotEmpty(t, p.Post, "checked program without a final statement")
		require.Contains(t, []string{"argmax", "sample"}, p.Post[len(p.Post)-1].Call.Op, "checked program's last op")
		for _, blk := range [][]*lang.Stmt{p.Pre, p.Layer, p.Post} {
			for _, s := range blk {
				checkExpr(t, s.Call)
			}
		}
	})
}

func checkError(t *testing.T, err error, src []byte) {
	t.Helper()
	var le *lang.Error
	require.ErrorAs(t, err, &le, "error is a %T, not a *lang.Error", err)
	require.Equal(t, "t.tf", le.Pos.Filename, "error %q at a bad position %+v", err, le.Pos)
	require.GreaterOrEqual(t, le.Pos.Line, 1, "error %q at a bad position %+v", err, le.Pos)
	require.GreaterOrEqual(t, le.Pos.Column, 1, "error %q at a bad position %+v", err, le.Pos)
	require.NotEmpty(t, le.Msg, "error without a message at %v", le.Pos)
	_ = lang.FormatError(err, src)
}

// checkExpr checks that every vector a checked call produces has a length.
func checkExpr(t *testing.T, e *lang.Expr) {
	t.Helper()
	if e.Kind != lang.Call {
		return
	}
	switch e.Op {
	case "store", "argmax", "sample":
	default:
		require.Positive(t, e.Len, "%s has length %d", e, e.Len)
	}
	for _, a := range e.Args {
		checkExpr(t, a)
	}
}
