package isel

import (
	"fmt"

	x86 "tfc/codegen/x86_16"
	"tfc/ir"
)

// store quantizes k and v into the cache at pos through a subroutine
// per head shape: the source, the first value's place and, in addrTmp,
// its shift byte's; the heads in addrCount; in addrW the mask (1 for the
// values) of what goes into addrBigShift.
func (e *fast) store(op *ir.Op, l *Layout) {
	c := op.Cache
	loc := l.Caches[c]
	qb := c.Bits / 8
	e.pointCache()
	name, args := e.storeSub(c)
	for n, v := range op.Args {
		q, sh := loc.K, loc.KS
		if n == 1 {
			q, sh = loc.V, loc.VS
		}
		e.i(x86.MOVZX, x86.EAX, low16(addrPos))
		e.i(x86.IMUL, args[1], x86.EAX, x86.Imm(int64(c.Width*qb)))
		e.i(x86.IMUL, x86.EAX, x86.EAX, x86.Imm(int64(c.Heads())))
		if !e.seg {
			e.i(x86.ADD, args[1], low32(addrLayerC))
			e.i(x86.ADD, x86.EAX, low32(addrLayerC))
		}
		e.i(x86.ADD, args[1], x86.Imm(int64(q)))
		e.i(x86.ADD, x86.EAX, x86.Imm(int64(sh)))
		e.i(x86.MOV, low32(addrTmp), x86.EAX)
		e.i(x86.MOV, args[0], x86.Imm(int64(l.VarAddr(v))))
		e.i(x86.MOV, low16(addrCount), x86.Imm(int64(c.Heads())))
		e.i(x86.MOV, low32(addrW), x86.Imm(int64(n)))
		e.i(x86.CALL, x86.Label(name))
	}
}

// storeSub quantizes head by head (ir.Sim store): m = max|x| over the head
// (unsigned, without branches), the smallest shift s with rshr(m, s) <=
// qmax into a byte, each value as rshr(x, s) into a word (int16) or byte
// (int8). s comes from the top bit p of m: s = p − bits + 2 when that is
// positive, plus one when the rounded maximum still passes qmax
// (ir.KVShift).
func (e *fast) storeSub(c *ir.Cache) (string, []x86.Reg) {
	qb := c.Bits / 8
	hd := c.HeadDim
	qmax := int64(1)<<(c.Bits-1) - 1
	name := fmt.Sprintf("store.%dx%d", hd, c.Bits)
	return e.sub(name, func(k *kern) {
		src, dst, sb := k.v(), k.v(), k.v()
		k.in(src, dst)
		head := name + ".head"
		k.label(head)
		m, a, t := k.v(), k.v(), k.v()
		k.i(x86.XOR, m, m)
		for i := 0; i < hd; i++ {
			k.i(x86.MOV, x86.EAX, x86.D(x86.Ptr32(src, x86.NoReg, 1, int32(4*i))))
			k.i(x86.CDQ)
			k.i(x86.XOR, x86.EAX, x86.EDX)
			k.i(x86.SUB, x86.EAX, x86.EDX)
			k.i(x86.CMP, m, x86.EAX)
			k.i(x86.SBB, t, t)
			k.i(x86.XOR, x86.EAX, m)
			k.i(x86.AND, x86.EAX, t)
			k.i(x86.XOR, m, x86.EAX)
		}
		// s = max(0, bsr(m|1) − bits + 2) in ecx.
		k.i(x86.MOV, a, m)
		k.i(x86.OR, a, x86.Imm(1))
		k.i(x86.BSR, x86.ECX, a)
		k.i(x86.SUB, x86.ECX, x86.Imm(int64(c.Bits-2)))
		k.i(x86.MOV, t, x86.ECX)
		k.i(x86.SAR, t, x86.Imm(31))
		k.i(x86.NOT, t)
		k.i(x86.AND, x86.ECX, t)
		// half = 2^s >> 1; one more when (m + half) >> s > qmax.
		half := k.v()
		k.i(x86.MOV, half, x86.Imm(1))
		k.i(x86.SHL, half, x86.CL)
		k.i(x86.SHR, half, x86.Imm(1))
		k.i(x86.ADD, m, half)
		k.i(x86.SHR, m, x86.CL)
		k.i(x86.CMP, m, x86.Imm(qmax+1))
		k.i(x86.SBB, x86.ECX, x86.Imm(-1))
		// addrBigShift |= (s > 8) & addrW
		k.i(x86.MOV, t, x86.ECX)
		k.i(x86.SUB, t, x86.Imm(31-ir.ExpBits))
		k.i(x86.NOT, t)
		k.i(x86.SHR, t, x86.Imm(31))
		k.i(x86.AND, t, low32(addrW))
		k.i(x86.OR, low32(addrBigShift), t)
		k.i(x86.MOV, sb, low32(addrTmp))
		k.i(x86.MOV, x86.B(e.far(x86.Ptr32(sb, x86.NoReg, 1, 0), x86.FS)), x86.CL)
		k.i(x86.INC, low32(addrTmp))
		k.i(x86.MOV, half, x86.Imm(1))
		k.i(x86.SHL, half, x86.CL)
		k.i(x86.SHR, half, x86.Imm(1))
		for i := 0; i < hd; i++ {
			k.i(x86.MOV, x86.EAX, x86.D(x86.Ptr32(src, x86.NoReg, 1, int32(4*i))))
			k.i(x86.CDQ)
			k.i(x86.ADD, x86.EAX, half)
			k.i(x86.ADC, x86.EDX, x86.Imm(0))
			k.i(x86.SHRD, x86.EAX, x86.EDX, x86.CL)
			dm := e.far(x86.Ptr32(dst, x86.NoReg, 1, int32(i*qb)), x86.FS)
			if qb == 2 {
				k.i(x86.MOV, x86.W(dm), x86.AX)
			} else {
				k.i(x86.MOV, x86.B(dm), x86.AL)
			}
		}
		k.i(x86.ADD, dst, x86.Imm(int64(hd*qb)))
		k.i(x86.ADD, src, x86.Imm(int64(4*hd)))
		k.i(x86.DEC, low16(addrCount))
		k.i(x86.JNE, x86.Label(head))
		k.i(x86.RET)
	})
}

