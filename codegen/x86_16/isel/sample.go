package isel

import (
	"fmt"
	"math"

	x86 "tfc/codegen/x86_16"
	"tfc/ir"
)

// expMasked sets eax to exp(−d) from the table (ir.ExpLookup) for d in
// eax, or 0 when d is at or past ExpLimit (unsigned): the index is
// cleared first and the result masked, without a branch. j, dt and in are
// scratch virtuals.
func (k *kern) expMasked(tab int32, j, dt, in x86.Reg) {
	k.i(x86.CMP, x86.EAX, x86.Imm(ir.ExpLimit))
	k.i(x86.SBB, in, in) // all ones within the table
	k.i(x86.AND, x86.EAX, in)
	k.expLookup(tab, j, dt)
	k.i(x86.AND, x86.EAX, in)
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
	invT := x86.Operand(x86.Imm(int64(math.Round(ir.One / g.Temperature))))
	nucleus := g.TopP > 0 && g.TopP < 1
	var topP x86.Operand = x86.Imm(int64(math.Round(g.TopP * ir.One)))
	if e.sampling {
		// From memory; with a TopP of One the nucleus is every token.
		invT, topP, nucleus = low32(addrInvT), low32(addrTopP), true
	}
	tab := int32(e.pointData(l.Tables[op.Table]))
	e.opSub(func(k *kern) {
		done := e.fresh("sdone")
		if e.sampling {
			// An InvT of 0 (/t 0): greedy, the argmax, no draw.
			draw := e.fresh("sdraw")
			k.i(x86.CMP, low32(addrInvT), x86.Imm(0))
			k.i(x86.JNE, x86.Label(draw))
			e.argmaxBody(k, x, n)
			k.i(x86.JMP, x86.Label(done))
			k.label(draw)
		}

		// z_i = rshr(logit·invT, 16) and their maximum (compared unsigned
		// with the sign bits flipped, kept flipped).
		best, v, m, f := k.v(), k.v(), k.v(), k.v()
		k.i(x86.XOR, best, best)
		k.elems(n, func(el elem) {
			k.i(x86.MOV, f, invT)
			k.i(x86.MOV, x86.EAX, el.at(x))
			k.i(x86.IMUL, f)
			k.rshr64(ir.FracBits)
			k.i(x86.MOV, el.at(x), x86.EAX)
			k.i(x86.MOV, v, x86.EAX)
			k.i(x86.XOR, v, x86.Imm(-1<<31))
			k.i(x86.CMP, best, v)
			k.i(x86.SBB, m, m)
			k.i(x86.XOR, v, best)
			k.i(x86.AND, v, m)
			k.i(x86.XOR, best, v)
		})
		k.i(x86.XOR, best, x86.Imm(-1<<31))

		// e_i = exp(best − z_i) and their total.
		total, j, dt, in := k.v(), k.v(), k.v(), k.v()
		k.i(x86.XOR, total, total)
		k.elems(n, func(el elem) {
			k.i(x86.MOV, x86.EAX, best)
			k.i(x86.SUB, x86.EAX, el.at(x))
			k.expMasked(tab, j, dt, in)
			k.i(x86.MOV, el.at(x), x86.EAX)
			k.i(x86.ADD, total, x86.EAX)
		})

		weights := x
		if nucleus {
			// A token is in the nucleus when the tokens ranked above it (a
			// larger e, or an equal e and a lower index) weigh at most the
			// limit. The comparison's borrow: ei − ej − (j < i) borrows
			// exactly when j ranks above i.
			weights = l.Nucleus
			k.i(x86.MOV, x86.EAX, total)
			k.i(x86.MOV, x86.EDX, topP)
			k.i(x86.MUL, x86.EDX)
			k.i(x86.SHRD, x86.EAX, x86.EDX, x86.Imm(ir.FracBits))
			k.i(x86.MOV, low32(addrLimit), x86.EAX)
			ii, ei, rank, jj, ej, t := k.v(), k.v(), k.v(), k.v(), k.v(), k.v()
			k.i(x86.XOR, ii, ii)
			outer := e.fresh("tout")
			k.label(outer)
			k.i(x86.MOV, ei, x86.D(x86.Ptr32(x86.NoReg, ii, 4, int32(x))))
			k.i(x86.XOR, rank, rank)
			u := unroll(n)
			k.i(x86.XOR, jj, jj)
			inner := e.fresh("tin")
			k.label(inner)
			for q := 0; q < u; q++ {
				if q == 0 {
					k.i(x86.CMP, jj, ii)
				} else {
					k.i(x86.LEA, t, x86.D(x86.Ptr32(jj, x86.NoReg, 1, int32(q))))
					k.i(x86.CMP, t, ii)
				}
				k.i(x86.MOV, ej, x86.D(x86.Ptr32(x86.NoReg, jj, 4, int32(x)+int32(4*q))))
				k.i(x86.MOV, t, ei)
				k.i(x86.SBB, t, ej)
				k.i(x86.SBB, t, t)
				k.i(x86.AND, t, ej)
				k.i(x86.ADD, rank, t)
			}
			k.i(x86.ADD, jj, x86.Imm(int64(u)))
			k.i(x86.CMP, jj, x86.Imm(int64(n)))
			k.i(x86.JB, x86.Label(inner))
			k.i(x86.CMP, low32(addrLimit), rank)
			k.i(x86.SBB, t, t) // all ones when outside the nucleus
			k.i(x86.NOT, t)
			k.i(x86.AND, t, ei)
			k.i(x86.MOV, x86.D(x86.Ptr32(x86.NoReg, ii, 4, int32(l.Nucleus))), t)
			k.i(x86.INC, ii)
			k.i(x86.CMP, ii, x86.Imm(int64(n)))
			k.i(x86.JB, x86.Label(outer))
			k.i(x86.XOR, total, total)
			k.elems(n, func(el elem) {
				k.i(x86.ADD, total, el.at(l.Nucleus))
			})
		}
		k.i(x86.MOV, low32(addrTotal), total)

		k.xorshift()
		k.i(x86.SHR, x86.EAX, x86.Imm(8))
		k.i(x86.MUL, low32(addrTotal))
		k.i(x86.SHRD, x86.EAX, x86.EDX, x86.Imm(24))
		c, cum := k.v(), k.v()
		k.i(x86.XOR, c, c)
		k.i(x86.XOR, cum, cum)
		scan, found := e.fresh("scan"), e.fresh("found")
		k.label(scan)
		k.i(x86.ADD, cum, x86.D(x86.Ptr32(x86.NoReg, c, 4, int32(weights))))
		k.i(x86.CMP, x86.EAX, cum)
		k.i(x86.JB, x86.Label(found))
		k.i(x86.INC, c)
		k.i(x86.JMP, x86.Label(scan)) // the coin is below the total: the scan ends
		k.label(found)
		k.i(x86.MOV, low16(addrNext), w16(c))
		k.label(done)
	})
	return nil
}

