package isel

import (
	"fmt"

	. "tfc/codegen/x86_16"
	"tfc/ir"
)

// Elementwise kernels run over vars at fixed addresses with elems: no
// element's code branches.

func (e *fast) add(op *ir.Op, l *Layout) {
	a, b, d := l.VarAddr(op.Args[0]), l.VarAddr(op.Args[1]), l.VarAddr(op.Dst)
	e.opSub(func(k *kern) {
		v := k.v()
		k.elems(op.Dst.Len, func(el elem) {
			k.i(MOV, v, el.at(a))
			k.i(ADD, v, el.at(b))
			k.i(MOV, el.at(d), v)
		})
	})
}

func (e *fast) mul(op *ir.Op, l *Layout) {
	a, b, d := l.VarAddr(op.Args[0]), l.VarAddr(op.Args[1]), l.VarAddr(op.Dst)
	e.opSub(func(k *kern) {
		k.elems(op.Dst.Len, func(el elem) {
			k.i(MOV, EAX, el.at(a))
			k.i(IMUL, el.at(b))
			k.rshr64(ir.FracBits)
			k.i(MOV, el.at(d), EAX)
		})
	})
}

// gate: y = rshr(x·g(x), 30) (ir.GateLookup): g interpolated in the table
// when u = x − GateLow is below the table's span (unsigned), else 0 for a
// negative x and 1.0 for a positive one; masks from the comparison pick
// one without a branch (an index out of the span is cleared first).
func (e *fast) gate(op *ir.Op, l *Layout) {
	x, d := l.VarAddr(op.Args[0]), l.VarAddr(op.Dst)
	tab := int32(e.pointData(l.Tables[op.Table]))
	t := func(r Reg, disp int32) Mem { return D(e.far(Ptr32(NoReg, r, 4, tab+disp), ES)) }
	e.opSub(func(k *kern) {
		xv, in, j, dt, out := k.v(), k.v(), k.v(), k.v(), k.v()
		k.elems(op.Dst.Len, func(el elem) {
			k.i(MOV, xv, el.at(x))
			k.i(LEA, in, D(Ptr32(xv, NoReg, 1, -ir.GateLow)))
			k.i(MOV, EAX, in)
			k.i(CMP, in, Imm(ir.GateHigh-ir.GateLow))
			k.i(SBB, in, in) // all ones within the table
			k.i(AND, EAX, in)
			k.i(MOV, j, EAX)
			k.i(SHR, j, Imm(ir.GateStepBits))
			k.i(AND, EAX, Imm(1<<ir.GateStepBits-1))
			k.i(MOV, dt, t(j, 4))
			k.i(MOV, j, t(j, 0))
			k.i(SUB, dt, j)
			k.i(IMUL, dt)
			k.rshr64(ir.GateStepBits)
			k.i(ADD, EAX, j)
			k.i(AND, EAX, in)
			// Outside: 1.0 (Q1.30) for x >= 0, else 0.
			k.i(MOV, out, xv)
			k.i(NOT, out)
			k.i(SAR, out, Imm(31))
			k.i(NOT, in)
			k.i(AND, out, in)
			k.i(AND, out, Imm(1<<ir.GateBits))
			k.i(OR, EAX, out)
			k.i(IMUL, xv)
			k.rshr64(ir.GateBits)
			k.i(MOV, el.at(d), EAX)
		})
	})
}

