package lir

import (
	"encoding/binary"
	"fmt"
	"math"

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
	// ShiftsInRows: a cache stores each head's shift in its row, in the
	// byte after the head's values (the size policy: the pointer that read
	// a key reads its shift next), not in a buffer of shifts apart.
	ShiftsInRows bool
	// RopeMac2: rope's table holds, for each position, the sines, the
	// cosines and the sines negated, and each output of a pair is one
	// OpMac2 of the pair (the size policy: one routine computes both).
	RopeMac2 bool
	// BestFromFirst: attention's best score has no start (OpUndef): the
	// first position sets it, or a higher score (the size policy: 5 bytes
	// fewer in llama2.tf, a test and a jump more a score; the speed
	// policy's start, the least int32, is a store a head).
	BestFromFirst bool
	// Positions: the positions the image reaches (its steps), whose rows
	// alone rope's tables hold (0: every position of the context).
	Positions int
}

// LowerOptionsFor are the options a policy lowers with ("size": each
// cache head's shift in its row, rope by OpMac2, the best score from the
// first).
func LowerOptionsFor(policy string) LowerOptions {
	size := policy == "size"
	return LowerOptions{ShiftsInRows: size, RopeMac2: size, BestFromFirst: size}
}

// LowerWith is Lower with options.
func LowerWith(p *ir.Program, o LowerOptions) (*Func, error) {
	lw := &lowerer{p: p, o: o, f: &Func{}, vars: map[*ir.Var]*Buf{}, params: map[*ir.Param]*Buf{},
		tables: map[*ir.Table]*Buf{}, ropeTables: map[*ir.Table]*ir.Table{}, caches: map[*ir.Cache]*cacheBufs{}, scratch: map[string]*Buf{}}
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
	p      *ir.Program
	o      LowerOptions
	f      *Func
	b      builder
	vars   map[*ir.Var]*Buf
	params map[*ir.Param]*Buf
	tables map[*ir.Table]*Buf
	// ropeTables: rope's tables as the lowering reads them (ropeTable).
	ropeTables map[*ir.Table]*ir.Table
	caches     map[*ir.Cache]*cacheBufs
	scratch    map[string]*Buf
	next       *Buf
	rng        *Buf
	// paramUses: how many ops read each param (uses).
	paramUses map[*ir.Param]int
}

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
	m := b.load(I32, at(w, row, 1, multAt(q), 4, true))
	b.loopN(q.Cols, func(j Reg) {
		a := b.add32(row, b.mul32(j, b.c32(eb)))
		wv := b.load(I32, at(w, a, 1, 0, int(eb), true))
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
				wv := b.load(I32, at(w, a, 1, 0, int(eb), true))
				xv := b.load(I32, i32At(x, c, xoff))
				b.set(acc, OpAdd, acc, b.wide(wv, xv))
			})
			t := lw.rshr(acc, ir.MatmulPreShift)
			m := b.load(I32, at(w, row, 1, multAt(q), 4, true))
			b.store(i32At(y, r, yoff), lw.rshr(b.wide(t, m), q.Q.Shift))
		})
	}
}

