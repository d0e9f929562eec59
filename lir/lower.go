package lir

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"

	"tfc/ir"
	opkg "tfc/op"
)

// Lower builds the loop IR of a compiled program (after ir's passes): the
// ops of the pre block, a layers node with the layer block's, the post
// block's; each op by its lowering in lowerings.
func Lower(p *ir.Program) (*Func, error) { return LowerWith(p, LowerOptions{}) }

// LowerOptions are what a lowering needs to know of the machine.
type LowerOptions struct {
	// MaxBuf is the most bytes a buffer may take (a layer's slice; the
	// segmented memory model's 64 KiB), 0 for no limit: a fused matmul's
	// params share a buffer (rowRun) only within it.
	MaxBuf int64
}

// LowerWith is Lower with options.
func LowerWith(p *ir.Program, o LowerOptions) (*Func, error) {
	lw := &lowerer{p: p, o: o, f: &Func{}, vars: map[*ir.Var]*Buf{}, params: map[*ir.Param]*Buf{},
		tables: map[*ir.Table]*Buf{}, caches: map[*ir.Cache]*cacheBufs{}, scratch: map[string]*Buf{}}
	lw.b = builder{f: lw.f, cur: &lw.f.Body}
	lw.next = lw.buf(&Buf{Name: "next", Kind: BufNext, Size: 4})
	for _, v := range p.Vars {
		if v.Parent == nil {
			lw.vars[v] = lw.buf(&Buf{Name: v.Name, Kind: BufVar, Size: int64(4 * v.Len), Of: v})
		}
	}
	for b, ops := range p.Blocks {
		into := &lw.f.Body
		if b == ir.LayerBlock {
			layers := &Node{Kind: NLayers}
			lw.f.Body = append(lw.f.Body, layers)
			into = &layers.Body
		}
		for _, op := range ops {
			lower, ok := lowerings[op.Kind]
			if !ok {
				return nil, fmt.Errorf("BUG: lir: no lowering of %v", op.Kind)
			}
			n := &Node{Kind: NOp, Note: fmt.Sprintf("%v %s", op.Kind, op.Writes())}
			*into = append(*into, n)
			lw.b.cur = &n.Body
			lower(lw, op)
		}
	}
	return lw.f, nil
}

type lowerer struct {
	p       *ir.Program
	o       LowerOptions
	f       *Func
	b       builder
	vars    map[*ir.Var]*Buf
	params  map[*ir.Param]*Buf
	tables  map[*ir.Table]*Buf
	caches  map[*ir.Cache]*cacheBufs
	scratch map[string]*Buf
	next    *Buf
	rng     *Buf
	// paramUses: how many ops read each param (uses).
	paramUses map[*ir.Param]int
}

// cacheBufs are a cache's rows, each position's keys then its values,
// and their shifts, the keys' heads then the values': one row, so that
// where k and v come one after the other (q+k+v) one loop stores both.
type cacheBufs struct{ rows, shifts *Buf }

func (lw *lowerer) buf(b *Buf) *Buf {
	lw.f.Bufs = append(lw.f.Bufs, b)
	return b
}

// vec is the buffer that holds v and v's offset in it, in elements.
func (lw *lowerer) vec(v *ir.Var) (*Buf, int64) {
	r, off := v.Root()
	return lw.vars[r], int64(off)
}

func (lw *lowerer) table(t *ir.Table) *Buf {
	if b := lw.tables[t]; b != nil {
		return b
	}
	b := lw.buf(&Buf{Name: "tab." + t.Name, Kind: BufTable, Size: int64(4 * len(t.Data)), Of: t})
	lw.tables[t] = b
	return b
}

func (lw *lowerer) cache(c *ir.Cache) *cacheBufs {
	if cb := lw.caches[c]; cb != nil {
		return cb
	}
	n := int64(c.Context * c.Width * c.Bits / 8)
	h := int64(c.Context * c.Heads())
	cb := &cacheBufs{
		rows:   lw.buf(&Buf{Name: c.Name + ".kv", Kind: BufCache, PerLayer: true, Size: 2 * n, Of: c}),
		shifts: lw.buf(&Buf{Name: c.Name + ".s", Kind: BufCacheShifts, PerLayer: true, Size: 2 * h, Of: c}),
	}
	lw.caches[c] = cb
	return cb
}

// scratchBuf is working memory of at least size bytes, shared by every op
// that asks for name (ops run one after another).
func (lw *lowerer) scratchBuf(name string, size int64) *Buf {
	b := lw.scratch[name]
	if b == nil {
		b = lw.buf(&Buf{Name: name, Kind: BufScratch})
		lw.scratch[name] = b
	}
	b.Size = max(b.Size, size)
	return b
}

