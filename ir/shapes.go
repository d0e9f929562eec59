package ir

import (
	"fmt"

	"tfc/lang"
)

// inferShapes checks every op's operand lengths (the checker did so on the
// source; this holds the IR to the same rules after any rewrite) and gives
// each cache the head size its attention uses.
func inferShapes(p *Program) error {
	var err error
	fail := func(op *Op, format string, a ...any) {
		if err == nil {
			err = lang.Errorf(op.Pos, "%s", fmt.Sprintf(format, a...))
		}
	}
	p.Ops(func(b int, op *Op) {
		switch op.Kind {
		case Embed:
			if op.Dst.Len != op.Params[0].Cols {
				fail(op, "embed: %d elements into %s of %d", op.Params[0].Cols, op.Dst.Name, op.Dst.Len)
			}
		case RMSNorm:
			if g := op.Params[0]; g.Rows != 1 || g.Cols != op.Args[0].Len {
				fail(op, "rmsnorm: %s has %d elements, %s has %d", g.Name, g.Rows*g.Cols, op.Args[0].Name, op.Args[0].Len)
			}
		case MatMul:
			for i, w := range op.Params {
				if w.Cols != op.Args[0].Len {
					fail(op, "matmul: %s has %d columns, %s has %d elements", w.Name, w.Cols, op.Args[0].Name, op.Args[0].Len)
				}
				if op.Parts[i].Len != w.Rows {
					fail(op, "matmul: %s has %d rows, %s has %d elements", w.Name, w.Rows, op.Parts[i].Name, op.Parts[i].Len)
				}
			}
		case RoPE:
			if op.HeadDim <= 0 || op.HeadDim%2 != 0 || op.Args[0].Len%op.HeadDim != 0 {
				fail(op, "rope: %s (%d) is not whole heads of an even size %d", op.Args[0].Name, op.Args[0].Len, op.HeadDim)
			}
		case Store:
			c := op.Cache
			for _, a := range op.Args {
				if a.Len != c.Width {
					fail(op, "store: %s has %d elements, the cache %s holds %d", a.Name, a.Len, c.Name, c.Width)
				}
			}
		case Attention:
			c, d := op.Cache, op.HeadDim
			switch {
			case d <= 0 || op.Args[0].Len%d != 0 || c.Width%d != 0:
				fail(op, "attention: head size %d does not divide %s (%d) and the cache width %d", d, op.Args[0].Name, op.Args[0].Len, c.Width)
			case (op.Args[0].Len/d)%(c.Width/d) != 0:
				fail(op, "attention: %d kv heads do not divide %d heads", c.Width/d, op.Args[0].Len/d)
			case c.HeadDim != 0 && c.HeadDim != d:
				fail(op, "attention: cache %s is read with head sizes %d and %d", c.Name, c.HeadDim, d)
			default:
				c.HeadDim = d
			}
		case Mul, Add:
			if op.Args[0].Len != op.Args[1].Len {
				fail(op, "%s: %s has %d elements, %s has %d", op.Kind, op.Args[0].Name, op.Args[0].Len, op.Args[1].Name, op.Args[1].Len)
			}
		case Argmax, Sample:
			if op.Args[0].Len != p.Vocab {
				fail(op, "%s: %s has %d elements, the vocabulary %d", op.Kind, op.Args[0].Name, op.Args[0].Len, p.Vocab)
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
