package ir

import (
	"fmt"
	"io"
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

// Verify checks the IR's invariants: operands present and in the program,
// views inside their parents, per-layer params only in the layer block, a
// token-choosing op last.
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
		if q.Q != nil && len(q.Q.W) != q.Layers*q.Rows*q.Cols {
			return fmt.Errorf("param %s: %d quantized weights, want %d", q.Name, len(q.Q.W), q.Layers*q.Rows*q.Cols)
		}
	}
	var err error
	p.Ops(func(b int, op *Op) {
		if err != nil {
			return
		}
		if op.Dst != nil && !vars[op.Dst] {
			err = fmt.Errorf("%s: dst %s not in program", op.Kind, op.Dst.Name)
		}
		for _, a := range op.Args {
			if !vars[a] {
				err = fmt.Errorf("%s: arg %s not in program", op.Kind, a.Name)
			}
		}
		for _, q := range op.Params {
			if !params[q] {
				err = fmt.Errorf("%s: param %s not in program", op.Kind, q.Name)
			} else if q.PerLayer && b != LayerBlock {
				err = fmt.Errorf("%s: per-layer param %s outside the layer block", op.Kind, q.Name)
			}
		}
		if op.Kind == MatMul && len(op.Parts) != len(op.Params) {
			err = fmt.Errorf("matmul: %d parts for %d params", len(op.Parts), len(op.Params))
		}
		if (op.Kind == RoPE || op.Kind == Attention || op.Kind == Gate) && p.TablesBuilt && op.Table == nil {
			err = fmt.Errorf("%s: no table after build_tables", op.Kind)
		}
	})
	if err != nil {
		return err
	}
	post := p.Blocks[PostBlock]
	if len(post) == 0 || (post[len(post)-1].Kind != Argmax && post[len(post)-1].Kind != Sample) {
		return fmt.Errorf("the last op does not choose the next token")
	}
	return nil
}