// lowerings holds each tensor op's lowering, following spec.md section 6
// and ir's simulator step for step.
var lowerings = map[ir.Kind]func(lw *lowerer, op *ir.Op){
	ir.Embed:     (*lowerer).embed,
	ir.RMSNorm:   (*lowerer).rmsnorm,
	ir.MatMul:    (*lowerer).matmul,
	ir.RoPE:      (*lowerer).rope,
	ir.Store:     (*lowerer).store,
	ir.Attention: (*lowerer).attention,
	ir.Gate:      (*lowerer).gate,
	ir.Mul:       (*lowerer).mul,
	ir.Add:       (*lowerer).add,
	ir.Argmax:    (*lowerer).argmax,
	ir.Sample:    (*lowerer).sample,
	ir.LayerNorm: (*lowerer).layernorm,
	ir.Relu:      (*lowerer).relu,
	ir.Bias:      (*lowerer).bias,
	ir.Scale:     (*lowerer).scale,
	ir.Sub:       (*lowerer).sub,
}

// rshr is the low 32 bits of rshr(x, n) of an i64 x.
func (lw *lowerer) rshr(x Reg, n uint) Reg {
	if n == 0 {
		return lw.b.lo(x)
	}
	return lw.b.rshrLo(x, n)
}

func (lw *lowerer) embed(op *ir.Op) {
	b, q := &lw.b, op.Params[0]
	w := lw.param(q)
	eb := int64(q.Q.Bits / 8)
	y, yoff := lw.vec(op.Dst)
	in := OpToken
	if op.Func == "pos" {
		in = OpPos // learned positions
	}
	row := b.mul32(b.op(in, I32, NoReg, NoReg), b.c32(rowBytes(q)))
	m := b.load(I32, at(w, row, 1, 0, 4, true))
	b.loopN(q.Cols, func(j Reg) {
		a := b.add32(row, b.mul32(j, b.c32(eb)))
		wv := b.load(I32, at(w, a, 1, 4, int(eb), true))
		b.store(i32At(y, j, yoff), lw.rshr(b.wide(wv, m), q.Q.Shift))
	})
}

func (lw *lowerer) matmul(op *ir.Op) {
	b := &lw.b
	x, xoff := lw.vec(op.Args[0])
	for i := 0; i < len(op.Params); {
		q, w, rows, n := lw.rowRun(op, i)
		eb := int64(q.Q.Bits / 8)
		y, yoff := lw.vec(op.Parts[i])
		i += n
		b.loopN(rows, func(r Reg) {
			row := b.mul32(r, b.c32(rowBytes(q)))
			acc := b.c64(0)
			b.loopN(q.Cols, func(c Reg) {
				a := b.add32(row, b.mul32(c, b.c32(eb)))
				wv := b.load(I32, at(w, a, 1, 4, int(eb), true))
				xv := b.load(I32, i32At(x, c, xoff))
				b.set(acc, OpAdd, acc, b.wide(wv, xv))
			})
			t := lw.rshr(acc, ir.MatmulPreShift)
			m := b.load(I32, at(w, row, 1, 0, 4, true))
			b.store(i32At(y, r, yoff), lw.rshr(b.wide(t, m), q.Q.Shift))
		})
	}
}

// isqrt is floor(sqrt(v)) of an unsigned i64 v, bit by bit from the top
// (ir.Isqrt).
func (lw *lowerer) isqrt(v Reg) Reg {
	b := &lw.b
	r := b.c32(0)
	bit := b.c32(-1 << 31)
	b.loopN(32, func(k Reg) {
		t := b.op(OpOr, I32, r, bit)
		ok := b.cmp(LEU, b.wideU(t, t), v)
		b.setSel(r, ok, t, r)
		b.emit(Inst{Op: OpShrI, Dst: bit, A: bit, B: NoReg, C: NoReg, Imm: 1})
	})
	return r
}

func (lw *lowerer) rmsnorm(op *ir.Op) {
	b := &lw.b
	x, xoff := lw.vec(op.Args[0])
	y, yoff := lw.vec(op.Dst)
	g := lw.param(op.Params[0])
	n := op.Args[0].Len
	ss := b.c64(0)
	b.loopN(n, func(i Reg) {
		v := b.load(I32, i32At(x, i, xoff))
		b.set(ss, OpAdd, ss, b.wide(v, v))
	})
	inv, bits := lw.normInv(op, ss, n)
	b.loopN(n, func(i Reg) {
		v := b.load(I32, i32At(x, i, xoff))
		t := lw.rshr(b.wide(v, inv), bits)
		gv := b.load(I32, i32At(g, i, 0))
		b.store(i32At(y, i, yoff), lw.rshr(b.wide(t, gv), ir.FracBits))
	})
}

