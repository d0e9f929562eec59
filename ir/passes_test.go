package ir_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
			if err != nil {
				t.Fatal(err)
			}
			lp, err := lang.Check(f, lang.CheckOptions{OpenFiles: true})
			if err != nil {
				t.Fatal(err)
			}
			p, err := ir.Load(lp)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := ir.Compile(p, ir.Options{Dump: pass, DumpTo: &out}); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", name+"."+pass+".ir")
			if *update {
				os.MkdirAll("testdata", 0o755)
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test ./ir -update writes it)", err)
			}
			if out.String() != string(want) {
				t.Errorf("%s after %s:\n%s\nwant:\n%s", name, pass, out.String(), want)
			}
		}
	}
}

func TestUnknownPass(t *testing.T) {
	p := &ir.Program{}
	err := ir.Compile(p, ir.Options{Dump: "nosuch"})
	if err == nil || !strings.Contains(err.Error(), "no such pass") {
		t.Fatalf("err = %v", err)
	}
}

func TestVerifyRejectsBrokenIR(t *testing.T) {
	x := &ir.Var{Name: "x", Len: 4}
	stray := &ir.Var{Name: "stray", Len: 4}
	ok := &ir.Program{Vars: []*ir.Var{x}}
	ok.Blocks[ir.PostBlock] = []*ir.Op{{Kind: ir.Argmax, Args: []*ir.Var{x}}}
	if err := ir.Verify(ok); err != nil {
		t.Fatalf("valid program: %v", err)
	}
	for name, p := range map[string]*ir.Program{
		"unknown var": func() *ir.Program {
			p := &ir.Program{Vars: []*ir.Var{x}}
			p.Blocks[ir.PostBlock] = []*ir.Op{{Kind: ir.Add, Dst: x, Args: []*ir.Var{x, stray}}, {Kind: ir.Argmax, Args: []*ir.Var{x}}}
			return p
		}(),
		"no token chosen":     {Vars: []*ir.Var{x}},
		"view outside parent": {Vars: []*ir.Var{x, {Name: "v", Len: 4, Parent: x, Offset: 2}}},
	} {
		if err := ir.Verify(p); err == nil {
			t.Errorf("%s: Verify passed", name)
		}
	}
}

// ShapesOnly leaves random weights undrawn and quantizes them to zeros of
// the right shapes, which the layouts read as they read real ones.
func TestShapesOnly(t *testing.T) {
	f, err := parser.ParseFile("../examples/gelu-random.tf")
	if err != nil {
		t.Fatal(err)
	}
	lp, err := lang.Check(f, lang.CheckOptions{OpenFiles: true})
	if err != nil {
		t.Fatal(err)
	}
	p, err := ir.LoadWith(lp, ir.Options{ShapesOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := ir.Compile(p, ir.Options{ShapesOnly: true}); err != nil {
		t.Fatal(err)
	}
	for _, q := range p.Params {
		if q.F != nil || q.Q == nil || q.Q.W != nil {
			t.Fatalf("param %s: weights drawn or not quantized", q.Name)
		}
		if w := q.Slice(q.Layers - 1); len(w) != q.Rows*q.Cols {
			t.Errorf("param %s: a slice of %d weights, want %d", q.Name, len(w), q.Rows*q.Cols)
		}
	}
}
