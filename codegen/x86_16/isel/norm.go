package isel

import (
	"fmt"

	x86 "tfc/codegen/x86_16"
	"tfc/ir"
)

// rmsnorm calls the subroutine for its length with x, the weights and
// the destination in addrX, addrW, addrY.
func (e *fast) rmsnorm(op *ir.Op, l *Layout) {
	name := e.rmsnormSub(op.Args[0].Len)
	e.pointParam(x86.EAX, l.Params[op.Params[0]], 0)
	e.i(x86.MOV, low32(addrW), x86.EAX)
	e.i(x86.MOV, low32(addrX), x86.Imm(int64(l.VarAddr(op.Args[0]))))
	e.i(x86.MOV, low32(addrY), x86.Imm(int64(l.VarAddr(op.Dst))))
	e.i(x86.CALL, x86.Label(name))
}

// rmsnormSub (ir.RMSInv): ss = Σ x² in 64 bits; ss/n by two divisions
// (the quotient can pass 32 bits); r = isqrt(ss/n + eps) bit by bit,
// without branches inside a step; inv = (2^38 + r/2)/r; y =
// rshr(rshr(x·inv, 22)·g, 16). Arguments in addrX, addrW, addrY. The loops
// over the elements are unrolled; an index counts down through them.
func (e *fast) rmsnormSub(n int) string {
	name := fmt.Sprintf("rmsnorm.%d", n)
	u := unroll(n)
	at := func(base, c x86.Reg, i int) x86.Mem { return x86.D(x86.Ptr32(base, c, 4, int32(4*(i-u)))) }
	name, _ = e.sub(name, func(k *kern) {
		x, lo, hi, c := k.v(), k.v(), k.v(), k.v()
		k.i(x86.MOV, x, low32(addrX))
		k.i(x86.XOR, lo, lo)
		k.i(x86.XOR, hi, hi)
		k.i(x86.MOV, c, x86.Imm(int64(n)))
		sq := name + ".ss"
		k.label(sq)
		for i := 0; i < u; i++ {
			k.i(x86.MOV, x86.EAX, at(x, c, i))
			k.i(x86.IMUL, x86.EAX)
			k.i(x86.ADD, lo, x86.EAX)
			k.i(x86.ADC, hi, x86.EDX)
		}
		k.i(x86.SUB, c, x86.Imm(int64(u)))
		k.i(x86.JNE, x86.Label(sq))

		// v = ss/n + eps in vh:vl.
		dv, vh, vl := k.v(), k.v(), k.v()
		k.i(x86.MOV, dv, x86.Imm(int64(n)))
		k.i(x86.MOV, x86.EAX, hi)
		k.i(x86.XOR, x86.EDX, x86.EDX)
		k.i(x86.DIV, dv)
		k.i(x86.MOV, vh, x86.EAX)
		k.i(x86.MOV, x86.EAX, lo)
		k.i(x86.DIV, dv)
		k.i(x86.ADD, x86.EAX, x86.Imm(ir.RMSEps))
		k.i(x86.ADC, vh, x86.Imm(0))
		k.i(x86.MOV, vl, x86.EAX)

		// r = isqrt(v): for each bit from the top, r |= bit when
		// (r|bit)² <= v, the comparison's borrow turned into a mask.
		r, bit, t, m := k.v(), k.v(), k.v(), k.v()
		k.i(x86.XOR, r, r)
		k.i(x86.MOV, bit, x86.Imm(1<<31))
		sqrt := name + ".sqrt"
		k.label(sqrt)
		k.i(x86.MOV, x86.EAX, r)
		k.i(x86.OR, x86.EAX, bit)
		k.i(x86.MUL, x86.EAX)
		k.i(x86.CMP, vl, x86.EAX)
		k.i(x86.MOV, t, vh)
		k.i(x86.SBB, t, x86.EDX) // borrow: v < (r|bit)²
		k.i(x86.CMC)
		k.i(x86.SBB, m, m)
		k.i(x86.AND, m, bit)
		k.i(x86.OR, r, m)
		k.i(x86.SHR, bit, x86.Imm(1))
		k.i(x86.JNE, x86.Label(sqrt))

		inv := k.v()
		k.i(x86.MOV, x86.EAX, r)
		k.i(x86.SHR, x86.EAX, x86.Imm(1))
		k.i(x86.MOV, x86.EDX, x86.Imm(1<<(ir.FracBits+ir.RMSInvBits-32)))
		k.i(x86.DIV, r)
		k.i(x86.MOV, inv, x86.EAX)

		px, pg, py, c2 := k.v(), k.v(), k.v(), k.v()
		k.i(x86.MOV, px, low32(addrX))
		k.i(x86.MOV, pg, low32(addrW))
		k.i(x86.MOV, py, low32(addrY))
		k.i(x86.MOV, c2, x86.Imm(int64(n)))
		out := name + ".norm"
		k.label(out)
		for i := 0; i < u; i++ {
			k.i(x86.MOV, x86.EAX, at(px, c2, i))
			k.i(x86.IMUL, inv)
			k.rshr64(ir.RMSInvBits)
			k.i(x86.IMUL, e.far(at(pg, c2, i), x86.ES))
			k.rshr64(ir.FracBits)
			k.i(x86.MOV, at(py, c2, i), x86.EAX)
		}
		k.i(x86.SUB, c2, x86.Imm(int64(u)))
		k.i(x86.JNE, x86.Label(out))
		k.i(x86.RET)
	})
	return name
}