// normInv is a norm's 1/sqrt(ss/n + eps) and its fraction bits
// (ir.NormInv): inv = (2^(16+bits) + r/2) / r fits 31 bits, since r is
// at least isqrt(eps), where ir.NormInvBits chose bits to fit, and the
// quotient falls as r grows: one 64/32 division (OpUDiv32).
func (lw *lowerer) normInv(op *ir.Op, ss Reg, n int) (Reg, uint) {
	b := &lw.b
	epsQ := ir.EpsQ(op.Opts["eps"])
	bits := ir.NormInvBits(epsQ)
	mean := b.op(OpUDiv, I64, ss, b.c32(int64(n)))
	r := lw.isqrt(b.add64(mean, b.c64(int64(epsQ))))
	num := b.add64(b.extU(b.imm(OpShrI, I32, r, 1)), b.c64(1<<(ir.FracBits+bits)))
	return b.op(OpUDiv32, I32, num, r), bits
}

// signOf is x's sign mask: all ones when x < 0, else 0.
func (lw *lowerer) signOf(t Type, x Reg) Reg {
	n := int64(31)
	if t == I64 {
		n = 63
	}
	return lw.b.imm(OpSarI, t, x, n)
}

// flip is x negated where the mask s is all ones, x where it is 0:
// (x ^ s) − s, with no branch or select. With x's own sign mask it is |x|
// (the most negative value stays itself, as negation leaves it).
func (lw *lowerer) flip(t Type, x, s Reg) Reg {
	b := &lw.b
	return b.op(OpSub, t, b.op(OpXor, t, x, s), s)
}

// divRound is DivRound(a, d) of an i64 a by a positive i32 d, to 32 bits.
func (lw *lowerer) divRound(a, d Reg) Reg {
	b := &lw.b
	half := func() Reg { return b.extU(b.imm(OpShrI, I32, d, 1)) }
	return lw.divRoundBy(a, half, func(mag Reg) Reg { return b.lo(b.op(OpUDiv, I64, mag, d)) })
}

// divRoundBy is DivRound of an i64 a, halves away from zero: the
// magnitude plus half the divisor, divided unsigned by quot, the sign
// restored.
func (lw *lowerer) divRoundBy(a Reg, half func() Reg, quot func(mag Reg) Reg) Reg {
	b := &lw.b
	s := lw.signOf(I64, a)
	return lw.flip(I32, quot(b.add64(lw.flip(I64, a, s), half())), b.lo(s))
}

func (lw *lowerer) layernorm(op *ir.Op) {
	b := &lw.b
	x, xoff := lw.vec(op.Args[0])
	y, yoff := lw.vec(op.Dst)
	g := lw.param(op.Params[0])
	var bias *Buf
	if len(op.Params) > 1 {
		bias = lw.param(op.Params[1])
	}
	n := op.Args[0].Len
	sum := b.c64(0)
	b.loopN(n, func(i Reg) {
		b.set(sum, OpAdd, sum, b.ext(b.load(I32, i32At(x, i, xoff))))
	})
	mean := lw.divRound(sum, b.c32(int64(n)))
	ss := b.c64(0)
	b.loopN(n, func(i Reg) {
		d := b.sub32(b.load(I32, i32At(x, i, xoff)), mean)
		b.set(ss, OpAdd, ss, b.wide(d, d))
	})
	inv, bits := lw.normInv(op, ss, n)
	b.loopN(n, func(i Reg) {
		d := b.sub32(b.load(I32, i32At(x, i, xoff)), mean)
		t := lw.rshr(b.wide(d, inv), bits)
		gv := b.load(I32, i32At(g, i, 0))
		v := lw.rshr(b.wide(t, gv), ir.FracBits)
		if bias != nil {
			v = b.add32(v, b.load(I32, i32At(bias, i, 0)))
		}
		b.store(i32At(y, i, yoff), v)
	})
}

func (lw *lowerer) rope(op *ir.Op) {
	b := &lw.b
	x, xoff := lw.vec(op.Args[0])
	y, yoff := lw.vec(op.Dst)
	tab := lw.table(op.Table)
	d := int64(op.HeadDim)
	// The first rd elements of each head rotate (rotary_dim).
	rd := int64(opkg.RotaryDim(op.Opts, op.HeadDim))
	half := rd / 2
	// The table's row of pos: the cosines, then the sines.
	row := b.mul32(b.op(OpPos, I32, NoReg, NoReg), b.c32(4*rd))
	b.loopN(op.Args[0].Len/op.HeadDim, func(h Reg) {
		head := b.mul32(h, b.c32(d))
		if rd < d && (x != y || xoff != yoff) {
			// The elements that pass, out of place.
			b.loop(NoReg, d-rd, func(j Reg) {
				i := b.add32(head, j)
				b.store(i32At(y, i, yoff+rd), b.load(I32, i32At(x, i, xoff+rd)))
			})
		}
		b.loop(NoReg, half, func(j Reg) {
			i := b.add32(head, b.imm(OpShlI, I32, j, 1))
			ti := b.add32(row, b.imm(OpShlI, I32, j, 2))
			c := b.load(I32, at(tab, ti, 1, 0, 4, true))
			s := b.load(I32, at(tab, ti, 1, 4*half, 4, true))
			av := b.load(I32, i32At(x, i, xoff))
			bv := b.load(I32, i32At(x, i, xoff+1))
			a2 := lw.rshr(b.sub64(b.wide(av, c), b.wide(bv, s)), ir.RopeBits)
			b2 := lw.rshr(b.add64(b.wide(av, s), b.wide(bv, c)), ir.RopeBits)
			b.store(i32At(y, i, yoff), a2)
			b.store(i32At(y, i, yoff+1), b2)
		})
	})
}

