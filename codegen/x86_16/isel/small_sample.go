package isel

import (
	x86 "tfc/codegen/x86_16"
	"tfc/ir"
)

// sample draws the next token as ir.Sim.draw does, in place in the logits
// (the trace has written them; the next forward pass computes them anew):
// z_i = rshr(logit_i·InvT, 16) and their maximum; e_i = exp(max − z_i) and
// their total (32 bits: at most MaxSampleVocab tokens); then, with top-p,
// ir.Nucleus: the least weight u whose heavier tokens weigh at most the
// limit, by bisection, and one pass that zeroes every token outside the
// nucleus; a draw of xorshift64*, and a scan in index order. The token is
// left in AX, as argmax leaves it. With a typed prompt, InvT and TopP come
// from low memory (parameter lines set them): InvT 0 is the argmax, and
// the nucleus always runs (TopP = One keeps every token).
func (s *small) sample(op *ir.Op) {
	x, n := s.l.VarAddr(op.Args[0]), op.Args[0].Len
	if n > ir.MaxSampleVocab {
		panic("BUG: sample over more tokens than 32-bit sums hold passed the checks")
	}
	end := v16(x + uint32(4*n))
	g := ir.SamplingOf(s.p.Gen)
	var invT, topP x86.Operand = x86.Imm(g.InvT), x86.Imm(g.TopP)
	nucleus := g.TopP < ir.One
	if s.typed {
		invT, topP, nucleus = low32(addrInvT), low32(addrTopP), true
	} else if g.InvT == 0 {
		s.argmax(op)
		return
	}
	done := s.fresh("sdone")
	if s.typed {
		draw := s.fresh("sdraw")
		s.i(x86.CMP, low32(addrInvT), x86.Imm(0))
		s.i(x86.JNE, x86.Label(draw))
		s.argmax(op)
		s.i(x86.JMP, x86.Label(done))
		s.label(draw)
	}
	// The draw first, kept on the stack: the passes below need every
	// register.
	s.xorshift()
	s.i(x86.PUSH, x86.EDX)

	// z in place, their maximum in ebp.
	s.i(x86.MOV, x86.EBX, invT)
	s.i(x86.MOV, x86.SI, v16(x))
	s.i(x86.MOV, x86.DI, x86.SI)
	s.i(x86.MOV, x86.EBP, x86.Imm(-1<<31))
	zl, zs := s.fresh("sz"), s.fresh("szs")
	s.label(zl)
	s.i(x86.LODSD)
	s.i(x86.IMUL, x86.EBX)
	s.rshr(ir.FracBits)
	s.i(x86.STOSD)
	s.i(x86.CMP, x86.EAX, x86.EBP)
	s.i(x86.JLE, x86.Label(zs))
	s.i(x86.MOV, x86.EBP, x86.EAX)
	s.label(zs)
	s.i(x86.CMP, x86.SI, end)
	s.i(x86.JB, x86.Label(zl))

	// e = exp(max − z) in place, as attention's (the table falls: T[j] −
	// (m·f + 1023) >> 11 with m = T[j] − T[j+1]); their total in ecx.
	// max − z < 2^32 unsigned: at or past ExpLimit, e is 0.
	tab := "tab." + op.Table.Name
	s.i(x86.MOV, x86.SI, v16(x))
	s.i(x86.MOV, x86.DI, x86.SI)
	s.i(x86.XOR, x86.ECX, x86.ECX)
	el, ein, est := s.fresh("se"), s.fresh("sein"), s.fresh("sest")
	s.label(el)
	s.i(x86.LODSD)
	s.i(x86.NEG, x86.EAX)
	s.i(x86.ADD, x86.EAX, x86.EBP)
	s.i(x86.CMP, x86.EAX, x86.Imm(ir.ExpLimit))
	s.i(x86.JB, x86.Label(ein))
	s.i(x86.XOR, x86.EAX, x86.EAX)
	s.i(x86.JMP, x86.Label(est))
	s.label(ein)
	s.expEntry(x86.BX, tab)
	s.i(x86.SUB, x86.EDX, x86.D(x86.Mem{Base: x86.BX, Label: tab, Disp: 4}))
	s.i(x86.MUL, x86.EDX)
	bias := uint32(1<<(ir.ExpStepBits-1)-1) << (32 - ir.ExpStepBits)
	s.i(x86.ADD, x86.EAX, x86.Imm(int64(int32(bias))))
	s.i(x86.MOV, x86.EAX, x86.D(x86.Mem{Base: x86.BX, Label: tab})) // keeps CF
	s.i(x86.SBB, x86.EAX, x86.EDX)
	s.label(est)
	s.i(x86.STOSD)
	s.i(x86.ADD, x86.ECX, x86.EAX)
	s.i(x86.CMP, x86.SI, end)
	s.i(x86.JB, x86.Label(el))

	if nucleus {
		s.nucleus(x, end, topP)
	}

	// The coin: u·total >> 24 with u the draw's top 24 bits; the token is
	// the first whose running weight passes it, where subtracting the
	// weights from it borrows.
	s.i(x86.POP, x86.EAX)
	s.i(x86.SHR, x86.EAX, x86.Imm(8))
	s.i(x86.MUL, x86.ECX)
	s.i(x86.SHLD, x86.EDX, x86.EAX, x86.Imm(8))
	s.i(x86.MOV, x86.SI, v16(x))
	sc := s.fresh("sscan")
	s.label(sc)
	s.i(x86.LODSD)
	s.i(x86.SUB, x86.EDX, x86.EAX)
	s.i(x86.JNC, x86.Label(sc))
	s.i(x86.XCHG, x86.AX, x86.SI)
	s.i(x86.SUB, x86.AX, v16(x+4))
	s.i(x86.SHR, x86.AX, x86.Imm(2))
	s.label(done)
}