// abs is the dword at an absolute address (a var or a scratch buffer),
// with 32-bit addressing.
func abs(a int32) x86.Mem { return x86.D(x86.Ptr32(x86.NoReg, x86.NoReg, 1, a)) }

// loadCached sign-extends the cached value at [base+disp] into eax.
func (k *kern) loadCached(c *ir.Cache, base x86.Reg, disp int32) {
	m := k.f.far(x86.Ptr32(base, x86.NoReg, 1, disp), x86.FS)
	if c.Bits == 8 {
		k.i(x86.MOVSX, x86.EAX, x86.B(m))
	} else {
		k.i(x86.MOVSX, x86.EAX, x86.W(m))
	}
}

// cachePtr sets r to this layer's cache region (flat) plus the dword at
// off: an offset within the region, which is FS in the segmented model.
func (k *kern) cachePtr(r x86.Reg, off uint16) {
	k.i(x86.MOV, r, low32(off))
	if !k.f.seg {
		k.i(x86.ADD, r, low32(addrLayerC))
	}
}

// expLookup sets eax to exp(−d) from the table (ir.ExpLookup) for d in
// eax, below ExpLimit. j and dt are scratch; T[j] is read once.
func (k *kern) expLookup(tab int32, j, dt x86.Reg) {
	at := func(disp int32) x86.Mem { return x86.D(k.f.far(x86.Ptr32(x86.NoReg, j, 4, tab+disp), x86.ES)) }
	k.i(x86.MOV, j, x86.EAX)
	k.i(x86.SHR, j, x86.Imm(ir.ExpStepBits))
	k.i(x86.AND, x86.EAX, x86.Imm(1<<ir.ExpStepBits-1))
	k.i(x86.MOV, dt, at(4))
	k.i(x86.MOV, j, at(0))
	k.i(x86.SUB, dt, j)
	k.i(x86.IMUL, dt)
	k.rshr64(ir.ExpStepBits)
	k.i(x86.ADD, x86.EAX, j)
}