func (lw *lowerer) store(op *ir.Op) {
	b := &lw.b
	c := op.Cache
	cb := lw.cache(c)
	qmax := int64(1)<<(c.Bits-1) - 1
	eb := int64(c.Bits / 8)
	heads, hd, width := int64(c.Heads()), int64(c.HeadDim), int64(c.Width)
	pos := b.op(OpPos, I32, NoReg, NoReg)
	// A part is heads of the row from its first (k's 0, v's heads on).
	type part struct {
		x           *Buf
		xoff, first int64
		heads       int64
	}
	k, koff := lw.vec(op.Args[0])
	v, voff := lw.vec(op.Args[1])
	parts := []part{{k, koff, 0, heads}, {v, voff, heads, heads}}
	if k == v && voff == koff+width {
		parts = []part{{k, koff, 0, 2 * heads}} // one row, one loop
	}
	for _, pt := range parts {
		b.loop(NoReg, pt.heads, func(h Reg) {
			head := b.mul32(h, b.c32(hd))
			// The largest magnitude, unsigned (|−2^31| fits).
			m := b.c32(0)
			b.loop(NoReg, hd, func(i Reg) {
				v := b.load(I32, i32At(pt.x, b.add32(head, i), pt.xoff))
				a := lw.flip(I32, v, lw.signOf(I32, v))
				b.setSel(m, b.cmp(GTU, a, m), a, m)
			})
			s := lw.cacheShift(m, qmax)
			b.store(at(cb.shifts, b.add32(b.mul32(pos, b.c32(2*heads)), h), 1, pt.first, 1, false), s)
			base := b.add32(b.mul32(pos, b.c32(2*width)), head)
			b.loop(NoReg, hd, func(i Reg) {
				v := b.load(I32, i32At(pt.x, b.add32(head, i), pt.xoff))
				qv := b.lo(b.op(OpRshr, I64, b.ext(v), s))
				b.store(at(cb.rows, b.add32(base, i), eb, pt.first*hd*eb, int(eb), true), qv)
			})
		})
	}
}

// cacheShift is the smallest s < 31 with rshr(m, s) <= qmax, m unsigned
// (spec.md section 6, KV cache). rshr(m, s) falls with s, so s counts
// the shifts that leave it above qmax: for s = 0, m > qmax; for s >= 1,
// rshr(m, s) > qmax exactly when m >= (2·qmax+1)·2^(s−1), that is when
// m >> (s−1) >= 2·qmax+1. That last count, d, is a run from s = 1 (at
// most 16 long, as m < 2^32), found by a binary search of 5 steps (16,
// 8, 4, 2, 1: a running value halved each pass, not 16 >> i) where
// counting them took 31 64-bit shifts.
//
// The size policy counts d in a loop instead, one pass for each s − 1
// at which m >> (s−1) can reach 2·qmax+1 (25 for int8), m halved each
// pass: half the code, about twice the instructions (a few thousand a
// token).
func (lw *lowerer) cacheShift(m Reg, qmax int64) Reg {
	b := &lw.b
	d := b.c32(0)
	above := b.cmp(GTU, m, b.c32(qmax))
	b.faster(b.c32(1), func() {
		step := b.c32(16)
		b.loopN(5, func(i Reg) {
			t := b.add32(d, b.op(OpAdd, I32, step, b.c32(-1)))
			in := b.cmp(GEU, b.op(OpShr, I32, m, t), b.c32(2*qmax+1))
			b.set(d, OpAdd, d, b.sel(in, step, b.c32(0)))
			b.emit(Inst{Op: OpShrI, Dst: step, A: step, B: NoReg, C: NoReg, Imm: 1})
		})
	}, func() {
		passes := 0
		for uint64(1)<<(32-passes)-1 >= uint64(2*qmax+1) {
			passes++
		}
		t := b.op(OpCopy, I32, m, NoReg)
		b.loopN(passes, func(i Reg) {
			b.set(d, OpAdd, d, b.cmp(GEU, t, b.c32(2*qmax+1)))
			b.emit(Inst{Op: OpShrI, Dst: t, A: t, B: NoReg, C: NoReg, Imm: 1})
		})
	})
	return b.add32(d, above)
}

