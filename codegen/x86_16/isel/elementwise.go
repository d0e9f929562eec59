package isel

import (
	"fmt"

	x86 "tfc/codegen/x86_16"
	"tfc/ir"
)

// Elementwise kernels run over vars at fixed addresses with elems: no
// element's code branches.

func (e *fast) add(op *ir.Op, l *Layout) {
	a, b, d := l.VarAddr(op.Args[0]), l.VarAddr(op.Args[1]), l.VarAddr(op.Dst)
	e.opSub(func(k *kern) {
		v := k.v()
		k.elems(op.Dst.Len, func(el elem) {
			k.i(x86.MOV, v, el.at(a))
			k.i(x86.ADD, v, el.at(b))
			k.i(x86.MOV, el.at(d), v)
		})
	})
}

func (e *fast) mul(op *ir.Op, l *Layout) {
	a, b, d := l.VarAddr(op.Args[0]), l.VarAddr(op.Args[1]), l.VarAddr(op.Dst)
	e.opSub(func(k *kern) {
		k.elems(op.Dst.Len, func(el elem) {
			k.i(x86.MOV, x86.EAX, el.at(a))
			k.i(x86.IMUL, el.at(b))
			k.rshr64(ir.FracBits)
			k.i(x86.MOV, el.at(d), x86.EAX)
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
	t := func(r x86.Reg, disp int32) x86.Mem { return x86.D(e.far(x86.Ptr32(x86.NoReg, r, 4, tab+disp), x86.ES)) }
	e.opSub(func(k *kern) {
		xv, in, j, dt, out := k.v(), k.v(), k.v(), k.v(), k.v()
		k.elems(op.Dst.Len, func(el elem) {
			k.i(x86.MOV, xv, el.at(x))
			k.i(x86.LEA, in, x86.D(x86.Ptr32(xv, x86.NoReg, 1, -ir.GateLow)))
			k.i(x86.MOV, x86.EAX, in)
			k.i(x86.CMP, in, x86.Imm(ir.GateHigh-ir.GateLow))
			k.i(x86.SBB, in, in) // all ones within the table
			k.i(x86.AND, x86.EAX, in)
			k.i(x86.MOV, j, x86.EAX)
			k.i(x86.SHR, j, x86.Imm(ir.GateStepBits))
			k.i(x86.AND, x86.EAX, x86.Imm(1<<ir.GateStepBits-1))
			k.i(x86.MOV, dt, t(j, 4))
			k.i(x86.MOV, j, t(j, 0))
			k.i(x86.SUB, dt, j)
			k.i(x86.IMUL, dt)
			k.rshr64(ir.GateStepBits)
			k.i(x86.ADD, x86.EAX, j)
			k.i(x86.AND, x86.EAX, in)
			// Outside: 1.0 (Q1.30) for x >= 0, else 0.
			k.i(x86.MOV, out, xv)
			k.i(x86.NOT, out)
			k.i(x86.SAR, out, x86.Imm(31))
			k.i(x86.NOT, in)
			k.i(x86.AND, out, in)
			k.i(x86.AND, out, x86.Imm(1<<ir.GateBits))
			k.i(x86.OR, x86.EAX, out)
			k.i(x86.IMUL, xv)
			k.rshr64(ir.GateBits)
			k.i(x86.MOV, el.at(d), x86.EAX)
		})
	})
}

// rope rotates each pair (a, b) by the table's cos c and sin s at pos:
// a' = rshr(a·c − b·s, 30), b' = rshr(a·s + b·c, 30), a head per loop
// pass with the pairs unrolled (the table row of pos at fixed
// displacements). The result may overwrite x: a' waits in a register
// until b' is done. A subroutine per table (head size) and distance from
// x to the result; x in its argument, the end of x in addrEnd.
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
		k.i(x86.MOVZX, tb, low16(addrPos))
		k.i(x86.IMUL, tb, tb, x86.Imm(int64(hd*4)))
		if tab != 0 {
			k.i(x86.ADD, tb, x86.Imm(int64(tab)))
		}
		top := name + ".head"
		k.label(top)
		for j := 0; j < hd/2; j++ {
			a, b := x86.D(x86.Ptr32(p, x86.NoReg, 1, int32(8*j))), x86.D(x86.Ptr32(p, x86.NoReg, 1, int32(8*j+4)))
			c, s := x86.D(e.far(x86.Ptr32(tb, x86.NoReg, 1, int32(4*j)), x86.ES)), x86.D(e.far(x86.Ptr32(tb, x86.NoReg, 1, half+int32(4*j)), x86.ES))
			k.i(x86.MOV, x86.EAX, a)
			k.i(x86.IMUL, c)
			k.i(x86.MOV, a1, x86.EAX)
			k.i(x86.MOV, hi, x86.EDX)
			k.i(x86.MOV, x86.EAX, b)
			k.i(x86.IMUL, s)
			k.i(x86.SUB, a1, x86.EAX)
			k.i(x86.SBB, hi, x86.EDX)
			k.rshrPair(a1, hi, ir.RopeBits)
			k.i(x86.MOV, x86.EAX, a)
			k.i(x86.IMUL, s)
			k.i(x86.MOV, lo, x86.EAX)
			k.i(x86.MOV, hi, x86.EDX)
			k.i(x86.MOV, x86.EAX, b)
			k.i(x86.IMUL, c)
			k.i(x86.ADD, x86.EAX, lo)
			k.i(x86.ADC, x86.EDX, hi)
			k.rshr64(ir.RopeBits)
			k.i(x86.MOV, x86.D(x86.Ptr32(p, x86.NoReg, 1, delta+int32(8*j+4))), x86.EAX)
			k.i(x86.MOV, x86.D(x86.Ptr32(p, x86.NoReg, 1, delta+int32(8*j))), a1)
		}
		k.i(x86.ADD, p, x86.Imm(int64(4*hd)))
		k.i(x86.CMP, p, low32(addrEnd))
		k.i(x86.JB, x86.Label(top))
		k.i(x86.RET)
	})
	e.i(x86.MOV, low32(addrEnd), x86.Imm(int64(x)+int64(4*op.Dst.Len)))
	e.i(x86.MOV, args[0], x86.Imm(int64(x)))
	e.i(x86.CALL, x86.Label(name))
}

// argmax leaves the first index of the largest element in next. The
// elements are compared unsigned with their sign bits flipped, and the
// borrow of the comparison becomes the mask that takes the element and
// its index; the index counts up from −n, so that the first of equals
// stays.
func (e *fast) argmax(op *ir.Op, l *Layout) {
	x := l.VarAddr(op.Args[0])
	n := op.Args[0].Len
	e.opSub(func(k *kern) { e.argmaxBody(k, x, n) })
}

// argmaxBody sets next to the index of the largest of the n dwords at x
// (the first of equals).
func (e *fast) argmaxBody(k *kern, x uint32, n int) {
	u := unroll(n)
	c, best, idx, v, m, t := k.v(), k.v(), k.v(), k.v(), k.v(), k.v()
	k.i(x86.XOR, best, best) // −2^31, flipped
	k.i(x86.MOV, idx, x86.Imm(int64(-n)))
	k.i(x86.MOV, c, x86.Imm(int64(-n)))
	top := e.fresh("amax")
	k.label(top)
	for i := 0; i < u; i++ {
		k.i(x86.MOV, v, x86.D(x86.Ptr32(x86.NoReg, c, 4, int32(x)+int32(4*(n+i)))))
		k.i(x86.XOR, v, x86.Imm(-1<<31))
		k.i(x86.CMP, best, v)
		k.i(x86.SBB, m, m) // all ones when the element is larger
		k.i(x86.XOR, v, best)
		k.i(x86.AND, v, m)
		k.i(x86.XOR, best, v)
		k.i(x86.LEA, t, x86.D(x86.Ptr32(c, x86.NoReg, 1, int32(i))))
		k.i(x86.XOR, t, idx)
		k.i(x86.AND, t, m)
		k.i(x86.XOR, idx, t)
	}
	k.i(x86.ADD, c, x86.Imm(int64(u)))
	k.i(x86.JNE, x86.Label(top))
	k.i(x86.ADD, idx, x86.Imm(int64(n)))
	k.i(x86.MOV, low16(addrNext), w16(idx))
}
