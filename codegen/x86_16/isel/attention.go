package isel

import (
	"fmt"

	. "tfc/codegen/x86_16"
	"tfc/ir"
)

// store quantizes k and v into the cache at pos through a subroutine
// per head shape: the source, the first value's place and, in addrTmp,
// its shift byte's; the heads in addrCount; in argW the mask (1 for the
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
		e.i(MOVZX, EAX, low16(addrPos))
		e.i(IMUL, args[1], EAX, Imm(int64(c.Width*qb)))
		e.i(IMUL, EAX, EAX, Imm(int64(c.Heads())))
		if !e.seg {
			e.i(ADD, args[1], low32(addrLayerC))
			e.i(ADD, EAX, low32(addrLayerC))
		}
		e.i(ADD, args[1], Imm(int64(q)))
		e.i(ADD, EAX, Imm(int64(sh)))
		e.i(MOV, low32(addrTmp), EAX)
		e.i(MOV, args[0], Imm(int64(l.VarAddr(v))))
		e.i(MOV, low16(addrCount), Imm(int64(c.Heads())))
		e.i(MOV, low32(argW), Imm(int64(n)))
		e.i(CALL, Label(name))
	}
}

// storeSub quantizes head by head (ir.Sim store): m = max|x| over the head
// (unsigned, without branches), the smallest shift s with rshr(m, s) <=
// qmax into a byte, each value as rshr(x, s) into a word (int16) or byte
// (int8). s comes from the top bit p of m: s = p − bits + 2 when that is
// positive, plus one when the rounded maximum still passes qmax
// (ir.KVShift).
func (e *fast) storeSub(c *ir.Cache) (string, []Reg) {
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
		k.i(XOR, m, m)
		for i := 0; i < hd; i++ {
			k.i(MOV, EAX, D(Ptr32(src, NoReg, 1, int32(4*i))))
			k.i(CDQ)
			k.i(XOR, EAX, EDX)
			k.i(SUB, EAX, EDX)
			k.i(CMP, m, EAX)
			k.i(SBB, t, t)
			k.i(XOR, EAX, m)
			k.i(AND, EAX, t)
			k.i(XOR, m, EAX)
		}
		// s = max(0, bsr(m|1) − bits + 2) in ecx.
		k.i(MOV, a, m)
		k.i(OR, a, Imm(1))
		k.i(BSR, ECX, a)
		k.i(SUB, ECX, Imm(int64(c.Bits-2)))
		k.i(MOV, t, ECX)
		k.i(SAR, t, Imm(31))
		k.i(NOT, t)
		k.i(AND, ECX, t)
		// half = 2^s >> 1; one more when (m + half) >> s > qmax.
		half := k.v()
		k.i(MOV, half, Imm(1))
		k.i(SHL, half, CL)
		k.i(SHR, half, Imm(1))
		k.i(ADD, m, half)
		k.i(SHR, m, CL)
		k.i(CMP, m, Imm(qmax+1))
		k.i(SBB, ECX, Imm(-1))
		// addrBigShift |= (s > 8) & argW
		k.i(MOV, t, ECX)
		k.i(SUB, t, Imm(31-ir.ExpBits))
		k.i(NOT, t)
		k.i(SHR, t, Imm(31))
		k.i(AND, t, low32(argW))
		k.i(OR, low32(addrBigShift), t)
		k.i(MOV, sb, low32(addrTmp))
		k.i(MOV, B(e.far(Ptr32(sb, NoReg, 1, 0), FS)), CL)
		k.i(INC, low32(addrTmp))
		k.i(MOV, half, Imm(1))
		k.i(SHL, half, CL)
		k.i(SHR, half, Imm(1))
		for i := 0; i < hd; i++ {
			k.i(MOV, EAX, D(Ptr32(src, NoReg, 1, int32(4*i))))
			k.i(CDQ)
			k.i(ADD, EAX, half)
			k.i(ADC, EDX, Imm(0))
			k.i(SHRD, EAX, EDX, CL)
			dm := e.far(Ptr32(dst, NoReg, 1, int32(i*qb)), FS)
			if qb == 2 {
				k.i(MOV, W(dm), AX)
			} else {
				k.i(MOV, B(dm), AL)
			}
		}
		k.i(ADD, dst, Imm(int64(hd*qb)))
		k.i(ADD, src, Imm(int64(4*hd)))
		k.i(DEC, low16(addrCount))
		k.i(JNE, Label(head))
		k.i(RET)
	})
}

// abs is the dword at an absolute address (a var or a scratch buffer),
// with 32-bit addressing.
func abs(a int32) Mem { return D(Ptr32(NoReg, NoReg, 1, a)) }

