package isel

import (
	"fmt"

	. "tfc/codegen/x86_16"
	"tfc/ir"
)

// rmsnorm calls the subroutine for its length with x, the weights and
// the destination in argX, argW, argY.
func (e *fast) rmsnorm(op *ir.Op, l *Layout) {
	name := e.rmsnormSub(op.Args[0].Len)
	e.pointParam(EAX, l.Params[op.Params[0]], 0)
	e.i(MOV, low32(argW), EAX)
	e.i(MOV, low32(argX), Imm(int64(l.VarAddr(op.Args[0]))))
	e.i(MOV, low32(argY), Imm(int64(l.VarAddr(op.Dst))))
	e.i(CALL, Label(name))
}

// rmsnormSub (ir.RMSInv): ss = Σ x² in 64 bits; ss/n by two divisions
// (the quotient can pass 32 bits); r = isqrt(ss/n + eps) bit by bit,
// without branches inside a step; inv = (2^38 + r/2)/r; y =
// rshr(rshr(x·inv, 22)·g, 16). Arguments in argX, argW, argY. The loops
// over the elements are unrolled; an index counts down through them.
func (e *fast) rmsnormSub(n int) string {
	name := fmt.Sprintf("rmsnorm.%d", n)
	u := unroll(n)
	at := func(base, c Reg, i int) Mem { return D(Ptr32(base, c, 4, int32(4*(i-u)))) }
	name, _ = e.sub(name, func(k *kern) {
		x, lo, hi, c := k.v(), k.v(), k.v(), k.v()
		k.i(MOV, x, low32(argX))
		k.i(XOR, lo, lo)
		k.i(XOR, hi, hi)
		k.i(MOV, c, Imm(int64(n)))
		sq := name + ".ss"
		k.label(sq)
		for i := 0; i < u; i++ {
			k.i(MOV, EAX, at(x, c, i))
			k.i(IMUL, EAX)
			k.i(ADD, lo, EAX)
			k.i(ADC, hi, EDX)
		}
		k.i(SUB, c, Imm(int64(u)))
		k.i(JNE, Label(sq))

		// v = ss/n + eps in vh:vl.
		dv, vh, vl := k.v(), k.v(), k.v()
		k.i(MOV, dv, Imm(int64(n)))
		k.i(MOV, EAX, hi)
		k.i(XOR, EDX, EDX)
		k.i(DIV, dv)
		k.i(MOV, vh, EAX)
		k.i(MOV, EAX, lo)
		k.i(DIV, dv)
		k.i(ADD, EAX, Imm(ir.RMSEps))
		k.i(ADC, vh, Imm(0))
		k.i(MOV, vl, EAX)

		// r = isqrt(v): for each bit from the top, r |= bit when
		// (r|bit)² <= v, the comparison's borrow turned into a mask.
		r, bit, t, m := k.v(), k.v(), k.v(), k.v()
		k.i(XOR, r, r)
		k.i(MOV, bit, Imm(1<<31))
		sqrt := name + ".sqrt"
		k.label(sqrt)
		k.i(MOV, EAX, r)
		k.i(OR, EAX, bit)
		k.i(MUL, EAX)
		k.i(CMP, vl, EAX)
		k.i(MOV, t, vh)
		k.i(SBB, t, EDX) // borrow: v < (r|bit)²
		k.i(CMC)
		k.i(SBB, m, m)
		k.i(AND, m, bit)
		k.i(OR, r, m)
		k.i(SHR, bit, Imm(1))
		k.i(JNE, Label(sqrt))

		inv := k.v()
		k.i(MOV, EAX, r)
		k.i(SHR, EAX, Imm(1))
		k.i(MOV, EDX, Imm(1<<(ir.FracBits+ir.RMSInvBits-32)))
		k.i(DIV, r)
		k.i(MOV, inv, EAX)

		px, pg, py, c2 := k.v(), k.v(), k.v(), k.v()
		k.i(MOV, px, low32(argX))
		k.i(MOV, pg, low32(argW))
		k.i(MOV, py, low32(argY))
		k.i(MOV, c2, Imm(int64(n)))
		out := name + ".norm"
		k.label(out)
		for i := 0; i < u; i++ {
			k.i(MOV, EAX, at(px, c2, i))
			k.i(IMUL, inv)
			k.rshr64(ir.RMSInvBits)
			k.i(IMUL, e.far(at(pg, c2, i), ES))
			k.rshr64(ir.FracBits)
			k.i(MOV, at(py, c2, i), EAX)
		}
		k.i(SUB, c2, Imm(int64(u)))
		k.i(JNE, Label(out))
		k.i(RET)
	})
	return name
}
