package isel

import (
	"fmt"
	"math/bits"

	x86 "tfc/codegen/x86_16"
	"tfc/ir"
)

// matmul calls the matmul subroutine for op, writing into dst or, with
// acc, adding into it.
func (s *small) matmul(op *ir.Op, dst *ir.Var, acc bool) {
	q := op.Params[0]
	eb := elemBytes(q)
	name := s.matmulSub(eb)
	if acc {
		s.mmVariants[eb] |= 2
	} else {
		s.mmVariants[eb] |= 1
	}
	if s.rmsLen[eb] > 0 {
		name += ".st" // the rms entry comes first
	}
	loc := s.l.Params[q]
	var w uint32
	switch {
	case s.seg && loc.PerLayer:
		s.useFS(true, 0)
		w = loc.Addr
	case s.seg:
		s.useFS(false, loc.Addr>>4)
		w = loc.Addr & 15
	default:
		w = uint32(s.relW(q))
	}
	s.withoutLayerBase(q, func() {
		s.i(x86.CALL, x86.Label(name))
		s.matmulArgs(op, dst, w, acc)
	})
}

// matmulArgs emits the arguments that follow a matmul call: x, cols and
// the end of y (copied to addrMM), y, then the weights w (a word: an
// offset in FS; flat, a dword relative to the layer base). Fewer bytes than
// setting registers at every call. With acc (add into y), the end is that
// of y's last row but one, plus 1: y (a multiple of 4) stays below it as
// long as below the true end, and its bit 0 tells the subroutine to add.
func (s *small) matmulArgs(op *ir.Op, dst *ir.Var, w uint32, acc bool) {
	x, y := s.l.VarAddr(op.Args[0]), s.l.VarAddr(dst)
	end := y + 4*uint32(op.Rows())
	if acc {
		end = end - 4 + 1
	}
	s.emitter.p.DW(uint16(x), uint16(op.Params[0].Cols), uint16(end), uint16(y))
	s.weightArg(w)
}

// weightArg emits a weights address argument: a word (segmented), a dword
// (flat).
func (s *small) weightArg(w uint32) {
	if s.seg {
		s.emitter.p.DW(uint16(w))
	} else {
		s.emitter.p.DD(w)
	}
}

// rmsMatmul runs rmsnorm a and the matmul b it feeds through the matmul's
// rms entry: its arguments are the norm's weights, then the matmul's (the
// norm's output is the matmul's x; its input is rmsIn).
func (s *small) rmsMatmul(a, b *ir.Op) {
	eb := elemBytes(b.Params[0])
	name := s.matmulSub(eb)
	s.mmVariants[eb] |= 1
	g, w := s.l.Params[a.Params[0]], s.l.Params[b.Params[0]]
	var ga, wa uint32
	switch seg, _ := s.rmsSeg(a, b); {
	case s.seg:
		s.useFS(g.PerLayer, seg) // both per layer, or neither (rmsSeg)
		ga, wa = g.Addr-seg<<4, w.Addr-seg<<4
	default:
		ga, wa = uint32(s.relW(a.Params[0])), uint32(s.relW(b.Params[0]))
	}
	s.withoutLayerBase(b.Params[0], func() { // a's agrees (rmsSeg)
		s.i(x86.CALL, x86.Label(name))
		s.weightArg(ga)
		s.matmulArgs(b, b.Dst, wa, false)
	})
}

