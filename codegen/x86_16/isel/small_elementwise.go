package isel

import (
	x86 "tfc/codegen/x86_16"
	"tfc/ir"
)

// gate: y = rshr(x·g(x), 30) with g interpolated in the table (which
// rises: m = T[j+1] − T[j] >= 0): with the fraction f in the top bits of
// eax, mul gives m·f / 2^11 in edx and its rounding bit on top of eax, so
// g = T[j] + rshr(m·f, 11) is add eax, eax then adc. Below the table g is
// 0, at or above its end 1. With mul (an ir.Mul of the gate's result and
// another var, which overwrites that result), y goes on to rshr(y·o, 16)
// in the same loop.
func (s *small) gate(op, mul *ir.Op) {
	tab := "tab." + op.Table.Name
	x := s.l.VarAddr(op.Args[0])
	dst := op.Dst
	if mul != nil {
		dst = mul.Dst
	}
	s.i(x86.MOV, x86.SI, v16(x))
	if y := s.l.VarAddr(dst); y == x {
		s.i(x86.MOV, x86.DI, x86.SI)
	} else {
		s.i(x86.MOV, x86.DI, v16(y))
	}
	top, in, st := s.fresh("gate"), s.fresh("gin"), s.fresh("gst")
	s.label(top)
	s.i(x86.LODSD)
	s.i(x86.MOV, x86.EBP, x86.EAX)
	s.i(x86.ADD, x86.EAX, x86.Imm(-ir.GateLow)) // u = x − low: in the table when below its span
	s.i(x86.CMP, x86.EAX, x86.Imm(ir.GateHigh-ir.GateLow))
	s.i(x86.JB, x86.Label(in))
	s.i(x86.XOR, x86.EAX, x86.EAX)
	s.i(x86.TEST, x86.EBP, x86.EBP)
	s.i(x86.JS, x86.Label(st))
	s.i(x86.XCHG, x86.EAX, x86.EBP)
	s.i(x86.JMP, x86.Label(st))
	s.label(in)
	// u < 2^21: rotated, the step j lands in ax and the fraction on top.
	if ir.GateHigh-ir.GateLow > 1<<(16+ir.GateStepBits) {
		panic("BUG: the gate table's steps do not fit ax")
	}
	s.i(x86.ROL, x86.EAX, x86.Imm(32-ir.GateStepBits))
	s.i(x86.IMUL, x86.BX, x86.AX, x86.Imm(4))
	s.i(x86.XOR, x86.AX, x86.AX)
	s.i(x86.MOV, x86.EDX, x86.D(x86.Mem{Base: x86.BX, Label: tab, Disp: 4}))
	s.i(x86.SUB, x86.EDX, x86.D(x86.Mem{Base: x86.BX, Label: tab}))
	s.i(x86.MUL, x86.EDX)
	s.i(x86.ADD, x86.EAX, x86.EAX)
	s.i(x86.ADC, x86.EDX, x86.D(x86.Mem{Base: x86.BX, Label: tab}))
	s.i(x86.XCHG, x86.EAX, x86.EDX)
	s.i(x86.IMUL, x86.EBP)
	s.rshr(ir.GateBits)
	s.label(st)
	if mul != nil {
		// si has passed x[i].
		o := s.l.VarAddr(mulOther(op, mul))
		s.i(x86.IMUL, x86.D(x86.Mem{Base: x86.SI, Disp: int32(o) - int32(x) - 4}))
		s.rshr(ir.FracBits)
	}
	s.i(x86.STOSD)
	s.i(x86.CMP, x86.SI, v16(x+uint32(4*op.Args[0].Len)))
	s.i(x86.JB, x86.Label(top))
}

func (s *small) mul(op *ir.Op) {
	s.i(x86.MOV, x86.SI, v16(s.l.VarAddr(op.Args[0])))
	s.i(x86.MOV, x86.BX, v16(s.l.VarAddr(op.Args[1])))
	s.i(x86.MOV, x86.DI, v16(s.l.VarAddr(op.Dst)))
	s.i(x86.MOV, x86.BP, x86.Imm(int64(op.Dst.Len)))
	top := s.fresh("mul")
	s.label(top)
	s.i(x86.LODSD)
	s.i(x86.IMUL, x86.D(x86.Mem{Base: x86.BX}))
	s.i(x86.ADD, x86.BX, x86.Imm(4))
	s.rshr(ir.FracBits)
	s.i(x86.STOSD)
	s.i(x86.DEC, x86.BP)
	s.i(x86.JNE, x86.Label(top))
}

func (s *small) add(op *ir.Op) {
	s.i(x86.MOV, x86.SI, v16(s.l.VarAddr(op.Args[0])))
	s.i(x86.MOV, x86.BX, v16(s.l.VarAddr(op.Args[1])))
	s.i(x86.MOV, x86.DI, v16(s.l.VarAddr(op.Dst)))
	s.i(x86.MOV, x86.CX, x86.Imm(int64(op.Dst.Len)))
	top := s.fresh("add")
	s.label(top)
	s.i(x86.LODSD)
	s.i(x86.ADD, x86.EAX, x86.D(x86.Mem{Base: x86.BX}))
	s.i(x86.ADD, x86.BX, x86.Imm(4))
	s.i(x86.STOSD)
	s.i(x86.LOOP, x86.Label(top))
}

// argmax: the first index of the largest, scanning down (std) from the
// last element: an equal element takes over, so the lowest index wins; the
// first compare, of the last element with itself, sets the index.
func (s *small) argmax(op *ir.Op) {
	x, n := s.l.VarAddr(op.Args[0]), op.Args[0].Len
	s.i(x86.STD)
	s.i(x86.MOV, x86.SI, v16(x+uint32(4*(n-1))))
	s.i(x86.MOV, x86.CX, x86.Imm(int64(n)))
	s.i(x86.MOV, x86.EDX, x86.D(x86.Mem{Base: x86.SI}))
	top, less := s.fresh("amax"), s.fresh("aless")
	s.label(top)
	s.i(x86.LODSD)
	s.i(x86.CMP, x86.EAX, x86.EDX)
	s.i(x86.JL, x86.Label(less))
	s.i(x86.XCHG, x86.EAX, x86.EDX)
	s.i(x86.MOV, x86.BX, x86.CX) // index + 1
	s.label(less)
	s.i(x86.LOOP, x86.Label(top))
	s.i(x86.CLD)
	// The token in AX, for the generation loop: no store.
	s.i(x86.XCHG, x86.AX, x86.BX)
	s.i(x86.DEC, x86.AX)
}