// expLookup is exp(−d) from the exp table for 0 <= d < ir.ExpLimit
// (ir.ExpLookup).
func (lw *lowerer) expLookup(tab *Buf, d Reg) Reg {
	b := &lw.b
	j := b.imm(OpShrI, I32, d, ir.ExpStepBits)
	f := b.op(OpAnd, I32, d, b.c32(1<<ir.ExpStepBits-1))
	t0 := b.load(I32, i32At(tab, j, 0))
	t1 := b.load(I32, i32At(tab, j, 1))
	return b.add32(t0, lw.rshr(b.wide(b.sub32(t1, t0), f), ir.ExpStepBits))
}

// expWithin runs then with e = exp(−d) where d is within the exp table
// (at or past its end, e would be 0). d is best − z for best >= z, at
// least 0 and below 2^32: compared unsigned in 32 bits, it cannot wrap.
func (lw *lowerer) expWithin(tab *Buf, d Reg, then func(e Reg)) {
	b := &lw.b
	b.iff(b.cmp(LTU, d, b.c32(ir.ExpLimit)), func() { then(lw.expLookup(tab, d)) }, nil)
}

// expOrZero is exp(−(best − z)) for best >= z, 0 at or past the table.
func (lw *lowerer) expOrZero(tab *Buf, best, z Reg) Reg {
	b := &lw.b
	d := b.sub32(best, z)
	e := b.c32(0)
	lw.expWithin(tab, d, func(x Reg) { b.set(e, OpCopy, x, NoReg) })
	return e
}

func (lw *lowerer) attention(op *ir.Op) {
	b := &lw.b
	c, hd := op.Cache, int64(op.HeadDim)
	cb := lw.cache(c)
	q, qoff := lw.vec(op.Args[0])
	out, ooff := lw.vec(op.Dst)
	heads := int64(op.Args[0].Len) / hd
	kvHeads := int64(c.Heads())
	group := heads / kvHeads
	width, eb := int64(c.Width), int64(c.Bits/8)
	tab := lw.table(op.Table)
	scores := lw.scratchBuf("att.scores", 4*int64(c.Context))
	acc := lw.scratchBuf("att.acc", 8*hd)
	scale := ir.AttnScale(op.HeadDim)
	pos := b.op(OpPos, I32, NoReg, NoReg)
	n := b.add32(pos, b.c32(1))
	// Each position up to pos: at least one.
	positions := func(body func(t Reg)) { b.loop(n, 0, body).Once = true }
	// Each query head, with its cache head kh: one loop over the heads
	// where a group's size is a power of two (kh = h >> log2 group),
	// else a loop over the cache heads and one over their groups.
	perHead := func(kh, head Reg) {
		kvHead := b.mul32(kh, b.c32(hd))
		best := b.c32(math.MinInt32)
		positions(func(t Reg) {
			kb := b.add32(b.mul32(t, b.c32(2*width)), kvHead)
			dot := b.c64(0)
			b.loop(NoReg, hd, func(i Reg) {
				qv := b.load(I32, i32At(q, b.add32(head, i), qoff))
				kv := b.load(I32, at(cb.rows, b.add32(kb, i), eb, 0, int(eb), true))
				b.set(dot, OpAdd, dot, b.wide(qv, kv))
			})
			sh := b.load(I32, at(cb.shifts, b.add32(b.mul32(t, b.c32(2*kvHeads)), kh), 1, 0, 1, false))
			sc := lw.rshr(b.op(OpShl, I64, dot, sh), ir.FracBits)
			score := lw.rshr(b.wide(sc, b.c32(scale)), ir.AttnScaleBits)
			b.store(i32At(scores, t, 0), score)
			b.setSel(best, b.cmp(GT, score, best), score, best)
		})
		b.loop(NoReg, hd, func(i Reg) {
			b.store(at(acc, i, 8, 0, 8, true), b.c64(0))
		})
		// One pass over the positions sums the exponentials and the
		// values they weigh. A position past the table's end has e = 0
		// and adds nothing; nor does one whose e is 0 (often many).
		// While the value shift is at most 8, e << shift fits 31 bits
		// (e is at most 2^22), and (e·v) << shift is one product:
		// (e << shift)·v, faster than the shift of a 64-bit product.
		// The sum fits 32 bits where the context holds at most
		// ir.MaxSoftmaxTerms positions, each e at most 2^ExpBits.
		wide := int64(c.Context) > ir.MaxSoftmaxTerms
		sum := b.c32(0)
		if wide {
			sum = b.c64(0)
		}
		positions(func(t Reg) {
			lw.expWithin(tab, b.sub32(best, b.load(I32, i32At(scores, t, 0))), func(e Reg) {
				if wide {
					b.set(sum, OpAdd, sum, b.extU(e))
				} else {
					b.set(sum, OpAdd, sum, e)
				}
				b.iff(b.cmp(NE, e, b.c32(0)), func() {
					vs := b.load(I32, at(cb.shifts, b.add32(b.mul32(t, b.c32(2*kvHeads)), kh), 1, kvHeads, 1, false))
					vb := b.add32(b.mul32(t, b.c32(2*width)), kvHead)
					accumulate := func(term func(v Reg) Reg) {
						b.loop(NoReg, hd, func(i Reg) {
							v := b.load(I32, at(cb.rows, b.add32(vb, i), eb, width*eb, int(eb), true))
							a := at(acc, i, 8, 0, 8, true)
							b.store(a, b.add64(b.load(I64, a), term(v)))
						})
					}
					b.faster(b.cmp(LEU, vs, b.c32(8)), func() {
						m := b.op(OpShl, I32, e, vs)
						accumulate(func(v Reg) Reg { return b.wide(m, v) })
					}, func() {
						accumulate(func(v Reg) Reg { return b.op(OpShl, I64, b.wide(e, v), vs) })
					})
				}, nil)
			})
		})
		// out = acc / sum (ir.DivRound).
		var half Reg
		if wide {
			half = b.imm(OpShrI, I64, sum, 1)
		} else {
			half = b.extU(b.imm(OpShrI, I32, sum, 1))
		}
		divide := func(quot func(mag Reg) Reg) {
			b.loop(NoReg, hd, func(i Reg) {
				a := b.load(I64, at(acc, i, 8, 0, 8, true))
				q := lw.divRoundBy(a, func() Reg { return half }, quot)
				b.store(i32At(out, b.add32(head, i), ooff), q)
			})
		}
		// The mean of values of magnitude at most 2^31 (a cached q times
		// 2^s, |q| <= rshr(m, s) for the head's largest magnitude m <=
		// 2^31: at most 64·2^25 for int8, 16384·2^17 for int16) weighs
		// them by e >= 0, whose sum is at least the best position's e >
		// 0: |acc| <= sum·2^31, so the rounded quotient is at most 2^31
		// and one 64/32 division (OpUDiv32) cannot overflow. (A signed
		// idiv could: +2^31 does not fit.)
		small := func(d Reg) {
			divide(func(mag Reg) Reg { return b.op(OpUDiv32, I32, mag, d) })
		}
		if !wide {
			small(sum)
			return
		}
		b.iff(b.cmp(LT, sum, b.c64(1<<32)), func() { small(b.lo(sum)) }, func() { lw.bigDivide(sum, divide) })
	}
	if group&(group-1) == 0 {
		b.loop(NoReg, heads, func(h Reg) {
			kh := h
			if s := bits.TrailingZeros64(uint64(group)); s > 0 {
				kh = b.imm(OpShrI, I32, h, int64(s))
			}
			perHead(kh, b.mul32(h, b.c32(hd)))
		})
		return
	}
	b.loop(NoReg, kvHeads, func(kh Reg) {
		b.loop(NoReg, group, func(g Reg) {
			perHead(kh, b.mul32(b.add32(b.mul32(kh, b.c32(group)), g), b.c32(hd)))
		})
	})
}