// nucleus zeroes, in the weights at x (up to end, their total in ecx),
// every token outside the nucleus of ir.Nucleus, leaving the nucleus's
// total in ecx. The bisection looks for the largest K whose heavier tokens
// weigh more than the limit, a bit at a time from 2^22 down (K + 1 is u,
// the least weight whose heavier tokens weigh at most the limit); the last
// test that failed was of u itself, so it leaves G(u) in ebp, the weight
// the tokens of weight u start from.
func (s *small) nucleus(x uint32, end x86.Imm, topP x86.Operand) {
	s.i(x86.MOV, x86.EAX, x86.ECX)
	s.i(x86.MOV, x86.EDX, topP)
	s.i(x86.MUL, x86.EDX)
	s.i(x86.SHRD, x86.EAX, x86.EDX, x86.Imm(ir.FracBits))
	s.i(x86.MOV, low32(addrLimit), x86.EAX)
	s.i(x86.OR, x86.EBX, x86.Imm(-1))
	s.i(x86.MOV, x86.EDI, x86.Imm(1<<ir.ExpBits))
	bis, hv, hn, gt := s.fresh("sbis"), s.fresh("shv"), s.fresh("shn"), s.fresh("sgt")
	s.label(bis)
	s.i(x86.LEA, x86.ECX, x86.Ptr32(x86.EBX, x86.EDI, 1, 0))
	s.i(x86.MOV, x86.SI, v16(x))
	s.i(x86.XOR, x86.EDX, x86.EDX)
	s.label(hv)
	s.i(x86.LODSD)
	s.i(x86.CMP, x86.EAX, x86.ECX)
	s.i(x86.JBE, x86.Label(hn))
	s.i(x86.ADD, x86.EDX, x86.EAX)
	s.label(hn)
	s.i(x86.CMP, x86.SI, end)
	s.i(x86.JB, x86.Label(hv))
	s.i(x86.CMP, x86.EDX, low32(addrLimit))
	s.i(x86.JA, x86.Label(gt))
	s.i(x86.MOV, x86.EBP, x86.EDX)
	s.i(x86.MOV, x86.ECX, x86.EBX)
	s.label(gt)
	s.i(x86.MOV, x86.EBX, x86.ECX)
	s.i(x86.SHR, x86.EDI, x86.Imm(1))
	s.i(x86.JNZ, x86.Label(bis))
	s.i(x86.INC, x86.EBX)

	// Heavier than u: in; lighter: out; of weight u, in while the weight
	// before it (ebp, from G(u) on) is within the limit.
	s.i(x86.MOV, x86.SI, v16(x))
	s.i(x86.MOV, x86.DI, x86.SI)
	s.i(x86.XOR, x86.ECX, x86.ECX)
	pl, in, out := s.fresh("spa"), s.fresh("sin"), s.fresh("sout")
	s.label(pl)
	s.i(x86.LODSD)
	s.i(x86.CMP, x86.EAX, x86.EBX)
	s.i(x86.JA, x86.Label(in))
	s.i(x86.JB, x86.Label(out))
	s.i(x86.CMP, x86.EBP, low32(addrLimit))
	s.i(x86.JA, x86.Label(out))
	s.i(x86.ADD, x86.EBP, x86.EAX)
	s.i(x86.JMP, x86.Label(in))
	s.label(out)
	s.i(x86.XOR, x86.EAX, x86.EAX)
	s.label(in)
	s.i(x86.STOSD)
	s.i(x86.ADD, x86.ECX, x86.EAX)
	s.i(x86.CMP, x86.SI, end)
	s.i(x86.JB, x86.Label(pl))
}