// attention, per query head and its kv head (ir.Sim.attention): the
// scores of positions 0..pos into Att and their maximum; then per position
// e = exp(max − score), their sum, and e·(v << shift) added to D 64-bit
// sums in Acc; then each sum divided by Σe, rounding halves away from
// zero. e << shift is one multiplier while no value shift has passed 8
// (e is at most 2^22); after that (addrBigShift) each product is shifted
// in 64 bits. The loops over a head's D elements are unrolled (the
// multiplier's values read a dword at a time); a position whose e is 0
// (often about half of them) skips its products. q is copied to Acc for
// the score loop, which then reads it at fixed addresses. Three pointers
// walk the positions: keys (values at the same distance), shift bytes,
// scores.
func (e *fast) attention(op *ir.Op, l *Layout) {
	c, hd := op.Cache, op.HeadDim
	loc := l.Caches[c]
	qb := c.Bits / 8
	H := c.Heads()
	heads := op.Args[0].Len / hd
	group := heads / H
	stride := int64(c.Width * qb)
	att, acc := int32(l.Att), int32(l.Acc)
	tab := int32(e.pointData(l.Tables[op.Table]))
	e.pointCache()
	e.opSub(func(k *kern) {
		k.i(x86.MOV, low32(addrX), x86.Imm(int64(l.VarAddr(op.Args[0]))))
		k.i(x86.MOV, low32(addrY), x86.Imm(int64(l.VarAddr(op.Dst))))
		k.i(x86.MOV, low32(addrW), x86.Imm(0))
		k.i(x86.MOV, low32(addrAttAux), x86.Imm(0))
		k.i(x86.MOV, low16(addrHead), x86.Imm(int64(heads)))
		k.i(x86.MOV, low16(addrCount), x86.Imm(int64(group)))
		end := k.v() // addrEnd: the end of this step's scores
		k.i(x86.MOVZX, end, low16(addrPos))
		k.i(x86.LEA, end, x86.Ptr32(x86.NoReg, end, 4, att+4))
		k.i(x86.MOV, low32(addrEnd), end)

		head := e.fresh("head")
		k.label(head)
		qp, qv := k.v(), k.v()
		k.i(x86.MOV, qp, low32(addrX))
		for i := 0; i < hd; i++ {
			k.i(x86.MOV, qv, x86.D(x86.Ptr32(qp, x86.NoReg, 1, int32(4*i))))
			k.i(x86.MOV, abs(acc+int32(4*i)), qv)
		}

		// Scores and their maximum.
		kp, sp, ap, lo, hi := k.v(), k.v(), k.v(), k.v(), k.v()
		k.cachePtr(kp, addrW)
		k.cachePtr(sp, addrAttAux)
		k.i(x86.MOV, ap, x86.Imm(int64(att)))
		k.i(x86.MOV, low32(addrBest), x86.Imm(-1<<31))
		score := e.fresh("score")
		k.label(score)
		for i := 0; i < hd; i++ {
			k.loadCached(c, kp, int32(loc.K)+int32(i*qb))
			k.i(x86.IMUL, abs(acc+int32(4*i)))
			switch i {
			case 0:
				k.i(x86.MOV, lo, x86.EAX)
				k.i(x86.MOV, hi, x86.EDX)
			case hd - 1:
				k.i(x86.ADD, x86.EAX, lo)
				k.i(x86.ADC, x86.EDX, hi)
			default:
				k.i(x86.ADD, lo, x86.EAX)
				k.i(x86.ADC, hi, x86.EDX)
			}
		}
		k.i(x86.MOVZX, x86.ECX, x86.B(e.far(x86.Ptr32(sp, x86.NoReg, 1, int32(loc.KS)), x86.FS)))
		k.i(x86.SHLD, x86.EDX, x86.EAX, x86.CL)
		k.i(x86.SHL, x86.EAX, x86.CL)
		k.rshr64(ir.FracBits)
		k.i(x86.MOV, x86.EDX, x86.Imm(ir.AttnScale(hd)))
		k.i(x86.IMUL, x86.EDX)
		k.rshr64(ir.AttnScaleBits)
		k.i(x86.MOV, x86.D(x86.Ptr32(ap, x86.NoReg, 1, 0)), x86.EAX)
		// A branch costs less than keeping the maximum without one, which
		// takes two more memory operands.
		nomax := e.fresh("nomax")
		k.i(x86.CMP, x86.EAX, low32(addrBest))
		k.i(x86.JLE, x86.Label(nomax))
		k.i(x86.MOV, low32(addrBest), x86.EAX)
		k.label(nomax)
		k.i(x86.ADD, kp, x86.Imm(stride))
		k.i(x86.ADD, sp, x86.Imm(int64(H)))
		k.i(x86.ADD, ap, x86.Imm(4))
		k.i(x86.CMP, ap, low32(addrEnd))
		k.i(x86.JB, x86.Label(score))

		// Exponentials, their sum and the weighted values.
		for i := 0; i < 2*hd; i++ {
			k.i(x86.MOV, abs(acc+int32(4*i)), x86.Imm(0))
		}
		// The sum of the e waits in addrTmp, which leaves a register to
		// unpack the values.
		vp, vsp, vap := k.v(), k.v(), k.v()
		k.cachePtr(vp, addrW)
		k.cachePtr(vsp, addrAttAux)
		k.i(x86.MOV, vap, x86.Imm(int64(att)))
		k.i(x86.MOV, low32(addrTmp), x86.Imm(0))
		j, dt, m, t := k.v(), k.v(), k.v(), k.v()
		values := func(t x86.Reg, use func(i int)) {
			k.unpack(qb, hd, func(off int32) x86.Mem { return e.far(x86.Ptr32(vp, x86.NoReg, 1, int32(loc.V)+off), x86.FS) }, t, use)
		}
		// exp adds e to the sum and leaves it in eax, the value shift in cl;
		// a position whose e is 0 goes to skip (many do: the branch saves
		// more than it costs).
		exp := func(skip string) {
			k.i(x86.MOV, x86.EAX, low32(addrBest))
			k.i(x86.SUB, x86.EAX, x86.D(x86.Ptr32(vap, x86.NoReg, 1, 0)))
			k.i(x86.CMP, x86.EAX, x86.Imm(ir.ExpLimit))
			k.i(x86.JAE, x86.Label(skip))
			k.expLookup(tab, j, dt)
			k.i(x86.ADD, low32(addrTmp), x86.EAX)
			k.i(x86.MOVZX, x86.ECX, x86.B(e.far(x86.Ptr32(vsp, x86.NoReg, 1, int32(loc.VS)), x86.FS)))
		}
		next := func(skip, top string) {
			k.label(skip)
			k.i(x86.ADD, vp, x86.Imm(stride))
			k.i(x86.ADD, vsp, x86.Imm(int64(H)))
			k.i(x86.ADD, vap, x86.Imm(4))
			k.i(x86.CMP, vap, low32(addrEnd))
			k.i(x86.JB, x86.Label(top))
		}
		vt, slow, done := e.fresh("vt"), e.fresh("vslow"), e.fresh("vdone")
		vskip, sskip := e.fresh("vskip"), e.fresh("sskip")
		k.i(x86.CMP, low32(addrBigShift), x86.Imm(0))
		k.i(x86.JNE, x86.Label(slow))
		k.label(vt)
		exp(vskip)
		k.i(x86.SHL, x86.EAX, x86.CL)
		k.i(x86.MOV, m, x86.EAX)
		values(t, func(i int) {
			k.i(x86.IMUL, m)
			k.i(x86.ADD, abs(acc+int32(8*i)), x86.EAX)
			k.i(x86.ADC, abs(acc+int32(8*i+4)), x86.EDX)
		})
		next(vskip, vt)
		k.i(x86.JMP, x86.Label(done))
		// (e·v) << shift in 64 bits: cl is taken, the values are read one by
		// one.
		k.label(slow)
		exp(sskip)
		ev := k.v()
		k.i(x86.MOV, ev, x86.EAX)
		for i := 0; i < hd; i++ {
			k.loadCached(c, vp, int32(loc.V)+int32(i*qb))
			k.i(x86.IMUL, ev)
			k.i(x86.SHLD, x86.EDX, x86.EAX, x86.CL)
			k.i(x86.SHL, x86.EAX, x86.CL)
			k.i(x86.ADD, abs(acc+int32(8*i)), x86.EAX)
			k.i(x86.ADC, abs(acc+int32(8*i+4)), x86.EDX)
		}
		next(sskip, slow)
		k.label(done)

		// out_i = acc_i / sum, halves away from zero: the magnitude plus sum/2
		// divided unsigned (sum may pass 2^31), the sign put back.
		o, half, s, sum := k.v(), k.v(), k.v(), k.v()
		k.i(x86.MOV, sum, low32(addrTmp))
		k.i(x86.MOV, o, low32(addrY))
		k.i(x86.MOV, half, sum)
		k.i(x86.SHR, half, x86.Imm(1))
		for i := 0; i < hd; i++ {
			k.i(x86.MOV, x86.EAX, abs(acc+int32(8*i)))
			k.i(x86.MOV, x86.EDX, abs(acc+int32(8*i+4)))
			k.i(x86.MOV, s, x86.EDX)
			k.i(x86.SAR, s, x86.Imm(31))
			k.i(x86.XOR, x86.EAX, s)
			k.i(x86.XOR, x86.EDX, s)
			k.i(x86.SUB, x86.EAX, s)
			k.i(x86.SBB, x86.EDX, s)
			k.i(x86.ADD, x86.EAX, half)
			k.i(x86.ADC, x86.EDX, x86.Imm(0))
			k.i(x86.DIV, sum)
			k.i(x86.XOR, x86.EAX, s)
			k.i(x86.SUB, x86.EAX, s)
			k.i(x86.MOV, x86.D(x86.Ptr32(o, x86.NoReg, 1, int32(4*i))), x86.EAX)
		}

		same := e.fresh("same")
		k.i(x86.ADD, low32(addrX), x86.Imm(int64(4*hd)))
		k.i(x86.ADD, low32(addrY), x86.Imm(int64(4*hd)))
		k.i(x86.DEC, low16(addrCount))
		k.i(x86.JNE, x86.Label(same))
		k.i(x86.MOV, low16(addrCount), x86.Imm(int64(group)))
		k.i(x86.ADD, low32(addrW), x86.Imm(int64(hd*qb)))
		k.i(x86.INC, low32(addrAttAux))
		k.label(same)
		k.i(x86.DEC, low16(addrHead))
		k.i(x86.JNE, x86.Label(head))
	})
}