// bigDivide divides by a sum of 2^32 or more (attention over more than
// ir.MaxSoftmaxTerms positions) with 32-bit divisions, exactly: with s the
// shift that leaves t = sum >> s in [2^30, 2^31), q0 = (mag >> s) / (t+1)
// is at most 3 below mag / sum (when that fits 31 bits, as the result
// must), and three steps of the remainder mag − q0·sum correct it.
func (lw *lowerer) bigDivide(sum Reg, divide func(quot func(mag Reg) Reg)) {
	b := &lw.b
	sh := b.c32(0)
	b.loopN(33, func(k Reg) {
		above := b.cmp(NE, b.op(OpShr, I64, sum, b.add32(k, b.c32(31))), b.c64(0))
		b.set(sh, OpAdd, sh, above)
	})
	d := b.add32(b.lo(b.op(OpShr, I64, sum, sh)), b.c32(1))
	divide(func(mag Reg) Reg {
		q := b.lo(b.op(OpUDiv, I64, b.op(OpShr, I64, mag, sh), d))
		rem := b.sub64(mag, b.op(OpMul, I64, b.extU(q), sum))
		for k := 0; k < 3; k++ {
			ge := b.cmp(GEU, rem, sum)
			b.set(q, OpAdd, q, ge)
			b.set(rem, OpSub, rem, b.sel(ge, sum, b.c64(0)))
		}
		return q
	})
}

