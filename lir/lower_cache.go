package lir

import (
	"math"
	"math/bits"

	"tfc/ir"
)

// The KV cache's lowering (spec.md section 6): store quantizes k and v
// into a position's row, attention reads the rows back, and the softmax's
// exponentials (which sampling shares) come from the exp table.

// cacheBufs are a cache's rows, each position's keys then its values,
// and their shifts, the keys' heads then the values': one row, so that
// where k and v come one after the other (q+k+v) one loop stores both.
// With LowerOptions.ShiftsInRows a head's shift is the byte after its
// values in the row (a slot of HeadDim values and the shift), and shifts
// is nil.
type cacheBufs struct {
	rows, shifts *Buf
	slot         int64 // a head's bytes in a row, its shift's included
}

func (lw *lowerer) cache(c *ir.Cache) *cacheBufs {
	if cb := lw.caches[c]; cb != nil {
		return cb
	}
	n := int64(c.Context * c.Width * c.Bits / 8)
	h := int64(c.Context * c.Heads())
	cb := &cacheBufs{slot: int64(c.HeadDim * c.Bits / 8)}
	if lw.o.ShiftsInRows {
		cb.slot++
		n = h * cb.slot
	}
	cb.rows = lw.buf(&Buf{Name: c.Name + ".kv", Kind: BufCache, PerLayer: true, Size: 2 * n, Of: c})
	if !lw.o.ShiftsInRows {
		cb.shifts = lw.buf(&Buf{Name: c.Name + ".s", Kind: BufCacheShifts, PerLayer: true, Size: 2 * h, Of: c})
	}
	lw.caches[c] = cb
	return cb
}

// head is the byte offset of position pos's head h (of the 2·heads of
// k's and v's) in the rows.
func (cb *cacheBufs) head(b *builder, pos, h Reg, heads int64) Reg {
	return b.add32(b.mul32(pos, b.c32(2*heads*cb.slot)), b.mul32(h, b.c32(cb.slot)))
}

// elem is element i of the head at byte offset head, of a part that
// starts part heads on (v's: heads), in the rows (ShiftsInRows).
func (cb *cacheBufs) elem(head, i Reg, part, eb int64) Mem {
	return Mem{Buf: cb.rows, Base: head, Index: i, Scale: eb, Disp: part * cb.slot, Width: int(eb), Signed: true}
}

// shiftAt is the shift of the head at byte offset head (ShiftsInRows).
func (cb *cacheBufs) shiftAt(head Reg, part int64) Mem {
	return at(cb.rows, head, 1, part*cb.slot+cb.slot-1, 1, false)
}

// store is one of two lowerings, alike but for the address of a head's
// elements in the rows it stores (as attention's: general keeps the
// second for size, fold the first for speed): their sum with the head's
// first scaled, or the head's first byte as a base and the element the
// index (3 to 9 bytes fewer an image).
func (lw *lowerer) store(op *ir.Op) {
	lw.b.faster(lw.b.c32(1), func() { lw.storeRows(op, false) }, func() { lw.storeRows(op, true) })
}

