package ir_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/ir"
	"tfc/lang"
	"tfc/parser"
)

var update = flag.Bool("update", false, "rewrite testdata/*.ir")

// The IR after every pass, for the random-weight examples, against golden
// files under testdata/ (go test ./ir -update rewrites them).
func TestPassDumps(t *testing.T) {
	for _, name := range []string{"mha-random", "gelu-random", "untied-random", "mlp-random"} {
		for _, pass := range append([]string{"lower"}, ir.PassNames()...) {
			f, err := parser.ParseFile("../examples/" + name + ".tf")
			require.NoError(t, err)
			lp, err := lang.Check(f, lang.CheckOptions{OpenFiles: true})
			require.NoError(t, err)
			p, err := ir.Load(lp)
			require.NoError(t, err)
			var out bytes.Buffer
			require.NoError(t, ir.Compile(p, ir.Options{Dump: pass, DumpTo: &out}))
			golden := filepath.Join("testdata", name+"."+pass+".ir")
			if *update {
				require.NoError(t, os.MkdirAll("testdata", 0o755))
				require.NoError(t, os.WriteFile(golden, out.Bytes(), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "go test ./ir -update writes it")
			assert.Equal(t, string(want), out.String(), "%s after %s", name, pass)
		}
	}
}

func TestUnknownPass(t *testing.T) {
	p := &ir.Program{}
	err := ir.Compile(p, ir.Options{Dump: "nosuch"})
	assert.ErrorContains(t, err, "no such pass")
}

func TestVerifyRejectsBrokenIR(t *testing.T) {
	x := &ir.Var{Name: "x", Len: 4}
	stray := &ir.Var{Name: "stray", Len: 4}
	ok := &ir.Program{Vars: []*ir.Var{x}}
	ok.Blocks[ir.PostBlock] = []*ir.Op{{Kind: ir.Argmax, Args: []*ir.Var{x}}}
	require.NoError(t, ir.Verify(ok), "valid program")
	for name, p := range map[string]*ir.Program{
		"unknown var": func() *ir.Program {
			p := &ir.Program{Vars: []*ir.Var{x}}
			p.Blocks[ir.PostBlock] = []*ir.Op{{Kind: ir.Add, Dst: x, Args: []*ir.Var{x, stray}}, {Kind: ir.Argmax, Args: []*ir.Var{x}}}
			return p
		}(),
		"no token chosen":     {Vars: []*ir.Var{x}},
		"view outside parent": {Vars: []*ir.Var{x, {Name: "v", Len: 4, Parent: x, Offset: 2}}},
	} {
		assert.Error(t, ir.Verify(p), "%s: Verify passed", name)
	}
}

// ShapesOnly leaves random weights undrawn and quantizes them to zeros of
// the right shapes, which the layouts read as they read real ones.
func TestShapesOnly(t *testing.T) {
	f, err := parser.ParseFile("../examples/gelu-random.tf")
	require.NoError(t, err)
	lp, err := lang.Check(f, lang.CheckOptions{OpenFiles: true})
	require.NoError(t, err)
	p, err := ir.LoadWith(lp, ir.Options{ShapesOnly: true})
	require.NoError(t, err)
	require.NoError(t, ir.Compile(p, ir.Options{ShapesOnly: true}))
	for _, q := range p.Params {
		require.Nil(t, q.F, "param %s: weights drawn", q.Name)
		require.NotNil(t, q.Q, "param %s: not quantized", q.Name)
		require.Nil(t, q.Q.W, "param %s: weights drawn", q.Name)
		assert.Equal(t, q.Rows*q.Cols, len(q.Slice(q.Layers-1)), "param %s: weights in a slice", q.Name)
	}
}