// matmulSub reads its arguments after the call (see matmul) and returns
// after them. The weights (a row's multiplier, then its cols weights) go
// by lods through FS:SI (flat: ESI), x by [di] and scasd. Per row the sum
// Σ w·x builds in 48 bits, ebp and bx, from 2^15: t = rshr(sum, 16) needs
// only bits 15-47, and the bias makes it one shrd. Then y = rshr(t·m, B),
// stored or, when bit 0 of the end of y is set (matmulArgs), added to the
// destination. y's pointer and the row's multiplier wait on the stack; x,
// cols and the end of y in addrMM. With rmsnorms that feed matmuls
// (planRMSMatmuls), the rms entry comes first: NAME runs the norm, NAME.st
// is the plain entry.
func (s *small) matmulSub(eb int) string {
	name := fmt.Sprintf("matmul%d", eb*8)
	return s.use(name, func() {
		if n := s.rmsLen[eb]; n > 0 {
			// The rms entry: rmsnorm(rmsIn, g) into x, then on as a
			// store.
			s.i(x86.POP, x86.SI)
			if s.seg {
				s.i(x86.LODSW)
				s.i(x86.XCHG, x86.AX, x86.BX)
			} else {
				s.i(x86.LODSD)
				s.i(x86.XCHG, x86.EAX, x86.EBX)
			}
			s.i(x86.PUSH, x86.SI)
			s.i(x86.MOV, x86.DI, x86.W(x86.Mem{Base: x86.SI}))
			s.i(x86.MOV, x86.SI, v16(s.rmsIn))
			if norm := fmt.Sprintf("rmsnorm%d", n); s.subs[norm] != nil {
				s.i(x86.CALL, x86.Label(norm))
			} else {
				s.rmsnormBody(name+".rms", n, false)
			}
			s.label(name + ".st")
		}
		s.i(x86.POP, x86.SI)
		s.i(x86.MOV, x86.DI, x86.Imm(addrMM))
		for i := 0; i < 3; i++ {
			s.i(x86.MOVSW)
		}
		s.i(x86.LODSW)
		s.i(x86.XCHG, x86.AX, x86.DI)
		if s.seg {
			s.i(x86.LODSW)
			s.i(x86.PUSH, x86.SI)
			s.i(x86.XCHG, x86.AX, x86.SI)
		} else {
			s.i(x86.LODSD)
			s.i(x86.PUSH, x86.SI)
			s.i(x86.XCHG, x86.EAX, x86.ESI)
			s.i(x86.ADD, x86.ESI, low32(addrLayerW))
		}
		s.label(name + ".row")
		s.i(x86.PUSH, x86.DI)
		s.wlods(x86.LODSD)
		s.i(x86.PUSH, x86.EAX)
		s.i(x86.MOV, x86.DI, low16(addrMM))
		s.i(x86.MOV, x86.EBP, x86.Imm(1<<(ir.MatmulPreShift-1)))
		s.i(x86.XOR, x86.BX, x86.BX)
		s.i(x86.MOV, x86.CX, low16(addrMM+2))
		s.label(name + ".col")
		s.loadWeight(eb)
		s.i(x86.IMUL, x86.D(x86.Mem{Base: x86.DI}))
		s.i(x86.SCASD)
		s.i(x86.ADD, x86.EBP, x86.EAX)
		s.i(x86.ADC, x86.BX, x86.DX)
		s.i(x86.LOOP, x86.Label(name+".col"))
		s.i(x86.SHRD, x86.EBP, x86.EBX, x86.Imm(ir.MatmulPreShift))
		s.i(x86.POP, x86.EAX)
		s.i(x86.IMUL, x86.EBP)
		s.rshr(s.shift())
		s.i(x86.POP, x86.DI)
		switch s.mmVariants[eb] {
		case 2:
			s.i(x86.ADD, x86.EAX, x86.D(x86.Mem{Base: x86.DI}))
		case 3:
			s.i(x86.TEST, x86.B(x86.Abs16(addrMM+4)), x86.Imm(1)) // the end's bit 0: add
			s.i(x86.JZ, x86.Label(name+".store"))
			s.i(x86.ADD, x86.EAX, x86.D(x86.Mem{Base: x86.DI}))
			s.label(name + ".store")
		}
		s.i(x86.STOSD)
		s.i(x86.CMP, x86.DI, low16(addrMM+4))
		s.i(x86.JB, x86.Label(name+".row"))
		s.i(x86.RET)
	})
}

// shift is the model's matmul shift B.
func (s *small) shift() uint {
	for _, q := range s.p.Params {
		if q.Q != nil && q.Q.M != nil {
			return q.Q.Shift
		}
	}
	return 0
}

// embed: row token of the table, each weight times the row's multiplier,
// rshr B (inline, so that loop keeps its count in cx), into dst. The
// weights go through FS:SI (segmented) or ESI (flat) by lods.
func (s *small) embed(op *ir.Op) {
	q := op.Params[0]
	loc := s.l.Params[q]
	eb := elemBytes(q)
	switch {
	case s.seg:
		off := loc.Addr // in this layer's weights segment
		if loc.PerLayer {
			s.useFS(true, 0)
		} else {
			s.useFS(false, loc.Addr>>4)
			off &= 15
		}
		s.i(x86.IMUL, x86.SI, low16(addrTok), x86.Imm(int64(loc.RowBytes)))
		if off != 0 {
			s.i(x86.ADD, x86.SI, x86.Imm(int64(off)))
		}
	default:
		s.i(x86.MOVZX, x86.ESI, low16(addrTok))
		s.i(x86.IMUL, x86.ESI, x86.ESI, x86.Imm(int64(loc.RowBytes)))
		s.i(x86.ADD, x86.ESI, x86.Imm(int64(loc.Addr)))
		if loc.PerLayer {
			s.i(x86.ADD, x86.ESI, low32(addrLayerW))
		}
	}
	s.wlods(x86.LODSD)
	s.i(x86.XCHG, x86.EAX, x86.EBP)
	s.i(x86.MOV, x86.DI, v16(s.l.VarAddr(op.Dst)))
	s.i(x86.MOV, x86.CX, x86.Imm(int64(q.Cols)))
	top := s.fresh("emb")
	s.label(top)
	s.loadWeight(eb)
	s.i(x86.IMUL, x86.EBP)
	s.i(x86.SHRD, x86.EAX, x86.EDX, x86.Imm(int64(s.shift())))
	s.i(x86.ADC, x86.EAX, x86.Imm(0))
	s.i(x86.STOSD)
	s.i(x86.LOOP, x86.Label(top))
}

