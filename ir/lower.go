package ir

import (
	"fmt"

	"tfc/lang"
	"tfc/op"
)

// lowerer turns checked statements into ops over vars. A name is a buffer:
// rebinding it with the same length writes the same memory, which is what
// makes the layer block's loop carry x from one layer to the next.
type lowerer struct {
	p     *Program
	lp    *lang.Program
	env   map[string]*Var
	temps int
	block int
}

// Lower builds the IR of a checked program; weights are attached by Load.
func Lower(lp *lang.Program) (*Program, error) {
	p := &Program{Name: lp.Name, Pos: lp.Pos, Dim: lp.Dim, Hidden: lp.Hidden, Layers: lp.Layers, Heads: lp.Heads,
		KVHeads: lp.KVHeads, Vocab: lp.Vocab, Context: lp.Context, Gen: lp.Gen, Boot: lp.Boot}
	for _, lpar := range lp.Params {
		q := &Param{Name: lpar.Name, PerLayer: lpar.PerLayer, Layers: 1, Quant: Quant{Type: lpar.Quant.Type, Per: lpar.Quant.Per}, Pos: lpar.Pos}
		dims := lpar.Shape
		if lpar.PerLayer {
			q.Layers, dims = dims[0], dims[1:]
		}
		switch len(dims) {
		case 1:
			q.Rows, q.Cols, q.Vector = 1, dims[0], true
		case 2:
			q.Rows, q.Cols = dims[0], dims[1]
		default:
			return nil, lang.Errorf(lpar.Pos, "param %s: a tensor has one or two dimensions per layer, not %d", lpar.Name, len(dims))
		}
		p.Params = append(p.Params, q)
	}
	for _, lc := range lp.Caches {
		bits := 16
		if lc.Type == "int8" {
			bits = 8
		}
		p.Caches = append(p.Caches, &Cache{Name: lc.Name, Layers: lc.Layers, Context: lc.Context, Width: lc.Width, Bits: bits, Pos: lc.Pos})
	}
	lw := &lowerer{p: p, lp: lp, env: map[string]*Var{}}
	for b, stmts := range [][]*lang.Stmt{lp.Pre, lp.Layer, lp.Post} {
		lw.block = b
		for _, st := range stmts {
			if err := lw.stmt(st); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

func (lw *lowerer) stmt(st *lang.Stmt) error {
	var hint *Var
	if st.Target != "" {
		hint = lw.env[st.Target]
	}
	v, err := lw.call(st.Call, hint, st.Target)
	if err != nil {
		return err
	}
	if st.Target != "" && v != nil {
		lw.env[st.Target] = v
	}
	return nil
}

// call lowers one call. hint is the var the result should go to (the
// statement's target, when it already exists); name names a new var.
func (lw *lowerer) call(e *lang.Expr, hint *Var, name string) (*Var, error) {
	r := e.Row
	if r == nil {
		return nil, lang.Errorf(e.Pos, "unknown operation %s", e.Op)
	}
	if r.Kind == Sample && lw.p.Gen.Greedy {
		// Temperature 0: llama2.c takes the argmax and draws nothing.
		r = op.RowOf(Argmax, "")
	}
	o := &Op{Kind: r.Kind, Func: r.Func, Pos: e.Pos}
	if len(r.Opts) > 0 {
		o.Opts = r.Defaults(e.Opts)
	}
	for i, a := range e.Args {
		switch a.Kind {
		case lang.Call:
			// A unary in-place op may compute its argument straight into
			// its own destination.
			var h *Var
			var n string
			if i == 0 && r.InPlace && r.Unary() {
				h, n = hint, name
			}
			v, err := lw.call(a, h, n)
			if err != nil {
				return nil, err
			}
			o.Args = append(o.Args, v)
		case lang.ValueRef:
			v := lw.env[a.Name]
			if v == nil {
				return nil, lang.Errorf(a.Pos, "%s is not bound", a.Name)
			}
			o.Args = append(o.Args, v)
		case lang.ParamRef:
			o.Params = append(o.Params, lw.p.Param(a.Name))
		case lang.CacheRef:
			for _, c := range lw.p.Caches {
				if c.Name == a.Name {
					o.Cache = c
				}
			}
		case lang.Const:
			if r.Args[i] == op.Number {
				o.Num = float64(a.Int)
			} else {
				o.HeadDim = a.Int
			}
		case lang.Decimal:
			o.Num = a.Num
		case lang.Input:
			// token and pos are implicit operands of embed, rope, store
			// and attention.
		}
	}
	n, serr := r.Length(operands(o, r, nil), lw.p.shapeConfig())
	if serr != nil {
		return nil, lang.Errorf(o.Pos, "%s", serr.Msg)
	}
	if r.Vector() {
		o.Dst = lw.dest(o, r, hint, name, n)
	}
	if r.Kind == MatMul {
		o.Parts = []*Var{o.Dst}
	}
	lw.p.Blocks[lw.block] = append(lw.p.Blocks[lw.block], o)
	return o.Dst, nil
}

// dest picks the destination: the hint when the op may write it, else the
// first argument of an in-place op when that is a temporary, else a new var.
func (lw *lowerer) dest(o *Op, r *op.Row, hint *Var, name string, n int) *Var {
	reads := func(v *Var) bool {
		for _, a := range o.Args {
			if a == v {
				return true
			}
		}
		return false
	}
	if hint != nil && hint.Len == n && (r.InPlace || !reads(hint)) {
		return hint
	}
	if r.InPlace && len(o.Args) > 0 && o.Args[0].Len == n && lw.isTemp(o.Args[0]) {
		return o.Args[0]
	}
	if name == "" {
		lw.temps++
		name = fmt.Sprintf("t%d", lw.temps)
	} else if lw.named(name) {
		name = fmt.Sprintf("%s.%d", name, len(lw.p.Vars))
	}
	v := &Var{Name: name, Len: n}
	lw.p.Vars = append(lw.p.Vars, v)
	return v
}

func (lw *lowerer) isTemp(v *Var) bool {
	for _, b := range lw.env {
		if b == v {
			return false
		}
	}
	return true
}

func (lw *lowerer) named(name string) bool {
	for _, v := range lw.p.Vars {
		if v.Name == name {
			return true
		}
	}
	return false
}
