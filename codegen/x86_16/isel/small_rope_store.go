package isel

import (
	"fmt"

	x86 "tfc/codegen/x86_16"
	"tfc/ir"
)

// ropeSub: si = x, di = dst, bp = pairs; head size fixed per subroutine.
// bx walks the table row of pos (cosines, then sines at +D*2), ch counts
// the pairs of a head; 64-bit partial products wait in low memory.
func (s *small) ropeSub(op *ir.Op) string {
	d := op.HeadDim
	tab := "tab." + op.Table.Name
	name := fmt.Sprintf("rope%d", d)
	return s.use(name, func() {
		s.i(x86.MOV, x86.AX, low16(addrPos))
		s.i(x86.IMUL, x86.BX, x86.AX, x86.Imm(int64(d*4)))
		s.i(x86.MOV, x86.CH, x86.Imm(int64(d/2)))
		c := func() x86.Mem { return x86.D(x86.Mem{Base: x86.BX, Label: tab}) }
		sn := func() x86.Mem { return x86.D(x86.Mem{Base: x86.BX, Label: tab, Disp: int32(d * 2)}) }
		a, b := x86.D(x86.Mem{Base: x86.SI}), x86.D(x86.Mem{Base: x86.SI, Disp: 4})
		t0, t1 := low32(addrTmp), low32(addrTmp+4)
		s.label(name + ".pair")
		s.i(x86.MOV, x86.EAX, b)
		s.i(x86.IMUL, sn())
		s.i(x86.MOV, t0, x86.EAX)
		s.i(x86.MOV, t1, x86.EDX)
		s.i(x86.MOV, x86.EAX, a)
		s.i(x86.IMUL, c())
		s.i(x86.SUB, x86.EAX, t0)
		s.i(x86.SBB, x86.EDX, t1)
		s.rshr(ir.RopeBits)
		s.i(x86.PUSH, x86.EAX)
		s.i(x86.MOV, x86.EAX, a)
		s.i(x86.IMUL, sn())
		s.i(x86.MOV, t0, x86.EAX)
		s.i(x86.MOV, t1, x86.EDX)
		s.i(x86.MOV, x86.EAX, b)
		s.i(x86.IMUL, c())
		s.i(x86.ADD, x86.EAX, t0)
		s.i(x86.ADC, x86.EDX, t1)
		s.rshr(ir.RopeBits)
		s.i(x86.MOV, x86.D(x86.Mem{Base: x86.DI, Disp: 4}), x86.EAX)
		s.i(x86.POP, x86.EAX)
		s.i(x86.MOV, x86.D(x86.Mem{Base: x86.DI}), x86.EAX)
		s.i(x86.ADD, x86.SI, x86.Imm(8))
		s.i(x86.ADD, x86.DI, x86.Imm(8))
		s.i(x86.ADD, x86.BX, x86.Imm(4))
		s.i(x86.DEC, x86.CH)
		s.i(x86.JNE, x86.Label(name+".same"))
		s.i(x86.SUB, x86.BX, x86.Imm(int64(d*2)))
		s.i(x86.MOV, x86.CH, x86.Imm(int64(d/2)))
		s.label(name + ".same")
		s.i(x86.DEC, x86.BP)
		s.i(x86.JNE, x86.Label(name+".pair"))
		s.i(x86.RET)
	})
}