// xorshift advances llama2.c's generator and leaves random_u32() in eax:
// x ^= x>>12, x ^= x<<25, x ^= x>>27, then the high half of the low 64
// bits of x·0x2545F4914F6CDD1D.
func (k *kern) xorshift() {
	lo, hi, a, b := k.v(), k.v(), k.v(), k.v()
	k.i(x86.MOV, lo, low32(addrRng))
	k.i(x86.MOV, hi, low32(addrRng+4))
	for _, s := range []struct {
		left bool
		n    int64
	}{{false, 12}, {true, 25}, {false, 27}} {
		k.i(x86.MOV, a, lo)
		k.i(x86.MOV, b, hi)
		if s.left {
			k.i(x86.SHLD, b, a, x86.Imm(s.n))
			k.i(x86.SHL, a, x86.Imm(s.n))
		} else {
			k.i(x86.SHRD, a, b, x86.Imm(s.n))
			k.i(x86.SHR, b, x86.Imm(s.n))
		}
		k.i(x86.XOR, lo, a)
		k.i(x86.XOR, hi, b)
	}
	k.i(x86.MOV, low32(addrRng), lo)
	k.i(x86.MOV, low32(addrRng+4), hi)
	const ml, mh = 0x4F6CDD1D, 0x2545F491 // 0x2545F4914F6CDD1D
	k.i(x86.IMUL, a, hi, x86.Imm(ml))
	k.i(x86.IMUL, b, lo, x86.Imm(mh))
	k.i(x86.MOV, x86.EAX, lo)
	k.i(x86.MOV, x86.EDX, x86.Imm(ml))
	k.i(x86.MUL, x86.EDX)
	k.i(x86.ADD, x86.EDX, a)
	k.i(x86.ADD, x86.EDX, b)
	k.i(x86.MOV, x86.EAX, x86.EDX)
}
