package isel

import (
	. "tfc/codegen/x86_16"
	"tfc/ir"
)

// cacheAddr sets r to this layer's cache region plus off plus pos·stride
// (segmented: the offset in FS, which pointCache set).
func (e *fast) cacheAddr(r Reg, off uint32, stride int) {
	e.i(MOVZX, EAX, low16(addrPos))
	e.i(IMUL, r, EAX, Imm(int64(stride)))
	e.addCache(r)
	if off != 0 {
		e.i(ADD, r, Imm(int64(off)))
	}
}

// store quantizes k and v into the cache at pos, head by head: the
// smallest shift s with rshr(max|x|, s) <= qmax goes into a byte, each
// value as rshr(x, s) into a word (int16) or byte (int8).
func (e *fast) store(op *ir.Op, l *Layout) {
	c := op.Cache
	loc := l.Caches[c]
	qb := c.Bits / 8
	e.pointCache()
	for i, v := range op.Args {
		q, sh := loc.K, loc.KS
		if i == 1 {
			q, sh = loc.V, loc.VS
		}
		e.cacheAddr(EDI, q, c.Width*qb)
		e.cacheAddr(EBX, sh, c.Heads())
		e.i(MOV, ESI, Imm(int64(l.VarAddr(v))))
		e.i(MOV, low16(addrCount), Imm(int64(c.Heads())))
		head, mx, keep, shift, rounded, done, quant := e.fresh("khead"), e.fresh("kmax"), e.fresh("kkeep"),
			e.fresh("kshift"), e.fresh("kround"), e.fresh("kdone"), e.fresh("kq")
		e.label(head)
		e.i(XOR, EBP, EBP)
		e.i(MOV, ECX, Imm(int64(c.HeadDim)))
		e.label(mx)
		e.i(MOV, EAX, m32(ESI, ECX, 4, ^uint32(3)))
		e.i(CDQ)
		e.i(XOR, EAX, EDX)
		e.i(SUB, EAX, EDX)
		e.i(CMP, EAX, EBP)
		e.i(JBE, Label(keep))
		e.i(MOV, EBP, EAX)
		e.label(keep)
		e.loop(mx)
		// ecx = 0 here: try shifts 0, 1, … until the rounded maximum fits.
		e.label(shift)
		e.i(MOV, EAX, EBP)
		e.i(JCXZ, Label(rounded))
		e.i(MOV, EDX, Imm(1))
		e.i(SHL, EDX, CL)
		e.i(SHR, EDX, Imm(1))
		e.i(ADD, EAX, EDX)
		e.i(SHR, EAX, CL)
		e.label(rounded)
		e.i(CMP, EAX, Imm(int64(1)<<(c.Bits-1)-1))
		e.i(JBE, Label(done))
		e.i(INC, CX)
		e.i(JMP, Label(shift))
		e.label(done)
		e.i(MOV, e.far(B(Ptr32(EBX, NoReg, 1, 0)), FS), CL)
		e.i(INC, EBX)
		e.i(MOV, EDX, Imm(1))
		e.i(SHL, EDX, CL)
		e.i(SHR, EDX, Imm(1))
		e.i(MOV, EBP, EDX)
		e.i(MOV, CH, Imm(int64(c.HeadDim)))
		e.label(quant)
		e.i(MOV, EAX, m32(ESI, NoReg, 1, 0))
		e.i(CDQ)
		e.i(ADD, EAX, EBP)
		e.i(ADC, EDX, Imm(0))
		e.i(SHRD, EAX, EDX, CL)
		if qb == 2 {
			e.i(MOV, e.far(W(Ptr32(EDI, NoReg, 1, 0)), FS), AX)
		} else {
			e.i(MOV, e.far(B(Ptr32(EDI, NoReg, 1, 0)), FS), AL)
		}
		e.i(ADD, EDI, Imm(int64(qb)))
		e.i(ADD, ESI, Imm(4))
		e.i(DEC, CH)
		e.i(JNE, Label(quant))
		e.i(DEC, low16(addrCount))
		e.i(JNE, Label(head))
	}
}

// loadCached sign-extends the cached value at [base+index*qb+disp] into eax.
func (e *fast) loadCached(c *ir.Cache, base, index Reg, disp uint32) {
	qb := c.Bits / 8
	m := e.far(Ptr32(base, index, qb, int32(disp)), FS)
	if qb == 1 {
		e.i(MOVSX, EAX, B(m))
	} else {
		e.i(MOVSX, EAX, W(m))
	}
}

