package isel

import (
	. "tfc/codegen/x86_16"
	"tfc/ir"
)

// Elementwise kernels count ecx down from n and index every vector with it.

func (e *fast) add(op *ir.Op, l *Layout) {
	a, b, d := l.VarAddr(op.Args[0]), l.VarAddr(op.Args[1]), l.VarAddr(op.Dst)
	e.i(MOV, ECX, Imm(int64(op.Dst.Len)))
	top := e.fresh("add")
	e.label(top)
	e.i(MOV, EAX, m32(NoReg, ECX, 4, a-4))
	e.i(ADD, EAX, m32(NoReg, ECX, 4, b-4))
	e.i(MOV, m32(NoReg, ECX, 4, d-4), EAX)
	e.loop(top)
}

func (e *fast) mul(op *ir.Op, l *Layout) {
	a, b, d := l.VarAddr(op.Args[0]), l.VarAddr(op.Args[1]), l.VarAddr(op.Dst)
	e.i(MOV, ECX, Imm(int64(op.Dst.Len)))
	top := e.fresh("mul")
	e.label(top)
	e.i(MOV, EAX, m32(NoReg, ECX, 4, a-4))
	e.i(IMUL, m32(NoReg, ECX, 4, b-4))
	e.rshr64(ir.FracBits)
	e.i(MOV, m32(NoReg, ECX, 4, d-4), EAX)
	e.loop(top)
}

// gate: y = rshr(x·g(x), 30), g interpolated in the table; 0 below the
// table, x itself at or above its end.
func (e *fast) gate(op *ir.Op, l *Layout) {
	x, d := l.VarAddr(op.Args[0]), l.VarAddr(op.Dst)
	t := e.pointData(l.Tables[op.Table])
	e.i(MOV, ECX, Imm(int64(op.Dst.Len)))
	top, store := e.fresh("gate"), e.fresh("gst")
	e.label(top)
	e.i(MOV, EBX, m32(NoReg, ECX, 4, x-4))
	e.i(XOR, EAX, EAX)
	e.i(CMP, EBX, Imm(ir.GateLow))
	e.i(JL, Label(store))
	e.i(MOV, EAX, EBX)
	e.i(CMP, EBX, Imm(ir.GateHigh))
	e.i(JGE, Label(store))
	e.i(LEA, ESI, m32(EBX, NoReg, 1, uint32(-ir.GateLow)))
	e.i(MOV, EDI, ESI)
	e.i(SHR, ESI, Imm(ir.GateStepBits))
	e.i(AND, EDI, Imm(1<<ir.GateStepBits-1))
	e.interpolate(t, ESI, EDI, ir.GateStepBits)
	e.i(IMUL, EBX)
	e.rshr64(ir.GateBits)
	e.label(store)
	e.i(MOV, m32(NoReg, ECX, 4, d-4), EAX)
	e.loop(top)
}

// interpolate sets eax to T[j] + rshr((T[j+1]-T[j])·f, bits) for the table
// at t (from pointData), j in idx and f in frac (ir.GateLookup,
// ir.ExpLookup). It keeps ebx and ecx.
func (e *fast) interpolate(t uint32, idx, frac Reg, bits uint) {
	e.i(MOV, EAX, e.far(m32(NoReg, idx, 4, t+4), ES))
	e.i(SUB, EAX, e.far(m32(NoReg, idx, 4, t), ES))
	e.i(IMUL, frac)
	e.rshr64(bits)
	e.i(ADD, EAX, e.far(m32(NoReg, idx, 4, t), ES))
}

// rope rotates each pair (a, b) by the table's cos c and sin s at pos:
// a' = rshr(a·c − b·s, 30), b' = rshr(a·s + b·c, 30). ebp walks the pair's
// frequency within a head.
func (e *fast) rope(op *ir.Op, l *Layout) {
	x, d := l.VarAddr(op.Args[0]), l.VarAddr(op.Dst)
	t := e.pointData(l.Tables[op.Table])
	half := uint32(op.HeadDim / 2 * 4)
	e.i(MOVZX, EAX, low16(addrPos))
	e.i(IMUL, ESI, EAX, Imm(int64(op.HeadDim*4)))
	if t != 0 {
		e.i(ADD, ESI, Imm(int64(t)))
	}
	e.i(MOV, EBX, Imm(int64(x)))
	e.i(MOV, EDI, Imm(int64(d)))
	e.i(MOV, ECX, Imm(int64(op.Dst.Len/2)))
	e.i(XOR, EBP, EBP)
	top, next := e.fresh("rope"), e.fresh("rnext")
	e.label(top)
	a, b := m32(EBX, NoReg, 1, 0), m32(EBX, NoReg, 1, 4)
	c, s := e.far(m32(ESI, EBP, 1, 0), ES), e.far(m32(ESI, EBP, 1, half), ES)
	t0, t1, t2, t3 := low32(addrTmp), low32(addrTmp+4), low32(addrTmp+8), low32(addrTmp+12)
	e.i(MOV, EAX, a)
	e.i(IMUL, c)
	e.i(MOV, t0, EAX)
	e.i(MOV, t1, EDX)
	e.i(MOV, EAX, b)
	e.i(IMUL, s)
	e.i(SUB, t0, EAX)
	e.i(SBB, t1, EDX)
	e.i(MOV, EAX, a)
	e.i(IMUL, s)
	e.i(MOV, t2, EAX)
	e.i(MOV, t3, EDX)
	e.i(MOV, EAX, b)
	e.i(IMUL, c)
	e.i(ADD, EAX, t2)
	e.i(ADC, EDX, t3)
	e.rshr64(ir.RopeBits)
	e.i(MOV, m32(EDI, NoReg, 1, 4), EAX)
	e.i(MOV, EAX, t0)
	e.i(MOV, EDX, t1)
	e.rshr64(ir.RopeBits)
	e.i(MOV, m32(EDI, NoReg, 1, 0), EAX)
	e.i(ADD, EBX, Imm(8))
	e.i(ADD, EDI, Imm(8))
	e.i(ADD, EBP, Imm(4))
	e.i(CMP, EBP, Imm(int64(half)))
	e.i(JB, Label(next))
	e.i(XOR, EBP, EBP)
	e.label(next)
	e.loop(top)
}

// argmax leaves the first index of the largest element in next: scanning
// down, an equal element takes over, so the lowest index wins.
func (e *fast) argmax(op *ir.Op, l *Layout) {
	x := l.VarAddr(op.Args[0])
	n := op.Args[0].Len
	e.i(MOV, ECX, Imm(int64(n-1)))
	e.i(MOV, EDX, m32(NoReg, ECX, 4, x))
	e.i(MOV, EBX, ECX)
	top, done := e.fresh("amax"), e.fresh("adone")
	e.label(top)
	e.i(DEC, ECX)
	e.i(JS, Label(done))
	e.i(MOV, EAX, m32(NoReg, ECX, 4, x))
	e.i(CMP, EAX, EDX)
	e.i(JL, Label(top))
	e.i(MOV, EDX, EAX)
	e.i(MOV, EBX, ECX)
	e.i(JMP, Label(top))
	e.label(done)
	e.i(MOV, low16(addrNext), BX)
}