// isqrt is the largest r whose square is below an unsigned i64 v, bit
// by bit from the top (ir.IsqrtBelow: floor(sqrt(v−1)) for v >= 1). The
// size policy's form sets each bit in r and clears it again where the
// square is too big (an or, and a jump over an xor: 8 bytes fewer in
// llama2-int8.tf, `tfc size --gen loop`), where the faster one selects
// without a jump.
func (lw *lowerer) isqrt(v Reg) Reg {
	b := &lw.b
	r := b.c32(0)
	bit := b.c32(-1 << 31)
	b.loopN(32, func(k Reg) {
		b.faster(b.c32(1), func() {
			t := b.op(OpOr, I32, r, bit)
			ok := b.cmp(LTU, b.wideU(t, t), v)
			b.setSel(r, ok, t, r)
		}, func() {
			b.set(r, OpOr, r, bit)
			b.iff(b.cmp(GEU, b.wideU(r, r), v), func() { b.set(r, OpXor, r, bit) }, nil)
		})
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
	ss := lw.normSum(op, n)
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

// normSum is a norm's sum of squares before its first: n·(eps+1), so
// that the sum over n is the mean plus eps plus 1, whose isqrt is
// isqrt(mean + eps) (ir.NormInv).
func (lw *lowerer) normSum(op *ir.Op, n int) Reg {
	return lw.b.c64(int64(uint64(n) * (ir.EpsQ(op.Opts["eps"]) + 1)))
}

// normInv is a norm's 1/sqrt(mean + eps) and its fraction bits for a sum ss
// that normSum started (ir.NormInv): inv = (2^(16+bits) + r/2) / r fits
// 31 bits, since r is at least isqrt(eps), where ir.NormInvBits chose
// bits to fit, and the quotient falls as r grows: one 64/32 division
// (OpUDiv32).
func (lw *lowerer) normInv(op *ir.Op, ss Reg, n int) (Reg, uint) {
	b := &lw.b
	epsQ := ir.EpsQ(op.Opts["eps"])
	bits := ir.NormInvBits(epsQ)
	r := lw.isqrt(b.op(OpUDiv, I64, ss, b.c32(int64(n))))
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
	ss := lw.normSum(op, n)
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
	d := int64(op.HeadDim)
	// The first rd elements of each head rotate (rotary_dim).
	rd := int64(opkg.RotaryDim(op.Opts, op.HeadDim))
	half := rd / 2
	// The table's row of pos: the cosines, then the sines (RopeMac2: the
	// sines, the cosines, the sines negated).
	tab, cols := lw.ropeTable(op.Table, half)
	row := b.mul32(b.op(OpPos, I32, NoReg, NoReg), b.c32(4*half*cols))
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
			if lw.o.RopeMac2 {
				// a·s + b·c, then a·c + b·(−s): one form, the table's
				// columns a column apart.
				av := b.load(I32, i32At(x, i, xoff))
				bv := b.load(I32, i32At(x, i, xoff+1))
				col := func(k int64) Mem { return at(tab, ti, 1, 4*half*k, 4, true) }
				b2 := b.mac2(av, col(0), bv, col(1), ir.RopeBits)
				a2 := b.mac2(av, col(1), bv, col(2), ir.RopeBits)
				b.store(i32At(y, i, yoff), a2)
				b.store(i32At(y, i, yoff+1), b2)
				return
			}
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

// ropeTable is rope's table t (rows of half cosines, then half sines) as
// the lowering reads it, and its columns a row: the rows of the positions
// the image reaches (Positions), and with RopeMac2 three columns, the
// sines, the cosines, the sines negated (and a fourth of zeros where
// half is a power of two).
func (lw *lowerer) ropeTable(t *ir.Table, half int64) (*Buf, int64) {
	h := int(half)
	all := len(t.Data) / (2 * h)
	rows := all
	if n := lw.o.Positions; n > 0 && n < rows {
		rows = n
	}
	cols := int64(2)
	if lw.o.RopeMac2 {
		cols = 3
		if h&(h-1) == 0 {
			// A fourth column, of zeros, makes a row twice a column's
			// bytes a multiple: collapse wraps the row's pointer by an and.
			cols = 4
		}
	}
	if cols == 2 && rows == all {
		return lw.table(t), cols
	}
	m := lw.ropeTables[t]
	if m == nil {
		m = &ir.Table{Name: fmt.Sprintf("%s.%d", t.Name, rows)}
		if cols > 2 {
			m.Name += "m"
		}
		for r := 0; r < rows*2*h; r += 2 * h {
			row := t.Data[r : r+2*h]
			if cols == 2 {
				m.Data = append(m.Data, row...)
				continue
			}
			c, s := row[:h], row[h:]
			m.Data = append(append(m.Data, s...), c...)
			for _, v := range s {
				m.Data = append(m.Data, -v)
			}
			if cols == 4 {
				m.Data = append(m.Data, make([]int32, h)...)
			}
		}
		lw.ropeTables[t] = m
	}
	return lw.table(m), cols
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
		// Each path sets the result w (no 0 before the if, live across
		// the lookup): the lookup's argument and result may share a
		// register. Outside the table, g is (v >= 0) << GateBits, and
		// v·g rounded back by GateBits is v or 0: a select, with no
		// multiply (llama2.tf's gate 3 bytes fewer, tfc size --gen
		// loop).
		g, w := b.f.NewReg(I32), b.f.NewReg(I32)
		u := b.sub32(v, b.c32(ir.GateLow))
		b.iff(b.cmp(LTU, u, b.c32(ir.GateHigh-ir.GateLow)), func() {
			b.lookup(g, tab, u, ir.GateStepBits)
			b.set(w, OpCopy, lw.rshr(b.wide(v, g), ir.GateBits), NoReg)
		}, func() {
			b.setSel(w, b.cmp(GE, v, b.c32(0)), v, b.c32(0))
		})
		b.store(i32At(y, i, yoff), w)
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
	n := op.Args[0].Len
	// From the last element back to the first, with a non-strict compare:
	// the first of equal maxima wins, as llama2.c's forward scan with a
	// strict one. j counts the passes left, down to 1: the element's
	// index plus 1 (x86's loop counts so). The first pass compares the
	// best's start with itself and sets the index, which needs none.
	best := b.load(I32, i32At(x, NoReg, xoff+int64(n)-1))
	j := b.c32(int64(n))
	idx := b.undef(I32)
	b.loopN(n, func(Reg) {
		v := b.load(I32, i32At(x, j, xoff-1))
		ge := b.cmp(GE, v, best)
		b.setSel(best, ge, v, best)
		b.setSel(idx, ge, j, idx)
		b.set(j, OpAdd, j, b.c32(-1))
	})
	b.store(at(lw.next, NoReg, 0, 0, 4, true), b.add32(idx, b.c32(-1)))
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