// store quantizes k and v into this position's cache record (ir.Sim.store),
// head by head: its largest magnitude in edx, the shift s in cl (found by
// trying rshr), the shift byte, then each value rshr(x, s). ES points at
// the cache for stosb/stosw (flat: ES is 0 with a 4 GiB limit; segmented:
// the cache's segment, and ES goes back to 0 after). When v follows k in
// memory (a fused q+k+v), one loop runs over the heads of both.
func (s *small) store(op *ir.Op) {
	c := op.Cache
	loc := s.l.Caches[c]
	qb, heads, hd := c.Bits/8, c.Heads(), c.HeadDim
	str := func(op x86.Op) x86.Op {
		if s.seg {
			return op
		}
		return x86.A32 | op
	}
	if s.seg {
		s.i(x86.PUSH, x86.GS)
		s.i(x86.POP, x86.ES)
		s.i(x86.IMUL, x86.DI, low16(addrPos), x86.Imm(int64(loc.Rec)))
		if loc.K != 0 {
			s.i(x86.ADD, x86.DI, x86.Imm(int64(loc.K)))
		}
	} else {
		s.i(x86.MOVZX, x86.EAX, low16(addrPos))
		s.i(x86.IMUL, x86.EDI, x86.EAX, x86.Imm(int64(loc.Rec)))
		s.i(x86.ADD, x86.EDI, low32(addrLayerC))
		if loc.K != 0 {
			s.i(x86.ADD, x86.EDI, x86.Imm(int64(loc.K)))
		}
	}
	k, v := s.l.VarAddr(op.Args[0]), s.l.VarAddr(op.Args[1])
	together := v == k+uint32(4*c.Width)
	for i, src := range []uint32{k, v} {
		if i == 1 && together {
			break
		}
		s.i(x86.MOV, x86.SI, v16(src))
		n := heads
		if together {
			n *= 2
		}
		s.i(x86.MOV, x86.BP, x86.Imm(int64(n)))
		head, mx, pos, keep, try, done, quant := s.fresh("sh"), s.fresh("smax"), s.fresh("spos"), s.fresh("skeep"),
			s.fresh("stry"), s.fresh("sdone"), s.fresh("sq")
		s.label(head)
		s.i(x86.PUSH, x86.SI)
		s.i(x86.XOR, x86.EDX, x86.EDX)
		s.i(x86.MOV, x86.CX, x86.Imm(int64(hd)))
		s.label(mx)
		s.i(x86.LODSD)
		s.i(x86.TEST, x86.EAX, x86.EAX)
		s.i(x86.JNS, x86.Label(pos))
		s.i(x86.NEG, x86.EAX)
		s.label(pos)
		s.i(x86.CMP, x86.EAX, x86.EDX)
		s.i(x86.JBE, x86.Label(keep))
		s.i(x86.XCHG, x86.EAX, x86.EDX)
		s.label(keep)
		s.i(x86.LOOP, x86.Label(mx))
		s.i(x86.POP, x86.SI)
		// rshr(max, s) of an unsigned max: shr leaves bit s-1 in CF; with
		// s = 0 (cx after the loop) it changes no flag, hence the clc.
		s.i(x86.CLC)
		s.label(try)
		s.i(x86.MOV, x86.EAX, x86.EDX)
		s.i(x86.SHR, x86.EAX, x86.CL)
		s.i(x86.ADC, x86.EAX, x86.Imm(0))
		s.i(x86.CMP, x86.EAX, x86.Imm(int64(1)<<(c.Bits-1)-1))
		s.i(x86.JBE, x86.Label(done))
		s.i(x86.INC, x86.CX)
		s.i(x86.JMP, x86.Label(try))
		s.label(done)
		s.i(x86.XCHG, x86.AX, x86.CX)
		s.i(str(x86.STOSB))
		s.i(x86.XCHG, x86.AX, x86.CX)
		s.i(x86.MOV, x86.CH, x86.Imm(int64(hd)))
		// rshr(x, s) inline: shrd leaves bit s-1 in CF; with s = 0 it
		// changes no flag, and CF stays 0 from here (adc of 0 with CF 0,
		// dec and the string stores keep it).
		s.i(x86.CLC)
		s.label(quant)
		s.i(x86.LODSD)
		s.i(x86.CDQ)
		s.i(x86.SHRD, x86.EAX, x86.EDX, x86.CL)
		s.i(x86.ADC, x86.EAX, x86.Imm(0))
		if qb == 2 {
			s.i(str(x86.STOSW))
		} else {
			s.i(str(x86.STOSB))
		}
		s.i(x86.DEC, x86.CH)
		s.i(x86.JNE, x86.Label(quant))
		s.i(x86.DEC, x86.BP)
		s.i(x86.JNE, x86.Label(head))
	}
	if s.seg {
		s.i(x86.PUSH, x86.DS)
		s.i(x86.POP, x86.ES)
	}
}

