package ir

import (
	"tfc/lang"
	"tfc/op"
)

// inferShapes holds every op to its row's shape rule, the one the checker
// applied to the source, so that no rewrite breaks what was checked, and
// gives each cache the head size its attention uses.
func inferShapes(p *Program) error {
	var err error
	fail := func(o *Op, format string, a ...any) {
		if err == nil {
			err = lang.Errorf(o.Pos, format, a...)
		}
	}
	cfg := p.shapeConfig()
	p.Ops(func(b int, o *Op) {
		r := o.Row()
		// A matmul (fused or not) writes one part per param; any other op
		// writes Dst.
		ws, dsts := []*Param{nil}, []*Var{o.Dst}
		if len(o.Parts) > 0 {
			ws, dsts = o.Params, o.Parts
		}
		for i, w := range ws {
			a := operands(o, r, w)
			n, serr := r.Length(a, cfg)
			if serr == nil {
				serr = r.CheckOpts(a, o.Opts)
			}
			if serr != nil {
				fail(o, "%s", serr.Msg)
				return
			}
			if d := dsts[i]; d != nil && d.Len != n {
				fail(o, "%s: the result has %d elements, but %s has %d", r.Name, n, d.Name, d.Len)
				return
			}
		}
		if o.Kind == Attention {
			if c := o.Cache; c.HeadDim != 0 && c.HeadDim != o.HeadDim {
				fail(o, "attention: cache %s is read with head sizes %d and %d", c.Name, c.HeadDim, o.HeadDim)
			} else {
				c.HeadDim = o.HeadDim
			}
		}
	})
	for _, c := range p.Caches {
		if c.HeadDim == 0 {
			c.HeadDim = c.Width // a cache no attention reads: one scale per position
		}
	}
	return err
}

// shapeConfig is what the shape rules know of p.
func (p *Program) shapeConfig() op.Config {
	return op.Config{Vocab: p.Vocab, Heads: p.Heads, KVHeads: p.KVHeads, Context: p.Context}
}

// operands are o's operands as its row's shape rule sees them, in the
// order of the row's arguments; w, when not nil, is a matmul's param (a
// fused matmul has one per part). The verifier has checked that o has the
// operands r needs.
func operands(o *Op, r *op.Row, w *Param) []op.Arg {
	a := make([]op.Arg, len(r.Args))
	vec, par := 0, 0
	for i, k := range r.Args {
		switch k {
		case op.Vector:
			v := o.Args[vec]
			vec++
			a[i] = op.Arg{Name: v.Name, Len: v.Len}
		case op.Param:
			q := w
			if q == nil {
				q = o.Params[par]
			}
			par++
			a[i] = op.Arg{Name: q.Name, Dims: q.Dims()}
		case op.Cache:
			a[i] = op.Arg{Name: o.Cache.Name, Width: o.Cache.Width}
		case op.Int:
			a[i] = op.Arg{Int: o.HeadDim}
		case op.Number:
			a[i] = op.Arg{Num: o.Num}
		}
	}
	return a
}