func (lw *lowerer) gate(op *ir.Op) {
	b := &lw.b
	x, xoff := lw.vec(op.Args[0])
	y, yoff := lw.vec(op.Dst)
	tab := lw.table(op.Table)
	b.loopN(op.Args[0].Len, func(i Reg) {
		v := b.load(I32, i32At(x, i, xoff))
		// g(v): 0 below the table, 1 at or past its end (ir.GateLookup).
		// u = v − GateLow wraps in 32 bits, but below 2^32 − (High − Low)
		// either way: one unsigned compare finds the table's range, and
		// outside it v's sign tells above (GateLow < 0 <= GateHigh).
		g := b.c32(0)
		u := b.sub32(v, b.c32(ir.GateLow))
		b.iff(b.cmp(LTU, u, b.c32(ir.GateHigh-ir.GateLow)), func() {
			j := b.imm(OpShrI, I32, u, ir.GateStepBits)
			f := b.op(OpAnd, I32, u, b.c32(1<<ir.GateStepBits-1))
			t0 := b.load(I32, i32At(tab, j, 0))
			t1 := b.load(I32, i32At(tab, j, 1))
			b.set(g, OpAdd, t0, lw.rshr(b.wide(b.sub32(t1, t0), f), ir.GateStepBits))
		}, func() {
			b.iff(b.cmp(GE, v, b.c32(0)), func() { b.setConst(g, 1<<ir.GateBits) }, nil)
		})
		b.store(i32At(y, i, yoff), lw.rshr(b.wide(v, g), ir.GateBits))
	})
}

func (lw *lowerer) mul(op *ir.Op) {
	lw.elementwise(op, func(a, c Reg) Reg { return lw.rshr(lw.b.wide(a, c), ir.FracBits) })
}

func (lw *lowerer) add(op *ir.Op) {
	lw.elementwise(op, func(a, c Reg) Reg { return lw.b.add32(a, c) })
}

func (lw *lowerer) sub(op *ir.Op) {
	lw.elementwise(op, func(a, c Reg) Reg { return lw.b.sub32(a, c) })
}

// unary stores f(x_i) for every element.
func (lw *lowerer) unary(op *ir.Op, f func(i, x Reg) Reg) {
	b := &lw.b
	x, xoff := lw.vec(op.Args[0])
	y, yoff := lw.vec(op.Dst)
	b.loopN(op.Dst.Len, func(i Reg) {
		b.store(i32At(y, i, yoff), f(i, b.load(I32, i32At(x, i, xoff))))
	})
}

func (lw *lowerer) bias(op *ir.Op) {
	w := lw.param(op.Params[0])
	lw.unary(op, func(i, x Reg) Reg { return lw.b.add32(x, lw.b.load(I32, i32At(w, i, 0))) })
}

func (lw *lowerer) scale(op *ir.Op) {
	c := int64(ir.ScaleQ(op.Num))
	lw.unary(op, func(_, x Reg) Reg { return lw.rshr(lw.b.wide(x, lw.b.c32(c)), ir.FracBits) })
}

func (lw *lowerer) relu(op *ir.Op) {
	lw.unary(op, func(_, x Reg) Reg {
		b := &lw.b
		zero := b.c32(0)
		return b.sel(b.cmp(GT, x, zero), x, zero)
	})
}

// elementwise stores f(a_i, b_i) for every element.
func (lw *lowerer) elementwise(op *ir.Op, f func(a, b Reg) Reg) {
	b := &lw.b
	x, xoff := lw.vec(op.Args[0])
	z, zoff := lw.vec(op.Args[1])
	y, yoff := lw.vec(op.Dst)
	b.loopN(op.Dst.Len, func(i Reg) {
		b.store(i32At(y, i, yoff), f(b.load(I32, i32At(x, i, xoff)), b.load(I32, i32At(z, i, zoff))))
	})
}

func (lw *lowerer) argmax(op *ir.Op) {
	b := &lw.b
	x, xoff := lw.vec(op.Args[0])
	best := b.load(I32, i32At(x, NoReg, xoff))
	idx := b.c32(0)
	b.loopN(op.Args[0].Len, func(i Reg) {
		v := b.load(I32, i32At(x, i, xoff))
		gt := b.cmp(GT, v, best)
		b.setSel(best, gt, v, best)
		b.setSel(idx, gt, i, idx)
	})
	b.store(at(lw.next, NoReg, 0, 0, 4, true), idx)
}

// rngNext is a draw of llama2.c's xorshift64* generator (ir.Rng.U32),
// its state in a buffer that lives across steps.
func (lw *lowerer) rngNext() Reg {
	b := &lw.b
	if lw.rng == nil {
		init := binary.LittleEndian.AppendUint64(nil, lw.p.Gen.Seed)
		lw.rng = lw.buf(&Buf{Name: "rng", Kind: BufState, Size: 8, Init: init})
	}
	m := at(lw.rng, NoReg, 0, 0, 8, true)
	s := b.load(I64, m)
	b.set(s, OpXor, s, b.imm(OpShrI, I64, s, 12))
	b.set(s, OpXor, s, b.imm(OpShlI, I64, s, 25))
	b.set(s, OpXor, s, b.imm(OpShrI, I64, s, 27))
	b.store(m, s)
	k := uint64(0x2545F4914F6CDD1D)
	return b.op(OpHi, I32, b.op(OpMul, I64, s, b.c64(int64(k))), NoReg)
}

