package isel

import (
	"fmt"
	"math"

	. "tfc/codegen/x86_16"
	"tfc/ir"
)

// maxSampleVocab keeps the sum of the softmax weights (each at most 2^22)
// within 32 bits.
const maxSampleVocab = 1<<(32-ir.ExpBits) - 1

// sample draws the next token as ir.Sim.sample does: z and e in place in
// the logits, the nucleus weights in l.Nucleus (ranking each token against
// all others: no sort), a draw of xorshift64*, a scan in index order.
func (e *fast) sample(op *ir.Op, p *ir.Program, l *Layout) error {
	x, n := l.VarAddr(op.Args[0]), op.Args[0].Len
	if n > maxSampleVocab {
		return fmt.Errorf("%s: sample() in the image supports a vocabulary up to %d, not %d", op.Pos, maxSampleVocab, n)
	}
	g := p.Gen
	invT := int64(math.Round(ir.One / g.Temperature))
	xi := func(r Reg) Mem { return m32(NoReg, r, 4, x-4) }
	exp := e.pointData(l.Tables[op.Table])

	// z_i = rshr(logit·invT, 16) and their maximum in ebx.
	e.i(MOV, EBX, Imm(-1<<31))
	e.i(MOV, ECX, Imm(int64(n)))
	zl, zn := e.fresh("z"), e.fresh("zn")
	e.label(zl)
	e.i(MOV, EAX, xi(ECX))
	e.i(MOV, EDX, Imm(invT))
	e.i(IMUL, EDX)
	e.rshr64(ir.FracBits)
	e.i(MOV, xi(ECX), EAX)
	e.i(CMP, EAX, EBX)
	e.i(JLE, Label(zn))
	e.i(MOV, EBX, EAX)
	e.label(zn)
	e.loop(zl)

	// e_i = exp(best − z_i), total in esi.
	e.i(XOR, ESI, ESI)
	e.i(MOV, ECX, Imm(int64(n)))
	el, ez, ep := e.fresh("e"), e.fresh("ez"), e.fresh("ep")
	e.label(el)
	e.i(MOV, EAX, EBX)
	e.i(SUB, EAX, xi(ECX))
	e.i(CMP, EAX, Imm(ir.ExpLimit))
	e.i(JAE, Label(ez))
	e.i(MOV, EDI, EAX)
	e.i(SHR, EDI, Imm(ir.ExpStepBits))
	e.i(AND, EAX, Imm(1<<ir.ExpStepBits-1))
	e.i(MOV, EBP, EAX)
	e.interpolate(exp, EDI, EBP, ir.ExpStepBits)
	e.i(JMP, Label(ep))
	e.label(ez)
	e.i(XOR, EAX, EAX)
	e.label(ep)
	e.i(MOV, xi(ECX), EAX)
	e.i(ADD, ESI, EAX)
	e.loop(el)

	weights := x
	if g.TopP > 0 && g.TopP < 1 {
		weights = l.Nucleus
		e.i(MOV, EAX, ESI)
		e.i(MOV, EDX, Imm(int64(math.Round(g.TopP*ir.One))))
		e.i(MUL, EDX)
		e.i(SHRD, EAX, EDX, Imm(ir.FracBits))
		e.i(MOV, low32(addrLimit), EAX)
		e.i(MOV, ECX, Imm(int64(n)))
		il, jl, add, skip, out := e.fresh("ti"), e.fresh("tj"), e.fresh("tadd"), e.fresh("tskip"), e.fresh("tout")
		e.label(il)
		e.i(MOV, EDX, xi(ECX))
		e.i(XOR, EDI, EDI)
		e.i(MOV, EBP, Imm(int64(n)))
		e.label(jl)
		e.i(MOV, EAX, xi(EBP))
		e.i(CMP, EAX, EDX)
		e.i(JA, Label(add))
		e.i(JB, Label(skip))
		e.i(CMP, EBP, ECX)
		e.i(JAE, Label(skip))
		e.label(add)
		e.i(ADD, EDI, EAX)
		e.label(skip)
		e.i(DEC, EBP)
		e.i(JNE, Label(jl))
		e.i(XOR, EAX, EAX)
		e.i(CMP, EDI, low32(addrLimit))
		e.i(JA, Label(out))
		e.i(MOV, EAX, EDX)
		e.label(out)
		e.i(MOV, m32(NoReg, ECX, 4, l.Nucleus-4), EAX)
		e.loop(il)
		e.i(XOR, ESI, ESI)
		e.i(MOV, ECX, Imm(int64(n)))
		tl := e.fresh("tsum")
		e.label(tl)
		e.i(ADD, ESI, m32(NoReg, ECX, 4, l.Nucleus-4))
		e.loop(tl)
	}
	e.i(MOV, low32(addrTotal), ESI)

	e.xorshift()
	e.i(SHR, EAX, Imm(8))
	e.i(MUL, low32(addrTotal))
	e.i(SHRD, EAX, EDX, Imm(24))
	e.i(XOR, ECX, ECX)
	e.i(XOR, EDX, EDX)
	scan, found := e.fresh("scan"), e.fresh("found")
	e.label(scan)
	e.i(ADD, EDX, m32(NoReg, ECX, 4, weights))
	e.i(CMP, EAX, EDX)
	e.i(JB, Label(found))
	e.i(INC, ECX)
	e.i(JMP, Label(scan)) // the coin is below the total: the scan ends
	e.label(found)
	e.i(MOV, low16(addrNext), CX)
	return nil
}

// xorshift advances llama2.c's generator and leaves random_u32() in eax:
// x ^= x>>12, x ^= x<<25, x ^= x>>27, then the high half of the low 64
// bits of x·0x2545F4914F6CDD1D.
func (e *fast) xorshift() {
	e.i(MOV, EAX, low32(addrRng))
	e.i(MOV, EDX, low32(addrRng+4))
	for _, s := range []struct {
		left bool
		n    int64
	}{{false, 12}, {true, 25}, {false, 27}} {
		e.i(MOV, EBX, EAX)
		e.i(MOV, ECX, EDX)
		if s.left {
			e.i(SHLD, ECX, EBX, Imm(s.n))
			e.i(SHL, EBX, Imm(s.n))
		} else {
			e.i(SHRD, EBX, ECX, Imm(s.n))
			e.i(SHR, ECX, Imm(s.n))
		}
		e.i(XOR, EAX, EBX)
		e.i(XOR, EDX, ECX)
	}
	e.i(MOV, low32(addrRng), EAX)
	e.i(MOV, low32(addrRng+4), EDX)
	const lo, hi = 0x4F6CDD1D, 0x2545F491 // 0x2545F4914F6CDD1D
	e.i(IMUL, EDI, EDX, Imm(lo))
	e.i(IMUL, ESI, EAX, Imm(hi))
	e.i(MOV, EBX, Imm(lo))
	e.i(MUL, EBX)
	e.i(ADD, EDX, EDI)
	e.i(ADD, EDX, ESI)
	e.i(MOV, EAX, EDX)
}