// loadCached sign-extends the cached value at [base+disp] into eax.
func (k *kern) loadCached(c *ir.Cache, base Reg, disp int32) {
	m := k.f.far(Ptr32(base, NoReg, 1, disp), FS)
	if c.Bits == 8 {
		k.i(MOVSX, EAX, B(m))
	} else {
		k.i(MOVSX, EAX, W(m))
	}
}

// cachePtr sets r to this layer's cache region (flat) plus the dword at
// off: an offset within the region, which is FS in the segmented model.
func (k *kern) cachePtr(r Reg, off uint16) {
	k.i(MOV, r, low32(off))
	if !k.f.seg {
		k.i(ADD, r, low32(addrLayerC))
	}
}

// addrBigShift is a dword, 0 at the start of the generation, that store
// turns non-zero for good when it gives values a shift past 8: attention
// then takes its 64-bit path (attention's softmax sum, addrSum, lives in a
// register in -O2).
const addrBigShift = addrSum

// expLookup sets eax to exp(−d) from the table (ir.ExpLookup) for d in
// eax, below ExpLimit. j and dt are scratch; T[j] is read once.
func (k *kern) expLookup(tab int32, j, dt Reg) {
	at := func(disp int32) Mem { return D(k.f.far(Ptr32(NoReg, j, 4, tab+disp), ES)) }
	k.i(MOV, j, EAX)
	k.i(SHR, j, Imm(ir.ExpStepBits))
	k.i(AND, EAX, Imm(1<<ir.ExpStepBits-1))
	k.i(MOV, dt, at(4))
	k.i(MOV, j, at(0))
	k.i(SUB, dt, j)
	k.i(IMUL, dt)
	k.rshr64(ir.ExpStepBits)
	k.i(ADD, EAX, j)
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
		k.i(MOV, low32(addrQ), Imm(int64(l.VarAddr(op.Args[0]))))
		k.i(MOV, low32(addrOut), Imm(int64(l.VarAddr(op.Dst))))
		k.i(MOV, low32(addrKH), Imm(0))
		k.i(MOV, low32(addrKHI), Imm(0))
		k.i(MOV, low16(addrHead), Imm(int64(heads)))
		k.i(MOV, low16(addrCount), Imm(int64(group)))
		end := k.v() // addrT: the end of this step's scores
		k.i(MOVZX, end, low16(addrPos))
		k.i(LEA, end, Ptr32(NoReg, end, 4, att+4))
		k.i(MOV, low32(addrT), end)

		head := e.fresh("head")
		k.label(head)
		qp, qv := k.v(), k.v()
		k.i(MOV, qp, low32(addrQ))
		for i := 0; i < hd; i++ {
			k.i(MOV, qv, D(Ptr32(qp, NoReg, 1, int32(4*i))))
			k.i(MOV, abs(acc+int32(4*i)), qv)
		}

		// Scores and their maximum.
		kp, sp, ap, lo, hi := k.v(), k.v(), k.v(), k.v(), k.v()
		k.cachePtr(kp, addrKH)
		k.cachePtr(sp, addrKHI)
		k.i(MOV, ap, Imm(int64(att)))
		k.i(MOV, low32(addrBest), Imm(-1<<31))
		score := e.fresh("score")
		k.label(score)
		for i := 0; i < hd; i++ {
			k.loadCached(c, kp, int32(loc.K)+int32(i*qb))
			k.i(IMUL, abs(acc+int32(4*i)))
			switch i {
			case 0:
				k.i(MOV, lo, EAX)
				k.i(MOV, hi, EDX)
			case hd - 1:
				k.i(ADD, EAX, lo)
				k.i(ADC, EDX, hi)
			default:
				k.i(ADD, lo, EAX)
				k.i(ADC, hi, EDX)
			}
		}
		k.i(MOVZX, ECX, B(e.far(Ptr32(sp, NoReg, 1, int32(loc.KS)), FS)))
		k.i(SHLD, EDX, EAX, CL)
		k.i(SHL, EAX, CL)
		k.rshr64(ir.FracBits)
		k.i(MOV, EDX, Imm(ir.AttnScale(hd)))
		k.i(IMUL, EDX)
		k.rshr64(ir.AttnScaleBits)
		k.i(MOV, D(Ptr32(ap, NoReg, 1, 0)), EAX)
		// A branch costs less than keeping the maximum without one, which
		// takes two more memory operands.
		nomax := e.fresh("nomax")
		k.i(CMP, EAX, low32(addrBest))
		k.i(JLE, Label(nomax))
		k.i(MOV, low32(addrBest), EAX)
		k.label(nomax)
		k.i(ADD, kp, Imm(stride))
		k.i(ADD, sp, Imm(int64(H)))
		k.i(ADD, ap, Imm(4))
		k.i(CMP, ap, low32(addrT))
		k.i(JB, Label(score))

		// Exponentials, their sum and the weighted values.
		for i := 0; i < 2*hd; i++ {
			k.i(MOV, abs(acc+int32(4*i)), Imm(0))
		}
		// The sum of the e waits in addrTmp, which leaves a register to
		// unpack the values.
		vp, vsp, vap := k.v(), k.v(), k.v()
		k.cachePtr(vp, addrKH)
		k.cachePtr(vsp, addrKHI)
		k.i(MOV, vap, Imm(int64(att)))
		k.i(MOV, low32(addrTmp), Imm(0))
		j, dt, m, t := k.v(), k.v(), k.v(), k.v()
		values := func(t Reg, use func(i int)) {
			k.unpack(qb, hd, func(off int32) Mem { return e.far(Ptr32(vp, NoReg, 1, int32(loc.V)+off), FS) }, t, use)
		}
		// exp adds e to the sum and leaves it in eax, the value shift in cl;
		// a position whose e is 0 goes to skip (many do: the branch saves
		// more than it costs).
		exp := func(skip string) {
			k.i(MOV, EAX, low32(addrBest))
			k.i(SUB, EAX, D(Ptr32(vap, NoReg, 1, 0)))
			k.i(CMP, EAX, Imm(ir.ExpLimit))
			k.i(JAE, Label(skip))
			k.expLookup(tab, j, dt)
			k.i(ADD, low32(addrTmp), EAX)
			k.i(MOVZX, ECX, B(e.far(Ptr32(vsp, NoReg, 1, int32(loc.VS)), FS)))
		}
		next := func(skip, top string) {
			k.label(skip)
			k.i(ADD, vp, Imm(stride))
			k.i(ADD, vsp, Imm(int64(H)))
			k.i(ADD, vap, Imm(4))
			k.i(CMP, vap, low32(addrT))
			k.i(JB, Label(top))
		}
		vt, slow, done := e.fresh("vt"), e.fresh("vslow"), e.fresh("vdone")
		vskip, sskip := e.fresh("vskip"), e.fresh("sskip")
		k.i(CMP, low32(addrBigShift), Imm(0))
		k.i(JNE, Label(slow))
		k.label(vt)
		exp(vskip)
		k.i(SHL, EAX, CL)
		k.i(MOV, m, EAX)
		values(t, func(i int) {
			k.i(IMUL, m)
			k.i(ADD, abs(acc+int32(8*i)), EAX)
			k.i(ADC, abs(acc+int32(8*i+4)), EDX)
		})
		next(vskip, vt)
		k.i(JMP, Label(done))
		// (e·v) << shift in 64 bits: cl is taken, the values are read one by
		// one.
		k.label(slow)
		exp(sskip)
		ev := k.v()
		k.i(MOV, ev, EAX)
		for i := 0; i < hd; i++ {
			k.loadCached(c, vp, int32(loc.V)+int32(i*qb))
			k.i(IMUL, ev)
			k.i(SHLD, EDX, EAX, CL)
			k.i(SHL, EAX, CL)
			k.i(ADD, abs(acc+int32(8*i)), EAX)
			k.i(ADC, abs(acc+int32(8*i+4)), EDX)
		}
		next(sskip, slow)
		k.label(done)

		// out_i = acc_i / sum, halves away from zero: the magnitude plus sum/2
		// divided unsigned (sum may pass 2^31), the sign put back.
		o, half, s, sum := k.v(), k.v(), k.v(), k.v()
		k.i(MOV, sum, low32(addrTmp))
		k.i(MOV, o, low32(addrOut))
		k.i(MOV, half, sum)
		k.i(SHR, half, Imm(1))
		for i := 0; i < hd; i++ {
			k.i(MOV, EAX, abs(acc+int32(8*i)))
			k.i(MOV, EDX, abs(acc+int32(8*i+4)))
			k.i(MOV, s, EDX)
			k.i(SAR, s, Imm(31))
			k.i(XOR, EAX, s)
			k.i(XOR, EDX, s)
			k.i(SUB, EAX, s)
			k.i(SBB, EDX, s)
			k.i(ADD, EAX, half)
			k.i(ADC, EDX, Imm(0))
			k.i(DIV, sum)
			k.i(XOR, EAX, s)
			k.i(SUB, EAX, s)
			k.i(MOV, D(Ptr32(o, NoReg, 1, int32(4*i))), EAX)
		}

		same := e.fresh("same")
		k.i(ADD, low32(addrQ), Imm(int64(4*hd)))
		k.i(ADD, low32(addrOut), Imm(int64(4*hd)))
		k.i(DEC, low16(addrCount))
		k.i(JNE, Label(same))
		k.i(MOV, low16(addrCount), Imm(int64(group)))
		k.i(ADD, low32(addrKH), Imm(int64(hd*qb)))
		k.i(INC, low32(addrKHI))
		k.label(same)
		k.i(DEC, low16(addrHead))
		k.i(JNE, Label(head))
	})
}