func (lw *lowerer) sample(op *ir.Op) {
	g := lw.p.Gen
	if !g.Typed {
		lw.draw(op, lw.b.c32(int64(math.Round(ir.One/g.Temperature))), g.TopP > 0 && g.TopP < 1,
			func() Reg { return lw.b.c64(int64(math.Round(g.TopP * ir.One))) })
		return
	}
	// A typed prompt's parameter lines set the sampler (ir.Sampling, in
	// a buffer that lives across steps): InvT 0 is greedy, and with a TopP
	// of One the nucleus is every token.
	b := &lw.b
	s := ir.SamplingOf(g)
	init := binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, uint32(s.InvT)), uint32(s.TopP))
	params := lw.buf(&Buf{Name: "sampling", Kind: BufState, Size: 8, Init: init})
	invT := b.load(I32, at(params, NoReg, 0, 0, 4, true))
	b.iff(b.cmp(EQ, invT, b.c32(0)), func() { lw.argmax(op) }, func() {
		lw.draw(op, invT, true, func() Reg { return b.extU(b.load(I32, at(params, NoReg, 0, 4, 4, true))) })
	})
}

// draw draws the next token (ir.Sim.draw) with the multiplier invT, and
// with the nucleus of topP (an i64, round(top_p·2^16)) when nucleus.
func (lw *lowerer) draw(op *ir.Op, invT Reg, withNucleus bool, topP func() Reg) {
	b := &lw.b
	x, xoff := lw.vec(op.Args[0])
	n := int64(op.Args[0].Len)
	tab := lw.table(op.Table)
	zs := lw.scratchBuf("sample.z", 4*n)
	es := lw.scratchBuf("sample.e", 4*n)
	best := b.c32(math.MinInt32)
	b.loop(NoReg, n, func(i Reg) {
		z := lw.rshr(b.wide(b.load(I32, i32At(x, i, xoff)), invT), ir.FracBits)
		b.store(i32At(zs, i, 0), z)
		b.setSel(best, b.cmp(GT, z, best), z, best)
	})
	total := b.c64(0)
	b.loop(NoReg, n, func(i Reg) {
		e := lw.expOrZero(tab, best, b.load(I32, i32At(zs, i, 0)))
		b.store(i32At(es, i, 0), e)
		b.set(total, OpAdd, total, b.extU(e))
	})
	weights := es
	if withNucleus {
		// The nucleus (ir.Nucleus): each token whose better-ranked tokens
		// (larger weight, or equal and a lower index) weigh at most the
		// limit: every token heavier than u, the least weight whose
		// heavier tokens weigh at most the limit (by bisection), and of
		// weight u those the earlier ones leave room for.
		ns := lw.scratchBuf("sample.n", 4*n)
		limit := b.imm(OpShrI, I64, b.op(OpMul, I64, topP(), total), ir.FracBits)
		heavier := func(v Reg) Reg {
			sum := b.c64(0)
			b.loop(NoReg, n, func(i Reg) {
				e := b.load(I32, i32At(es, i, 0))
				b.set(sum, OpAdd, sum, b.sel(b.cmp(GTU, e, v), b.extU(e), b.c64(0)))
			})
			return sum
		}
		lo, hi := b.c32(0), b.c32(1<<ir.ExpBits)
		b.loopN(ir.NucleusSteps, func(Reg) {
			mid := b.imm(OpShrI, I32, b.add32(lo, hi), 1)
			fits := b.cmp(LEU, heavier(mid), limit)
			b.setSel(hi, fits, mid, hi)
			b.setSel(lo, fits, lo, b.add32(mid, b.c32(1)))
		})
		before := heavier(hi)
		b.loop(NoReg, n, func(i Reg) {
			e := b.load(I32, i32At(es, i, 0))
			tie := b.cmp(EQ, e, hi)
			in := b.op(OpOr, I32, b.cmp(GTU, e, hi), b.op(OpAnd, I32, tie, b.cmp(LEU, before, limit)))
			b.store(i32At(ns, i, 0), b.sel(in, e, b.c32(0)))
			b.set(before, OpAdd, before, b.sel(tie, b.extU(e), b.c64(0)))
		})
		weights = ns
	}
	nucleus := b.c64(0)
	b.loop(NoReg, n, func(i Reg) {
		b.set(nucleus, OpAdd, nucleus, b.extU(b.load(I32, i32At(weights, i, 0))))
	})
	u := b.imm(OpShrI, I32, lw.rngNext(), 8)
	threshold := b.imm(OpShrI, I64, b.op(OpMul, I64, b.extU(u), nucleus), 24)
	cdf := b.c64(0)
	found := b.c32(-1)
	b.loop(NoReg, n, func(i Reg) {
		b.set(cdf, OpAdd, cdf, b.extU(b.load(I32, i32At(weights, i, 0))))
		hit := b.op(OpAnd, I32, b.cmp(LTU, threshold, cdf), b.cmp(LT, found, b.c32(0)))
		b.setSel(found, hit, i, found)
	})
	b.store(at(lw.next, NoReg, 0, 0, 4, true), found)
}