// xorshift advances llama2.c's generator (ir.Rng.U32) and leaves its
// random_u32 in edx: x ^= x>>12, x ^= x<<25, x ^= x>>27 on x in edx:eax
// (the right shifts through sample.shr, which takes the count in cl), then
// the high half of the low 64 bits of x·0x2545F4914F6CDD1D.
func (s *small) xorshift() {
	shr := s.use("sample.shr", func() {
		s.i(x86.MOV, x86.EBX, x86.EAX)
		s.i(x86.MOV, x86.ESI, x86.EDX)
		s.i(x86.SHRD, x86.EBX, x86.ESI, x86.CL)
		s.i(x86.SHR, x86.ESI, x86.CL)
		s.label("sample.xor")
		s.i(x86.XOR, x86.EAX, x86.EBX)
		s.i(x86.XOR, x86.EDX, x86.ESI)
		s.i(x86.RET)
	})
	s.i(x86.MOV, x86.EAX, low32(addrRng))
	s.i(x86.MOV, x86.EDX, low32(addrRng+4))
	s.i(x86.MOV, x86.CL, x86.Imm(12))
	s.i(x86.CALL, x86.Label(shr))
	s.i(x86.MOV, x86.EBX, x86.EAX)
	s.i(x86.MOV, x86.ESI, x86.EDX)
	s.i(x86.SHLD, x86.ESI, x86.EBX, x86.Imm(25))
	s.i(x86.SHL, x86.EBX, x86.Imm(25))
	s.i(x86.CALL, x86.Label("sample.xor"))
	s.i(x86.MOV, x86.CL, x86.Imm(27))
	s.i(x86.CALL, x86.Label(shr))
	s.i(x86.MOV, low32(addrRng), x86.EAX)
	s.i(x86.MOV, low32(addrRng+4), x86.EDX)
	const ml, mh = 0x4F6CDD1D, 0x2545F491 // 0x2545F4914F6CDD1D
	s.i(x86.MOV, x86.EBX, x86.Imm(ml))
	s.i(x86.IMUL, x86.EDX, x86.EBX)
	s.i(x86.IMUL, x86.ECX, x86.EAX, x86.Imm(mh))
	s.i(x86.ADD, x86.ECX, x86.EDX)
	s.i(x86.MUL, x86.EBX)
	s.i(x86.ADD, x86.EDX, x86.ECX)
}

// seedSampler seeds the generator at the start of each generation: with
// the sampler's seed, or (seed clock) the BIOS's ticks since midnight
// (INT 1Ah) in the low half and 1 in the high one (never 0, which
// xorshift keeps).
func (s *small) seedSampler() {
	if s.p.Gen.SeedClock {
		s.i(x86.MOV, x86.AH, x86.Imm(0))
		s.i(x86.INT, x86.Imm(0x1A))
		s.i(x86.MOV, low16(addrRng), x86.DX)
		s.i(x86.MOV, low16(addrRng+2), x86.CX)
		s.i(x86.MOV, low32(addrRng+4), x86.Imm(1))
		return
	}
	seed := s.p.Gen.Seed
	s.i(x86.MOV, low32(addrRng), x86.Imm(int64(int32(uint32(seed)))))
	s.i(x86.MOV, low32(addrRng+4), x86.Imm(int64(int32(uint32(seed>>32)))))
}