// attention, head by head: scores of positions 0..pos into Att with their
// maximum, then e_t = exp(max − score_t) in place and their sum, then
// Σ_t (e_t·v_t) << shift_t into 64-bit sums, each divided by the sum with
// rounding (ir.Sim.attention).
func (e *fast) attention(op *ir.Op, l *Layout) {
	c, D := op.Cache, op.HeadDim
	loc := l.Caches[c]
	qb := c.Bits / 8
	heads := op.Args[0].Len / D
	group := heads / c.Heads()
	att, acc := l.Att, l.Acc
	exp := e.pointData(l.Tables[op.Table])
	e.pointCache()
	e.i(MOV, low32(addrQ), Imm(int64(l.VarAddr(op.Args[0]))))
	e.i(MOV, low32(addrOut), Imm(int64(l.VarAddr(op.Dst))))
	e.i(MOV, low16(addrHead), Imm(0))
	head := e.fresh("head")
	e.label(head)
	// kv head = head / group
	e.i(MOV, AX, low16(addrHead))
	e.i(MOV, BL, Imm(int64(group)))
	e.i(DIV, BL)
	e.i(MOVZX, EAX, AL)
	e.i(MOV, low32(addrKHI), EAX)

	// Scores.
	e.i(MOV, low32(addrBest), Imm(-1<<31))
	e.i(MOV, low32(addrT), Imm(0))
	score, nomax := e.fresh("score"), e.fresh("nomax")
	e.label(score)
	e.i(MOV, EAX, low32(addrT))
	e.i(IMUL, EDI, EAX, Imm(int64(c.Width*qb)))
	e.addCache(EDI)
	e.i(MOV, EAX, low32(addrKHI))
	e.i(IMUL, EAX, EAX, Imm(int64(D*qb)))
	e.i(ADD, EDI, EAX)
	e.i(MOV, ESI, low32(addrQ))
	e.i(XOR, EBX, EBX)
	e.i(XOR, EBP, EBP)
	e.i(MOV, ECX, Imm(int64(D)))
	dot := e.fresh("dot")
	e.label(dot)
	e.loadCached(c, EDI, ECX, loc.K-uint32(qb))
	e.i(IMUL, m32(ESI, ECX, 4, ^uint32(3)))
	e.i(ADD, EBX, EAX)
	e.i(ADC, EBP, EDX)
	e.loop(dot)
	e.i(MOV, EAX, low32(addrT))
	e.i(IMUL, EAX, EAX, Imm(int64(c.Heads())))
	e.addCache(EAX)
	e.i(ADD, EAX, low32(addrKHI))
	e.i(MOVZX, ECX, e.far(B(Ptr32(EAX, NoReg, 1, int32(loc.KS))), FS))
	e.i(SHLD, EBP, EBX, CL)
	e.i(SHL, EBX, CL)
	e.rshrPair(EBX, EBP, ir.FracBits)
	e.i(MOV, EAX, EBX)
	e.i(MOV, EDX, Imm(ir.AttnScale(D)))
	e.i(IMUL, EDX)
	e.rshr64(ir.AttnScaleBits)
	e.i(MOV, ECX, low32(addrT))
	e.i(MOV, m32(NoReg, ECX, 4, att), EAX)
	e.i(CMP, EAX, low32(addrBest))
	e.i(JLE, Label(nomax))
	e.i(MOV, low32(addrBest), EAX)
	e.label(nomax)
	e.i(INC, ECX)
	e.i(MOV, low32(addrT), ECX)
	e.i(CMP, CX, low16(addrPos))
	e.i(JBE, Label(score))

	// Exponentials and their sum (esi).
	e.i(XOR, ESI, ESI)
	e.i(XOR, ECX, ECX)
	ex, zero, put := e.fresh("exp"), e.fresh("ezero"), e.fresh("eput")
	e.label(ex)
	e.i(MOV, EAX, low32(addrBest))
	e.i(SUB, EAX, m32(NoReg, ECX, 4, att))
	e.i(CMP, EAX, Imm(ir.ExpLimit))
	e.i(JAE, Label(zero))
	e.i(MOV, EBX, EAX)
	e.i(SHR, EBX, Imm(ir.ExpStepBits))
	e.i(AND, EAX, Imm(1<<ir.ExpStepBits-1))
	e.i(MOV, EDI, EAX)
	e.interpolate(exp, EBX, EDI, ir.ExpStepBits)
	e.i(JMP, Label(put))
	e.label(zero)
	e.i(XOR, EAX, EAX)
	e.label(put)
	e.i(MOV, m32(NoReg, ECX, 4, att), EAX)
	e.i(ADD, ESI, EAX)
	e.i(INC, ECX)
	e.i(CMP, CX, low16(addrPos))
	e.i(JBE, Label(ex))
	e.i(MOV, low32(addrSum), ESI)

	// Weighted values: acc[i] += (e_t · v_{t,i}) << shift_t.
	e.i(MOV, ECX, Imm(int64(2*D)))
	clr := e.fresh("clr")
	e.label(clr)
	e.i(MOV, m32(NoReg, ECX, 4, acc-4), Imm(0))
	e.loop(clr)
	e.i(MOV, low32(addrT), Imm(0))
	vt, vi := e.fresh("vt"), e.fresh("vi")
	e.label(vt)
	e.i(MOV, EAX, low32(addrT))
	e.i(IMUL, EDI, EAX, Imm(int64(c.Width*qb)))
	e.addCache(EDI)
	e.i(MOV, EBX, m32(NoReg, EAX, 4, att))
	e.i(IMUL, EAX, EAX, Imm(int64(c.Heads())))
	e.addCache(EAX)
	e.i(ADD, EAX, low32(addrKHI))
	e.i(MOV, CL, e.far(B(Ptr32(EAX, NoReg, 1, int32(loc.VS))), FS))
	e.i(MOV, EAX, low32(addrKHI))
	e.i(IMUL, EAX, EAX, Imm(int64(D*qb)))
	e.i(ADD, EDI, EAX)
	e.i(MOV, EBP, Imm(int64(D)))
	e.label(vi)
	e.loadCached(c, EDI, EBP, loc.V-uint32(qb))
	e.i(IMUL, EBX)
	e.i(SHLD, EDX, EAX, CL)
	e.i(SHL, EAX, CL)
	e.i(ADD, m32(NoReg, EBP, 8, acc-8), EAX)
	e.i(ADC, m32(NoReg, EBP, 8, acc-4), EDX)
	e.i(DEC, EBP)
	e.i(JNE, Label(vi))
	e.i(MOV, EAX, low32(addrT))
	e.i(INC, EAX)
	e.i(MOV, low32(addrT), EAX)
	e.i(CMP, AX, low16(addrPos))
	e.i(JBE, Label(vt))

	// out_i = acc_i / sum, halves away from zero: the magnitude plus sum/2
	// divided unsigned (sum may pass 2^31), the sign put back.
	e.i(MOV, EDI, low32(addrOut))
	e.i(MOV, EBX, low32(addrSum))
	e.i(MOV, ESI, EBX)
	e.i(SHR, ESI, Imm(1))
	e.i(MOV, ECX, Imm(int64(D)))
	div, pos := e.fresh("div"), e.fresh("dpos")
	e.label(div)
	e.i(MOV, EAX, m32(NoReg, ECX, 8, acc-8))
	e.i(MOV, EDX, m32(NoReg, ECX, 8, acc-4))
	e.i(MOV, EBP, EDX)
	e.i(TEST, EDX, EDX)
	e.i(JNS, Label(pos))
	e.i(NEG, EAX)
	e.i(ADC, EDX, Imm(0))
	e.i(NEG, EDX)
	e.label(pos)
	e.i(ADD, EAX, ESI)
	e.i(ADC, EDX, Imm(0))
	e.i(DIV, EBX)
	e.i(TEST, EBP, EBP)
	e.i(JNS, Label(pos+"s"))
	e.i(NEG, EAX)
	e.label(pos + "s")
	e.i(MOV, m32(EDI, ECX, 4, ^uint32(3)), EAX)
	e.loop(div)

	e.i(ADD, low32(addrQ), Imm(int64(4*D)))
	e.i(ADD, low32(addrOut), Imm(int64(4*D)))
	e.i(INC, low16(addrHead))
	e.i(CMP, low16(addrHead), Imm(int64(heads)))
	e.i(JB, Label(head))
}
