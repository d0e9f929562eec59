package isel

import (
	"math/bits"

	x86 "tfc/codegen/x86_16"
	"tfc/ir"
)

// attention, head by head (ir.Sim.attention): the scores into Att and
// their maximum; then one pass computing each exponential, their sum and
// the 64-bit sums of e_t·(v_t << shift_t); then each of those divided by
// the sum, halves away from zero. A pointer walks the cache records (a
// head's shift byte, its values, on to the same head of the next
// position). The dot product keeps 48 bits (di:ebp): a score that fits 32
// bits needs no more.
func (s *small) attention(op *ir.Op) {
	c, hd := op.Cache, op.HeadDim
	loc := s.l.Caches[c]
	qb := c.Bits / 8
	heads := op.Args[0].Len / hd
	group := heads / c.Heads()
	att, acc := s.l.Att, s.l.Acc
	q, out := s.l.VarAddr(op.Args[0]), s.l.VarAddr(op.Dst)
	tab := "tab." + op.Table.Name
	bx := s.creg(x86.BX)
	headBytes := 1 + hd*qb
	next := int64(int(loc.Rec) - headBytes)
	loadC := func(r x86.Reg) {
		m := s.cmem(x86.BX, 0)
		if qb == 1 {
			m.Size = 8
		} else {
			m.Size = 16
		}
		s.i(x86.MOVSX, r, m)
		for k := 0; k < qb; k++ {
			s.i(x86.INC, bx)
		}
	}
	shiftC := func() {
		s.i(x86.MOV, x86.CL, x86.B(s.cmem(x86.BX, 0)))
		s.i(x86.INC, bx)
	}
	s.i(x86.IMUL, x86.AX, low16(addrPos), x86.Imm(4))
	s.i(x86.ADD, x86.AX, v16(att+4))
	s.i(x86.MOV, low16(addrAttAux), x86.AX)
	s.i(x86.MOV, x86.DI, v16(out))
	head := s.fresh("ahead")
	s.label(head)
	// A head's query and output advance together (4·hd bytes a head):
	// the query's pointer and the kv head follow from the output's.
	s.i(x86.LEA, x86.SI, x86.Mem{Base: x86.DI, Disp: int32(q) - int32(out)})
	s.i(x86.PUSH, x86.DI)
	// The kv head: the output's offset / (4·hd·group).
	s.i(x86.LEA, x86.AX, x86.Mem{Base: x86.DI, Disp: -int32(out)})
	if span := 4 * hd * group; span&(span-1) == 0 {
		s.i(x86.SHR, x86.AX, x86.Imm(int64(bits.TrailingZeros(uint(span)))))
	} else {
		s.i(x86.XOR, x86.DX, x86.DX)
		s.i(x86.MOV, x86.CX, x86.Imm(int64(span)))
		s.i(x86.DIV, x86.CX)
	}
	if s.seg {
		s.i(x86.IMUL, x86.BX, x86.AX, x86.Imm(int64(headBytes)))
	} else {
		s.i(x86.MOVZX, x86.EAX, x86.AX)
		s.i(x86.IMUL, x86.EBX, x86.EAX, x86.Imm(int64(headBytes)))
		s.i(x86.ADD, x86.EBX, low32(addrLayerC))
	}
	if loc.K != 0 {
		s.i(x86.ADD, bx, x86.Imm(int64(loc.K)))
	}
	// The stack: the output, the kv head's cache pointer at t = 0, the
	// query.
	s.i(x86.PUSH, bx)
	s.i(x86.PUSH, x86.SI)

	// Scores into Att, their maximum in low memory (the first score sets
	// it).
	s.i(x86.MOV, x86.DI, v16(att))
	score, dot, setmax, nomax := s.fresh("ascore"), s.fresh("adot"), s.fresh("asetmax"), s.fresh("anomax")
	s.label(score)
	s.i(x86.POP, x86.SI)
	s.i(x86.PUSH, x86.SI)
	s.i(x86.PUSH, x86.DI)
	s.i(x86.XOR, x86.EBP, x86.EBP)
	s.i(x86.XOR, x86.DI, x86.DI)
	shiftC()
	s.i(x86.MOV, x86.CH, x86.Imm(int64(hd)))
	s.label(dot)
	s.i(x86.LODSD)
	loadC(x86.EDX)
	s.i(x86.IMUL, x86.EDX)
	s.i(x86.ADD, x86.EBP, x86.EAX)
	s.i(x86.ADC, x86.DI, x86.DX)
	s.i(x86.DEC, x86.CH)
	s.i(x86.JNE, x86.Label(dot))
	s.i(x86.ADD, bx, x86.Imm(next))
	// rshr(dot << shift, 16) inline: shrd leaves the rounding bit in CF.
	s.i(x86.SHLD, x86.EDI, x86.EBP, x86.CL)
	s.i(x86.SHL, x86.EBP, x86.CL)
	s.i(x86.SHRD, x86.EBP, x86.EDI, x86.Imm(ir.FracBits))
	s.i(x86.ADC, x86.EBP, x86.Imm(0))
	s.i(x86.MOV, x86.EAX, x86.Imm(ir.AttnScale(hd)))
	s.i(x86.IMUL, x86.EBP)
	s.rshr(ir.AttnScaleBits)
	s.i(x86.POP, x86.DI)
	s.i(x86.STOSD)
	s.i(x86.CMP, x86.DI, v16(att+4))
	s.i(x86.JE, x86.Label(setmax))
	s.i(x86.CMP, x86.EAX, low32(addrBest))
	s.i(x86.JLE, x86.Label(nomax))
	s.label(setmax)
	s.i(x86.MOV, low32(addrBest), x86.EAX)
	s.label(nomax)
	s.i(x86.CMP, x86.DI, low16(addrAttAux))
	s.i(x86.JB, x86.Label(score))
	s.i(x86.POP, x86.AX) // the query

	// e_t = exp(best − score_t), added to the sum and, times v_t <<
	// shift_t, to acc. The exp table falls: with m = T[j] − T[j+1] >= 0
	// and f in the top bits of eax, mul gives m·f / 2^11 in edx, and
	// T[j] + rshr(−m·f, 11) = T[j] − (m·f + 1023) >> 11: the add carries.
	// The sum of the exps follows the 64-bit sums, so that one rep stosd
	// clears both and the v_t loop's pointer ends at it.
	s.i(x86.MOV, x86.DI, v16(acc))
	if n := 2*hd + 1; n <= 0xFF {
		s.i(x86.MOV, x86.CL, x86.Imm(int64(n))) // ch = 0: the dot product's count
	} else {
		s.i(x86.MOV, x86.CX, x86.Imm(int64(n)))
	}
	s.i(x86.XOR, x86.EAX, x86.EAX)
	s.i(x86.REP | x86.STOSD)
	s.i(x86.POP, bx)
	s.i(x86.ADD, bx, x86.Imm(int64(loc.V-loc.K)))
	s.i(x86.MOV, x86.SI, v16(att))
	vt, vi, zero := s.fresh("avt"), s.fresh("avi"), s.fresh("azero")
	s.label(vt)
	s.i(x86.LODSD)
	s.i(x86.NEG, x86.EAX)
	s.i(x86.ADD, x86.EAX, low32(addrBest))
	s.i(x86.XOR, x86.EBP, x86.EBP)
	s.i(x86.CMP, x86.EAX, x86.Imm(ir.ExpLimit))
	s.i(x86.JAE, x86.Label(zero))
	s.expEntry(x86.DI, tab)
	s.i(x86.MOV, x86.EBP, x86.EDX)
	s.i(x86.SUB, x86.EDX, x86.D(x86.Mem{Base: x86.DI, Label: tab, Disp: 4}))
	s.i(x86.MUL, x86.EDX)
	bias := uint32(1<<(ir.ExpStepBits-1)-1) << (32 - ir.ExpStepBits)
	s.i(x86.ADD, x86.EAX, x86.Imm(int64(int32(bias))))
	s.i(x86.SBB, x86.EBP, x86.EDX)
	s.label(zero)
	shiftC()
	s.i(x86.MOV, x86.DI, v16(acc))
	s.i(x86.MOV, x86.CH, x86.Imm(int64(hd)))
	s.label(vi)
	loadC(x86.EAX)
	s.i(x86.IMUL, x86.EBP)
	s.i(x86.SHLD, x86.EDX, x86.EAX, x86.CL)
	s.i(x86.SHL, x86.EAX, x86.CL)
	// Each sum high dword first, for the division's loads.
	s.i(x86.ADD, x86.D(x86.Mem{Base: x86.DI, Disp: 4}), x86.EAX)
	s.i(x86.ADC, x86.D(x86.Mem{Base: x86.DI}), x86.EDX)
	s.i(x86.ADD, x86.DI, x86.Imm(8))
	s.i(x86.DEC, x86.CH)
	s.i(x86.JNE, x86.Label(vi))
	s.i(x86.ADD, x86.D(x86.Mem{Base: x86.DI}), x86.EBP) // di has reached the sum
	s.i(x86.ADD, bx, x86.Imm(next))
	s.i(x86.CMP, x86.SI, low16(addrAttAux))
	s.i(x86.JB, x86.Label(vt))

	// out_i = acc_i / sum, halves away from zero: sum/2 added to a
	// positive acc, taken from a negative one, then idiv, which truncates
	// toward zero. The quotient fits 32 bits: it is a weighted mean of the
	// v_t << shift_t.
	s.i(x86.MOV, x86.EBX, x86.D(x86.Mem{Base: x86.DI})) // the sum, where di stopped
	s.i(x86.MOV, x86.SI, v16(acc))
	s.i(x86.POP, x86.DI)
	s.i(x86.MOV, x86.EBP, x86.EBX)
	s.i(x86.SHR, x86.EBP, x86.Imm(1))
	s.i(x86.MOV, x86.CL, x86.Imm(int64(hd))) // ch = 0: the last v_t's count
	div, neg, quot := s.fresh("adiv"), s.fresh("aneg"), s.fresh("aquot")
	s.label(div)
	s.i(x86.LODSD)
	s.i(x86.XCHG, x86.EAX, x86.EDX)
	s.i(x86.LODSD)
	s.i(x86.TEST, x86.EDX, x86.EDX)
	s.i(x86.JS, x86.Label(neg))
	s.i(x86.ADD, x86.EAX, x86.EBP)
	s.i(x86.ADC, x86.EDX, x86.Imm(0))
	s.i(x86.JMP, x86.Label(quot))
	s.label(neg)
	s.i(x86.SUB, x86.EAX, x86.EBP)
	s.i(x86.SBB, x86.EDX, x86.Imm(0))
	s.label(quot)
	s.i(x86.IDIV, x86.EBX)
	s.i(x86.STOSD)
	s.i(x86.LOOP, x86.Label(div))
	s.i(x86.CMP, x86.DI, v16(out+uint32(4*hd*heads)))
	s.i(x86.JB, x86.Label(head))
}

// expEntry starts an exp table lookup of u = eax < ir.ExpLimit (below
// 2^20): rotated, the step j lands in ax and the fraction f on top of
// eax (f·2^21, ax cleared); idx = 4·j addresses T[j], which edx gets.
func (s *small) expEntry(idx x86.Reg, tab string) {
	if ir.ExpLimit > 1<<(16+ir.ExpStepBits) {
		panic("BUG: the exp table's steps do not fit ax")
	}
	s.i(x86.ROL, x86.EAX, x86.Imm(32-ir.ExpStepBits))
	s.i(x86.IMUL, idx, x86.AX, x86.Imm(4))
	s.i(x86.XOR, x86.AX, x86.AX)
	s.i(x86.MOV, x86.EDX, x86.D(x86.Mem{Base: idx, Label: tab}))
}