// inlineRopes finds the RoPE tables whose ropes all run in place with a
// power-of-two head size: those ropes run inline, each pair's table slot
// found from its offset in the vector.
func inlineRopes(p *ir.Program) map[*ir.Table]int {
	m, bad := map[*ir.Table]int{}, map[*ir.Table]bool{}
	p.Ops(func(_ int, op *ir.Op) {
		if op.Kind != ir.RoPE {
			return
		}
		d := op.HeadDim
		if op.Dst != op.Args[0] || d&(d-1) != 0 {
			bad[op.Table] = true
		}
		m[op.Table] = d
	})
	for t := range bad {
		delete(m, t)
	}
	return m
}

// withNegatedSines turns a RoPE table (per position d/2 cosines, d/2
// sines) into rows of d/2 sines, d/2 cosines, d/2 negated sines: for the
// pair j, (s, c) at slot j and (c, −s) at slot j + d/2, each pair of
// coefficients 2d bytes apart.
func withNegatedSines(t []int32, d int) []int32 {
	half := d / 2
	out := make([]int32, 0, len(t)/2*3)
	for row := 0; row < len(t); row += d {
		cos, sin := t[row:row+half], t[row+half:row+d]
		out = append(out, sin...)
		out = append(out, cos...)
		for _, v := range sin {
			out = append(out, -v)
		}
	}
	return out
}

// ropeInline rotates pairs (a, b) in place from the op's vector (ir.Sim
// RoPE): b' = rshr(a·s + b·c, 30) and a' = rshr(a·c + b·(−s), 30), both
// by one helper rot = rshr(a·T[bx] + b·T[bx+2d], 30) over a table row of
// sines, cosines, negated sines (withNegatedSines), bx at the pair's sine,
// then at its cosine. The pair's slot in the table row of pos comes from
// its offset in the vector (head size a power of two).
func (s *small) ropeInline(op *ir.Op, pairs int) {
	d := op.HeadDim
	tab := "tab." + op.Table.Name
	x := s.l.VarAddr(op.Args[0])
	rot := s.use(fmt.Sprintf("rot%d", d), func() {
		s.i(x86.MOV, x86.EAX, x86.D(x86.Mem{Base: x86.SI}))
		s.i(x86.IMUL, x86.D(x86.Mem{Base: x86.BX, Label: tab}))
		s.i(x86.XCHG, x86.EAX, x86.ECX)
		s.i(x86.MOV, x86.EBP, x86.EDX)
		s.i(x86.MOV, x86.EAX, x86.D(x86.Mem{Base: x86.SI, Disp: 4}))
		s.i(x86.IMUL, x86.D(x86.Mem{Base: x86.BX, Label: tab, Disp: int32(2 * d)}))
		s.i(x86.ADD, x86.EAX, x86.ECX)
		s.i(x86.ADC, x86.EDX, x86.EBP)
		s.rshrTail(ir.RopeBits)
	})
	s.i(x86.MOV, x86.SI, v16(x))
	top := s.fresh("rope")
	s.label(top)
	s.i(x86.IMUL, x86.BX, low16(addrPos), x86.Imm(int64(6*d)))
	if x%uint32(4*d) == 0 {
		s.i(x86.MOV, x86.AX, x86.SI)
	} else {
		s.i(x86.LEA, x86.AX, x86.Mem{Base: x86.SI, Disp: -int32(x)})
	}
	s.i(x86.AND, x86.AX, x86.Imm(int64(4*d-1)))
	s.i(x86.SHR, x86.AX, x86.Imm(1))
	s.i(x86.ADD, x86.BX, x86.AX)
	s.i(x86.CALL, x86.Label(rot)) // b'
	s.i(x86.PUSH, x86.EAX)
	s.i(x86.ADD, x86.BX, x86.Imm(int64(2*d)))
	s.i(x86.CALL, x86.Label(rot)) // a'
	s.i(x86.MOV, x86.D(x86.Mem{Base: x86.SI}), x86.EAX)
	s.i(x86.POP, x86.D(x86.Mem{Base: x86.SI, Disp: 4}))
	s.i(x86.ADD, x86.SI, x86.Imm(8))
	s.i(x86.CMP, x86.SI, v16(x+uint32(8*pairs)))
	s.i(x86.JB, x86.Label(top))
}
