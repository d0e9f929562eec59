package isel

import (
	"fmt"
	"math"

	. "tfc/codegen/x86_16"
	"tfc/ir"
)

// expMasked sets eax to exp(−d) from the table (ir.ExpLookup) for d in
// eax, or 0 when d is at or past ExpLimit (unsigned): the index is
// cleared first and the result masked, without a branch. j, dt and in are
// scratch virtuals.
func (k *kern) expMasked(tab int32, j, dt, in Reg) {
	k.i(CMP, EAX, Imm(ir.ExpLimit))
	k.i(SBB, in, in) // all ones within the table
	k.i(AND, EAX, in)
	k.expLookup(tab, j, dt)
	k.i(AND, EAX, in)
}

// sample draws the next token as ir.Sim.sample does: z and e in place in
// the logits, the nucleus weights in l.Nucleus (ranking each token against
// all others: no sort), a draw of xorshift64*, a scan in index order.
func (e *fast) sample(op *ir.Op, p *ir.Program, l *Layout) error {
	x, n := l.VarAddr(op.Args[0]), op.Args[0].Len
	if n > ir.MaxSampleVocab {
		return fmt.Errorf("BUG: sample over %d tokens passed the checks (at most %d)", n, ir.MaxSampleVocab)
	}
	g := p.Gen
	invT := int64(math.Round(ir.One / g.Temperature))
	tab := int32(e.pointData(l.Tables[op.Table]))
	e.opSub(func(k *kern) {

		// z_i = rshr(logit·invT, 16) and their maximum (compared unsigned
		// with the sign bits flipped, kept flipped).
		best, v, m, f := k.v(), k.v(), k.v(), k.v()
		k.i(XOR, best, best)
		k.elems(n, func(el elem) {
			k.i(MOV, f, Imm(invT))
			k.i(MOV, EAX, el.at(x))
			k.i(IMUL, f)
			k.rshr64(ir.FracBits)
			k.i(MOV, el.at(x), EAX)
			k.i(MOV, v, EAX)
			k.i(XOR, v, Imm(-1<<31))
			k.i(CMP, best, v)
			k.i(SBB, m, m)
			k.i(XOR, v, best)
			k.i(AND, v, m)
			k.i(XOR, best, v)
		})
		k.i(XOR, best, Imm(-1<<31))

		// e_i = exp(best − z_i) and their total.
		total, j, dt, in := k.v(), k.v(), k.v(), k.v()
		k.i(XOR, total, total)
		k.elems(n, func(el elem) {
			k.i(MOV, EAX, best)
			k.i(SUB, EAX, el.at(x))
			k.expMasked(tab, j, dt, in)
			k.i(MOV, el.at(x), EAX)
			k.i(ADD, total, EAX)
		})

		weights := x
		if g.TopP > 0 && g.TopP < 1 {
			// A token is in the nucleus when the tokens ranked above it (a
			// larger e, or an equal e and a lower index) weigh at most the
			// limit. The comparison's borrow: ei − ej − (j < i) borrows
			// exactly when j ranks above i.
			weights = l.Nucleus
			k.i(MOV, EAX, total)
			k.i(MOV, EDX, Imm(int64(math.Round(g.TopP*ir.One))))
			k.i(MUL, EDX)
			k.i(SHRD, EAX, EDX, Imm(ir.FracBits))
			k.i(MOV, low32(addrLimit), EAX)
			ii, ei, rank, jj, ej, t := k.v(), k.v(), k.v(), k.v(), k.v(), k.v()
			k.i(XOR, ii, ii)
			outer := e.fresh("tout")
			k.label(outer)
			k.i(MOV, ei, D(Ptr32(NoReg, ii, 4, int32(x))))
			k.i(XOR, rank, rank)
			u := unroll(n)
			k.i(XOR, jj, jj)
			inner := e.fresh("tin")
			k.label(inner)
			for q := 0; q < u; q++ {
				if q == 0 {
					k.i(CMP, jj, ii)
				} else {
					k.i(LEA, t, D(Ptr32(jj, NoReg, 1, int32(q))))
					k.i(CMP, t, ii)
				}
				k.i(MOV, ej, D(Ptr32(NoReg, jj, 4, int32(x)+int32(4*q))))
				k.i(MOV, t, ei)
				k.i(SBB, t, ej)
				k.i(SBB, t, t)
				k.i(AND, t, ej)
				k.i(ADD, rank, t)
			}
			k.i(ADD, jj, Imm(int64(u)))
			k.i(CMP, jj, Imm(int64(n)))
			k.i(JB, Label(inner))
			k.i(CMP, low32(addrLimit), rank)
			k.i(SBB, t, t) // all ones when outside the nucleus
			k.i(NOT, t)
			k.i(AND, t, ei)
			k.i(MOV, D(Ptr32(NoReg, ii, 4, int32(l.Nucleus))), t)
			k.i(INC, ii)
			k.i(CMP, ii, Imm(int64(n)))
			k.i(JB, Label(outer))
			k.i(XOR, total, total)
			k.elems(n, func(el elem) {
				k.i(ADD, total, el.at(l.Nucleus))
			})
		}
		k.i(MOV, low32(addrTotal), total)

		k.xorshift()
		k.i(SHR, EAX, Imm(8))
		k.i(MUL, low32(addrTotal))
		k.i(SHRD, EAX, EDX, Imm(24))
		c, cum := k.v(), k.v()
		k.i(XOR, c, c)
		k.i(XOR, cum, cum)
		scan, found := e.fresh("scan"), e.fresh("found")
		k.label(scan)
		k.i(ADD, cum, D(Ptr32(NoReg, c, 4, int32(weights))))
		k.i(CMP, EAX, cum)
		k.i(JB, Label(found))
		k.i(INC, c)
		k.i(JMP, Label(scan)) // the coin is below the total: the scan ends
		k.label(found)
		k.i(MOV, low16(addrNext), w16(c))
	})
	return nil
}

// xorshift advances llama2.c's generator and leaves random_u32() in eax:
// x ^= x>>12, x ^= x<<25, x ^= x>>27, then the high half of the low 64
// bits of x·0x2545F4914F6CDD1D.
func (k *kern) xorshift() {
	lo, hi, a, b := k.v(), k.v(), k.v(), k.v()
	k.i(MOV, lo, low32(addrRng))
	k.i(MOV, hi, low32(addrRng+4))
	for _, s := range []struct {
		left bool
		n    int64
	}{{false, 12}, {true, 25}, {false, 27}} {
		k.i(MOV, a, lo)
		k.i(MOV, b, hi)
		if s.left {
			k.i(SHLD, b, a, Imm(s.n))
			k.i(SHL, a, Imm(s.n))
		} else {
			k.i(SHRD, a, b, Imm(s.n))
			k.i(SHR, b, Imm(s.n))
		}
		k.i(XOR, lo, a)
		k.i(XOR, hi, b)
	}
	k.i(MOV, low32(addrRng), lo)
	k.i(MOV, low32(addrRng+4), hi)
	const ml, mh = 0x4F6CDD1D, 0x2545F491 // 0x2545F4914F6CDD1D
	k.i(IMUL, a, hi, Imm(ml))
	k.i(IMUL, b, lo, Imm(mh))
	k.i(MOV, EAX, lo)
	k.i(MOV, EDX, Imm(ml))
	k.i(MUL, EDX)
	k.i(ADD, EDX, a)
	k.i(ADD, EDX, b)
	k.i(MOV, EAX, EDX)
}
