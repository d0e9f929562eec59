package isel

import (
	. "tfc/codegen/x86_16"
	"tfc/ir"
)

// rmsnorm (ir.RMSInv): ss = Σ x² in edi:ebx; ss/n by two divisions (the
// quotient can pass 32 bits); r = isqrt(ss/n + eps) bit by bit in ebp;
// inv = (2^38 + r/2)/r; y = rshr(rshr(x·inv, 22)·g, 16).
func (e *fast) rmsnorm(op *ir.Op, l *Layout) {
	x, d := l.VarAddr(op.Args[0]), l.VarAddr(op.Dst)
	n := op.Args[0].Len
	e.i(MOV, ECX, Imm(int64(n)))
	e.i(XOR, EBX, EBX)
	e.i(XOR, EDI, EDI)
	sq := e.fresh("ss")
	e.label(sq)
	e.i(MOV, EAX, m32(NoReg, ECX, 4, x-4))
	e.i(IMUL, EAX)
	e.i(ADD, EBX, EAX)
	e.i(ADC, EDI, EDX)
	e.loop(sq)

	e.i(MOV, ECX, Imm(int64(n)))
	e.i(MOV, EAX, EDI)
	e.i(XOR, EDX, EDX)
	e.i(DIV, ECX)
	e.i(MOV, EDI, EAX)
	e.i(MOV, EAX, EBX)
	e.i(DIV, ECX)
	e.i(ADD, EAX, Imm(ir.RMSEps))
	e.i(ADC, EDI, Imm(0))
	e.i(MOV, EBX, EAX)

	e.i(XOR, EBP, EBP)
	e.i(MOV, ECX, Imm(1<<31))
	bit, take, skip := e.fresh("sqrt"), e.fresh("take"), e.fresh("skip")
	e.label(bit)
	e.i(MOV, ESI, EBP)
	e.i(OR, ESI, ECX)
	e.i(MOV, EAX, ESI)
	e.i(MUL, EAX)
	e.i(CMP, EDX, EDI)
	e.i(JA, Label(skip))
	e.i(JB, Label(take))
	e.i(CMP, EAX, EBX)
	e.i(JA, Label(skip))
	e.label(take)
	e.i(MOV, EBP, ESI)
	e.label(skip)
	e.i(SHR, ECX, Imm(1))
	e.i(JNE, Label(bit))

	e.i(MOV, EAX, EBP)
	e.i(SHR, EAX, Imm(1))
	e.i(MOV, EDX, Imm(1<<(ir.FracBits+ir.RMSInvBits-32)))
	e.i(DIV, EBP)
	e.i(MOV, EBP, EAX)

	e.pointParam(EBX, l.Params[op.Params[0]], 0)
	e.i(MOV, ECX, Imm(int64(n)))
	out := e.fresh("norm")
	e.label(out)
	e.i(MOV, EAX, m32(NoReg, ECX, 4, x-4))
	e.i(IMUL, EBP)
	e.rshr64(ir.RMSInvBits)
	e.i(IMUL, e.far(m32(EBX, ECX, 4, ^uint32(3)), ES))
	e.rshr64(ir.FracBits)
	e.i(MOV, m32(NoReg, ECX, 4, d-4), EAX)
	e.loop(out)
}