// rmsnormSub (ir.RMSInv): si = x, di = dst, the weights pointer at g; n
// is fixed per subroutine. ss = Σ x² in edi:ebp; r = isqrt(ss/n + eps)
// bit by bit in esi; inv = (2^38 + r/2)/r in ebp; y = rshr(rshr(x·inv,
// 22)·g, 16), counted in ch.
func (s *small) rmsnormSub(n int) string {
	name := fmt.Sprintf("rmsnorm%d", n)
	return s.use(name, func() { s.rmsnormBody(name, n, true) })
}

// rmsnormBody is rmsnormSub's code, its labels under name; without ret, it
// falls through (inline in the matmul's rms entry).
func (s *small) rmsnormBody(name string, n int, ret bool) {
	s.addLayerBase()
	s.i(x86.PUSH, x86.SI)
	s.i(x86.PUSH, x86.DI)
	s.i(x86.MOV, x86.CX, x86.Imm(int64(n)))
	// The sum starts at n·(eps+1): ss/n below is then v+1, exactly
	// (floor((ss + n·k)/n) = floor(ss/n) + k).
	s.i(x86.MOV, x86.EBP, x86.Imm(int64(n)*(ir.RMSEps+1)))
	s.i(x86.XOR, x86.EDI, x86.EDI)
	s.label(name + ".ss")
	s.i(x86.LODSD)
	s.i(x86.IMUL, x86.EAX)
	s.i(x86.ADD, x86.EBP, x86.EAX)
	s.i(x86.ADC, x86.EDI, x86.EDX)
	s.i(x86.LOOP, x86.Label(name+".ss"))
	// v+1 = ss/n + eps + 1 in edi:ebp, by a shift when n is a power
	// of two, else two divisions (the quotient can pass 32 bits).
	if k := bits.TrailingZeros(uint(n)); n == 1<<k {
		s.i(x86.SHRD, x86.EBP, x86.EDI, x86.Imm(int64(k)))
		s.i(x86.SHR, x86.EDI, x86.Imm(int64(k)))
	} else {
		// All of ecx: its top half may hold a caller's leftovers.
		s.i(x86.MOV, x86.ECX, x86.Imm(int64(n)))
		s.i(x86.XCHG, x86.EAX, x86.EDI)
		s.i(x86.XOR, x86.EDX, x86.EDX)
		s.i(x86.DIV, x86.ECX)
		s.i(x86.XCHG, x86.EAX, x86.EBP)
		s.i(x86.DIV, x86.ECX)
		s.i(x86.MOV, x86.EDI, x86.EBP)
		s.i(x86.XCHG, x86.EAX, x86.EBP)
	}
	// r = isqrt(v) in esi, bit by bit from bit 31 (cl): t = r|bit
	// stays when t² < v+1.
	s.i(x86.XOR, x86.ESI, x86.ESI)
	s.i(x86.MOV, x86.CL, x86.Imm(31))
	s.label(name + ".bit")
	s.i(x86.BTS, x86.ESI, x86.ECX) // the bit is cl mod 32
	s.i(x86.MOV, x86.EAX, x86.ESI)
	s.i(x86.MUL, x86.EAX)
	s.i(x86.SUB, x86.EAX, x86.EBP)
	s.i(x86.SBB, x86.EDX, x86.EDI)
	s.i(x86.JB, x86.Label(name+".keep"))
	s.i(x86.BTR, x86.ESI, x86.ECX)
	s.label(name + ".keep")
	s.i(x86.DEC, x86.CL)
	s.i(x86.JNS, x86.Label(name+".bit"))
	s.i(x86.MOV, x86.EAX, x86.ESI)
	s.i(x86.SHR, x86.EAX, x86.Imm(1))
	s.i(x86.CDQ) // eax < 2^31: edx = 0
	s.i(x86.MOV, x86.DL, x86.Imm(1<<(ir.FracBits+ir.RMSInvBits-32)))
	s.i(x86.DIV, x86.ESI)
	s.i(x86.XCHG, x86.EAX, x86.EBP)
	s.i(x86.POP, x86.DI)
	s.i(x86.POP, x86.SI)
	s.i(x86.MOV, x86.CH, x86.Imm(int64(n)))
	s.label(name + ".out")
	s.i(x86.LODSD)
	s.i(x86.IMUL, x86.EBP)
	s.rshr(ir.RMSInvBits)
	s.i(x86.IMUL, x86.D(s.wmem(0)))
	s.advanceW(4)
	s.rshr(ir.FracBits)
	s.i(x86.STOSD)
	s.i(x86.DEC, x86.CH)
	s.i(x86.JNE, x86.Label(name+".out"))
	if ret {
		s.i(x86.RET)
	}
}