// storeRows is store with a head's first element given to the addresses
// in bytes (headBase) or as indexes.
func (lw *lowerer) storeRows(op *ir.Op, headBase bool) {
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
	kx, koff := lw.vec(op.Args[0])
	vx, voff := lw.vec(op.Args[1])
	parts := []part{{kx, koff, 0, heads}, {vx, voff, heads, heads}}
	if kx == vx && voff == koff+width {
		parts = []part{{kx, koff, 0, 2 * heads}} // one row, one loop
	}
	for _, pt := range parts {
		b.loop(NoReg, pt.heads, func(h Reg) {
			head := b.mul32(h, b.c32(hd))
			first := head
			if headBase {
				first = b.mul32(h, b.c32(4*hd))
			}
			xAt := func(i Reg) Mem { return lw.headElem(headBase, pt.x, first, i, 4, 4*pt.xoff) }
			// The largest magnitude, unsigned (|−2^31| fits).
			m := b.c32(0)
			b.loop(NoReg, hd, func(i Reg) {
				v := b.load(I32, xAt(i))
				a := lw.flip(I32, v, lw.signOf(I32, v))
				b.setSel(m, b.cmp(GTU, a, m), a, m)
			})
			s := lw.cacheShift(m, qmax)
			if cb.shifts == nil {
				slot := cb.head(b, pos, h, heads)
				b.loop(NoReg, hd, func(i Reg) {
					v := b.load(I32, xAt(i))
					b.store(cb.elem(slot, i, pt.first, eb), b.lo(b.op(OpRshr, I64, b.ext(v), s)))
				})
				b.store(cb.shiftAt(slot, pt.first), s)
				return
			}
			b.store(at(cb.shifts, b.add32(b.mul32(pos, b.c32(2*heads)), h), 1, pt.first, 1, false), s)
			base := b.add32(b.mul32(pos, b.c32(2*width)), head)
			b.loop(NoReg, hd, func(i Reg) {
				v := b.load(I32, xAt(i))
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
// token). Its count starts at s = 0's term, which the search adds after
// (a register and an add fewer: -4 bytes llama2-int8.tf, -10 llama2.tf,
// `tfc size --gen loop`).
func (lw *lowerer) cacheShift(m Reg, qmax int64) Reg {
	b := &lw.b
	d := b.c32(0)
	above := b.cmp(GTU, m, b.c32(qmax))
	s := lw.f.NewReg(I32)
	b.faster(b.c32(1), func() {
		step := b.c32(16)
		b.loopN(5, func(i Reg) {
			t := b.add32(d, b.op(OpAdd, I32, step, b.c32(-1)))
			in := b.cmp(GEU, b.op(OpShr, I32, m, t), b.c32(2*qmax+1))
			b.set(d, OpAdd, d, b.sel(in, step, b.c32(0)))
			b.emit(Inst{Op: OpShrI, Dst: step, A: step, B: NoReg, C: NoReg, Imm: 1})
		})
		b.emit(Inst{Op: OpAdd, Dst: s, A: d, B: above, C: NoReg})
	}, func() {
		passes := 0
		for uint64(1)<<(32-passes)-1 >= uint64(2*qmax+1) {
			passes++
		}
		b.emit(Inst{Op: OpCopy, Dst: s, A: above, B: NoReg, C: NoReg})
		t := b.op(OpCopy, I32, m, NoReg)
		// A pass adds 0 once t is below 2·qmax+1, which it is from the
		// count's pass on and wherever t is 0: the loop may end where t
		// first is (ZeroEnds: no count).
		b.loopN(passes, func(i Reg) {
			b.set(s, OpAdd, s, b.cmp(GEU, t, b.c32(2*qmax+1)))
			b.emit(Inst{Op: OpShrI, Dst: t, A: t, B: NoReg, C: NoReg, Imm: 1})
		}).ZeroEnds = true
	})
	return s
}

// expLookup is exp(−d) from the exp table for 0 <= d < ir.ExpLimit
// (ir.ExpLookup).
func (lw *lowerer) expLookup(tab *Buf, d Reg) Reg {
	e := lw.f.NewReg(I32)
	lw.b.lookup(e, tab, d, ir.ExpStepBits)
	return e
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

// attention is one of two lowerings, alike but for their addresses
// (general keeps the second for size, fold the first for speed). The
// first indexes a head's elements (q's, the output's, a cached row's) by
// their sum with the head's first, scaled: the speed policy's reassoc
// and localize take them apart and copy q. The second gives each head's
// first byte to the address as a base and the element as its index,
// where x86 scales one register of an address but not a sum: about 15
// bytes fewer for the size policy (llama2.tf, int16 rows), 0.5% more
// instructions for the speed policy, whose per-layer rows then take an
// add a position.
func (lw *lowerer) attention(op *ir.Op) {
	lw.b.faster(lw.b.c32(1), func() { lw.attend(op, false) }, func() { lw.attend(op, true) })
}

// headElem is element i (size bytes, signed) of a head whose first
// element is first in buf at byte disp: first in bytes, the address's
// base, where headBase; else in elements, added to i.
func (lw *lowerer) headElem(headBase bool, buf *Buf, first, i Reg, size, disp int64) Mem {
	if headBase {
		return Mem{Buf: buf, Base: first, Index: i, Scale: size, Disp: disp, Width: int(size), Signed: true}
	}
	return at(buf, lw.b.add32(first, i), size, disp, int(size), true)
}

// attend is attention with its heads' first elements given to the
// addresses in bytes (headBase) or as indexes.
func (lw *lowerer) attend(op *ir.Op, headBase bool) {
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
	elem := func(buf *Buf, first, i Reg, size, disp int64) Mem {
		return lw.headElem(headBase, buf, first, i, size, disp)
	}
	// A head's first element's offset is in units of qu (q's and the
	// output's) and ku (a cached row's): elements, or bytes.
	qu, ku := int64(1), int64(1)
	if headBase {
		qu, ku = 4, eb
	}
	// Each query head (its first element's offset), with its cache head
	// kh: one loop over the heads where a group's size is a power of two
	// (kh = h >> log2 group), else a loop over the cache heads and one
	// over their groups.
	// A cached key's element, its shift, a value's and their shift, in
	// the head at kb (a row's offset, kb's units as ku's).
	key := func(kb, i Reg) Mem { return elem(cb.rows, kb, i, eb, 0) }
	value := func(kb, i Reg) Mem { return elem(cb.rows, kb, i, eb, width*eb) }
	keyShift := func(t, kh, _ Reg) Mem {
		return at(cb.shifts, b.add32(b.mul32(t, b.c32(2*kvHeads)), kh), 1, 0, 1, false)
	}
	valueShift := func(t, kh, _ Reg) Mem {
		return at(cb.shifts, b.add32(b.mul32(t, b.c32(2*kvHeads)), kh), 1, kvHeads, 1, false)
	}
	rowBytes := 2 * width * ku
	if cb.shifts == nil {
		// Bytes, whatever headBase: a slot need not be whole elements.
		ku, rowBytes = 1, 2*kvHeads*cb.slot
		key = func(kb, i Reg) Mem { return cb.elem(kb, i, 0, eb) }
		value = func(kb, i Reg) Mem { return cb.elem(kb, i, kvHeads, eb) }
		keyShift = func(_, _, kb Reg) Mem { return cb.shiftAt(kb, 0) }
		valueShift = func(_, _, kb Reg) Mem { return cb.shiftAt(kb, kvHeads) }
	}
	// The offset of head kvHead's row at position t.
	rowAt := func(t, kvHead Reg) Reg { return b.add32(b.mul32(t, b.c32(rowBytes)), kvHead) }
	perHead := func(kh, head Reg) {
		kvHead := b.mul32(kh, b.c32(hd*ku))
		if cb.shifts == nil {
			kvHead = b.mul32(kh, b.c32(cb.slot))
		}
		best := b.c32(math.MinInt32)
		if lw.o.BestFromFirst {
			best = b.undef(I32) // the first pass sets it
		}
		positions(func(t Reg) {
			kb := rowAt(t, kvHead)
			dot := b.c64(0)
			b.loop(NoReg, hd, func(i Reg) {
				qv := b.load(I32, elem(q, head, i, 4, 4*qoff))
				kv := b.load(I32, key(kb, i))
				b.set(dot, OpAdd, dot, b.wide(qv, kv))
			})
			sh := b.load(I32, keyShift(t, kh, kb))
			sc := lw.rshr(b.op(OpShl, I64, dot, sh), ir.FracBits)
			score := lw.rshr(b.wide(sc, b.c32(scale)), ir.AttnScaleBits)
			b.store(i32At(scores, t, 0), score)
			higher := b.cmp(GT, score, best)
			if lw.o.BestFromFirst {
				higher = b.op(OpOr, I32, b.cmp(EQ, t, b.c32(0)), higher)
			}
			b.setSel(best, higher, score, best)
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
				b.skip(b.cmp(NE, e, b.c32(0)), func() {
					// vs first, then vb (cse shares the row's offset):
					// llama2-int8.tf's attention is 7 bytes smaller so
					// than with vs read through vb.
					vs := b.load(I32, valueShift(t, kh, rowAt(t, kvHead)))
					vb := rowAt(t, kvHead)
					accumulate := func(term func(v Reg) Reg) {
						b.loop(NoReg, hd, func(i Reg) {
							v := b.load(I32, value(vb, i))
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
				})
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
				b.store(elem(out, head, i, 4, 4*ooff), q)
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
	// A query head's cache head, h / group: a shift where the group is a
	// power of two, else a multiply and a shift where one is exact for
	// every head (divMagic: gelu-random's groups of 3, 9 bytes fewer than
	// the nest below, whose group counter lives in memory).
	var cacheHead func(h Reg) Reg
	if m, s, ok := divMagic(heads, group); group&(group-1) == 0 {
		cacheHead = func(h Reg) Reg {
			if s := bits.TrailingZeros64(uint64(group)); s > 0 {
				return b.imm(OpShrI, I32, h, int64(s))
			}
			return h
		}
	} else if ok {
		cacheHead = func(h Reg) Reg { return b.imm(OpShrI, I32, b.mul32(h, b.c32(m)), s) }
	}
	if cacheHead != nil {
		b.loop(NoReg, heads, func(h Reg) { perHead(cacheHead(h), b.mul32(h, b.c32(hd*qu))) })
		return
	}
	b.loop(NoReg, kvHeads, func(kh Reg) {
		b.loop(NoReg, group, func(g Reg) {
			perHead(kh, b.mul32(b.add32(b.mul32(kh, b.c32(group)), g), b.c32(hd*qu)))
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

// divMagic is a multiplier m and a shift s with (h·m) >> s = h / d for
// every h below n, m at most 2^15 (ok false: none).
func divMagic(n, d int64) (m, s int64, ok bool) {
	for s = 1; s <= 15; s++ {
		m = ((int64(1) << s) + d - 1) / d
		ok = true
		for h := int64(0); h < n && ok; h++ {
			ok = (h*m)>>s == h/d
		}
		if ok {
			return m, s, true
		}
	}
	return 0, 0, false
}