// rope rotates each pair (a, b) by the table's cos c and sin s at pos:
// a' = rshr(a·c − b·s, 30), b' = rshr(a·s + b·c, 30), a head per loop
// pass with the pairs unrolled (the table row of pos at fixed
// displacements). The result may overwrite x: a' waits in a register
// until b' is done. A subroutine per table (head size) and distance from
// x to the result; x in its argument, the end of x in argEnd.
func (e *fast) rope(op *ir.Op, l *Layout) {
	x, d := l.VarAddr(op.Args[0]), l.VarAddr(op.Dst)
	tab := e.pointData(l.Tables[op.Table])
	hd := op.HeadDim
	half := int32(hd / 2 * 4)
	delta := int32(d - x)
	name := op.Table.Name // rope<D>
	switch {
	case delta > 0:
		name += fmt.Sprintf(".%d", delta)
	case delta < 0: // a label has no minus sign
		name += fmt.Sprintf(".m%d", -delta)
	}
	name, args := e.sub(name, func(k *kern) {
		p, tb, a1, lo, hi := k.v(), k.v(), k.v(), k.v(), k.v()
		k.in(p)
		k.i(MOVZX, tb, low16(addrPos))
		k.i(IMUL, tb, tb, Imm(int64(hd*4)))
		if tab != 0 {
			k.i(ADD, tb, Imm(int64(tab)))
		}
		top := name + ".head"
		k.label(top)
		for j := 0; j < hd/2; j++ {
			a, b := D(Ptr32(p, NoReg, 1, int32(8*j))), D(Ptr32(p, NoReg, 1, int32(8*j+4)))
			c, s := D(e.far(Ptr32(tb, NoReg, 1, int32(4*j)), ES)), D(e.far(Ptr32(tb, NoReg, 1, half+int32(4*j)), ES))
			k.i(MOV, EAX, a)
			k.i(IMUL, c)
			k.i(MOV, a1, EAX)
			k.i(MOV, hi, EDX)
			k.i(MOV, EAX, b)
			k.i(IMUL, s)
			k.i(SUB, a1, EAX)
			k.i(SBB, hi, EDX)
			k.rshrPair(a1, hi, ir.RopeBits)
			k.i(MOV, EAX, a)
			k.i(IMUL, s)
			k.i(MOV, lo, EAX)
			k.i(MOV, hi, EDX)
			k.i(MOV, EAX, b)
			k.i(IMUL, c)
			k.i(ADD, EAX, lo)
			k.i(ADC, EDX, hi)
			k.rshr64(ir.RopeBits)
			k.i(MOV, D(Ptr32(p, NoReg, 1, delta+int32(8*j+4))), EAX)
			k.i(MOV, D(Ptr32(p, NoReg, 1, delta+int32(8*j))), a1)
		}
		k.i(ADD, p, Imm(int64(4*hd)))
		k.i(CMP, p, low32(argEnd))
		k.i(JB, Label(top))
		k.i(RET)
	})
	e.i(MOV, low32(argEnd), Imm(int64(x)+int64(4*op.Dst.Len)))
	e.i(MOV, args[0], Imm(int64(x)))
	e.i(CALL, Label(name))
}

// argmax leaves the first index of the largest element in next. The
// elements are compared unsigned with their sign bits flipped, and the
// borrow of the comparison becomes the mask that takes the element and
// its index; the index counts up from −n, so that the first of equals
// stays.
func (e *fast) argmax(op *ir.Op, l *Layout) {
	x := l.VarAddr(op.Args[0])
	n := op.Args[0].Len
	u := unroll(n)
	e.opSub(func(k *kern) {
		c, best, idx, v, m, t := k.v(), k.v(), k.v(), k.v(), k.v(), k.v()
		k.i(XOR, best, best) // −2^31, flipped
		k.i(MOV, idx, Imm(int64(-n)))
		k.i(MOV, c, Imm(int64(-n)))
		top := e.fresh("amax")
		k.label(top)
		for i := 0; i < u; i++ {
			k.i(MOV, v, D(Ptr32(NoReg, c, 4, int32(x)+int32(4*(n+i)))))
			k.i(XOR, v, Imm(-1<<31))
			k.i(CMP, best, v)
			k.i(SBB, m, m) // all ones when the element is larger
			k.i(XOR, v, best)
			k.i(AND, v, m)
			k.i(XOR, best, v)
			k.i(LEA, t, D(Ptr32(c, NoReg, 1, int32(i))))
			k.i(XOR, t, idx)
			k.i(AND, t, m)
			k.i(XOR, idx, t)
		}
		k.i(ADD, c, Imm(int64(u)))
		k.i(JNE, Label(top))
		k.i(ADD, idx, Imm(int64(n)))
		k.i(MOV, low16(addrNext), w16(idx))
	})
}
