package ir

import (
	"fmt"
	"io"

	"tfc/op"
)

// A pass is one named step of compilation. Analyses only check or annotate
// (names start with "check_" or "infer_"); transforms change the program.
type pass struct {
	name string
	fn   func(*Program) error
	desc string
}

// passes is the ordered table that Compile runs, as Go's ssa/compile.go does;
// the verifier runs after each one.
var passes = []pass{
	{"infer_shapes", inferShapes, "analysis: every op's operand lengths agree; sets cache head sizes"},
	{"fuse_matmuls", fuseMatmuls, "transform: matmuls of one input become one matmul over concatenated rows"},
	{"quantize", quantize, "transform: the integers and scales the image stores"},
	{"build_tables", buildTables, "transform: exp, gate and RoPE tables"},
}

// PassNames lists the passes in order (for `tfc -d PASS`).
func PassNames() []string {
	var n []string
	for _, p := range passes {
		n = append(n, p.name)
	}
	return n
}

// Options controls Compile.
type Options struct {
	// Dump names a pass ("lower" for the IR as lowered) after which the IR is
	// printed to DumpTo.
	Dump   string
	DumpTo io.Writer
	// SkipQuantize stops before quantization: enough for the float simulator.
	SkipQuantize bool
	// ShapesOnly (tfc check): random weights are not drawn, and their
	// params quantize to zeros of the right shapes. Nothing a build checks
	// depends on random values (they are finite and quantize), so every
	// check runs; the simulator cannot.
	ShapesOnly bool
}

// Compile runs the passes over a lowered program.
func Compile(p *Program, o Options) error {
	if o.Dump != "" && o.Dump != "lower" && !knownPass(o.Dump) {
		return fmt.Errorf("-d %s: no such pass (passes: lower %v)", o.Dump, PassNames())
	}
	if o.Dump == "lower" {
		Print(o.DumpTo, p)
	}
	if err := Verify(p); err != nil {
		panic("BUG: after lower: " + err.Error())
	}
	for _, ps := range passes {
		if o.SkipQuantize && ps.name == "quantize" {
			break
		}
		if err := ps.fn(p); err != nil {
			return err
		}
		if err := Verify(p); err != nil {
			panic(fmt.Sprintf("BUG: after %s: %v", ps.name, err))
		}
		if o.Dump == ps.name {
			fmt.Fprintf(o.DumpTo, "# after %s\n", ps.name)
			Print(o.DumpTo, p)
		}
	}
	return nil
}

func knownPass(name string) bool {
	for _, p := range passes {
		if p.name == name {
			return true
		}
	}
	return false
}

// Verify checks the IR's invariants: every op has the operands its row of
// the op table says and they are in the program, views inside their
// parents, per-layer params only in the layer block, a token-choosing op
// last.
func Verify(p *Program) error {
	vars := map[*Var]bool{}
	for _, v := range p.Vars {
		vars[v] = true
		if v.Parent != nil && (v.Offset < 0 || v.Offset+v.Len > v.Parent.Len) {
			return fmt.Errorf("view %s [%d:%d] outside %s (%d)", v.Name, v.Offset, v.Offset+v.Len, v.Parent.Name, v.Parent.Len)
		}
	}
	params := map[*Param]bool{}
	for _, q := range p.Params {
		params[q] = true
		if q.Q != nil && q.Q.W != nil && len(q.Q.W) != q.Layers*q.Rows*q.Cols {
			return fmt.Errorf("param %s: %d quantized weights, want %d", q.Name, len(q.Q.W), q.Layers*q.Rows*q.Cols)
		}
	}
	var err error
	p.Ops(func(b int, o *Op) {
		if err == nil {
			err = verifyOp(b, o, vars, params, p.TablesBuilt)
		}
	})
	if err != nil {
		return err
	}
	post := p.Blocks[PostBlock]
	if len(post) == 0 || !post[len(post)-1].Row().Ends {
		return fmt.Errorf("the last op does not choose the next token")
	}
	return nil
}

// verifyOp checks that o has the operands its row of the op table says,
// all of them in the program, and, once the tables are built, its table.
func verifyOp(b int, o *Op, vars map[*Var]bool, params map[*Param]bool, tablesBuilt bool) error {
	r := o.Row()
	if r == nil {
		return fmt.Errorf("%v %q: not in the op table", o.Kind, o.Func)
	}
	vectors, nparams, hasCache := 0, 0, false
	for _, k := range r.Args {
		switch k {
		case op.Vector:
			vectors++
		case op.Param:
			nparams++
		case op.Cache:
			hasCache = true
		}
	}
	switch {
	case len(o.Args) != vectors:
		return fmt.Errorf("%s: %d vector operands, want %d", r.Name, len(o.Args), vectors)
	case o.Kind == MatMul && len(o.Params) == 0, o.Kind != MatMul && len(o.Params) != nparams:
		return fmt.Errorf("%s: %d params", r.Name, len(o.Params))
	case len(r.Opts) != len(o.Opts):
		return fmt.Errorf("%s: %d options, want %d", r.Name, len(o.Opts), len(r.Opts))
	case hasCache != (o.Cache != nil):
		return fmt.Errorf("%s: a cache where there should be none, or none where there should be one", r.Name)
	case r.Vector() != (o.Dst != nil):
		return fmt.Errorf("%s: a destination where there should be none, or none where there should be one", r.Name)
	case o.Kind == MatMul && len(o.Parts) != len(o.Params):
		return fmt.Errorf("matmul: %d parts for %d params", len(o.Parts), len(o.Params))
	case tablesBuilt && r.Table != op.NoTable && o.Table == nil:
		return fmt.Errorf("%s: no table after build_tables", r.Name)
	case r.Ends && b != PostBlock:
		return fmt.Errorf("%s: chooses the next token outside the post block", r.Name)
	}
	if o.Dst != nil && !vars[o.Dst] {
		return fmt.Errorf("%s: dst %s not in program", o.Kind, o.Dst.Name)
	}
	for _, a := range o.Args {
		if !vars[a] {
			return fmt.Errorf("%s: arg %s not in program", o.Kind, a.Name)
		}
	}
	for _, q := range o.Params {
		if !params[q] {
			return fmt.Errorf("%s: param %s not in program", o.Kind, q.Name)
		} else if q.PerLayer && b != LayerBlock {
			return fmt.Errorf("%s: per-layer param %s outside the layer block", o.Kind, q.Name)
		}
	}
	return nil
}
