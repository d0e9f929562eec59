package loopgen

import (
	"fmt"
	"slices"

	x86 "tfc/codegen/x86_16"
	"tfc/lir"
)

// The size policy calls, for an OpMac2 whose second dword lies a constant
// after its first (rope's coordinates: a sine's column and the cosine's a
// column apart), a routine the calls share: eax = rshr(a·[bx] +
// b·[bx+delta], n), bx an offset in the segment the routine names (flat:
// ebx, a linear address). The factors come in eax and ecx, or, where both
// are loads of one reader (reload makes them so) a constant apart, the
// routine reads them itself at si and si+xDelta (rope's pair, which then
// takes no register between its two mac2s). A call takes a lea of bx (and
// a move or a lea of si) and the call, where the products, their sum and
// the shift inline take about 35 bytes.

// mac2Routine is one routine: the distance of the second dword, the
// shift, the tables' addressing (the segment register, x86.NoReg for a
// flat 32-bit address), and where the routine reads the factors, their
// distance and addressing.
type mac2Routine struct {
	delta, bits int64
	seg         x86.Reg
	mem         bool
	xDelta      int64
	xSeg        x86.Reg
}

func (r mac2Routine) name() string {
	s := fmt.Sprintf("mac2.%d.%d%s", r.delta, r.bits, segSuffix(r.seg))
	if r.mem {
		s += fmt.Sprintf(".x%d%s", r.xDelta, segSuffix(r.xSeg))
	}
	return s
}

func segSuffix(r x86.Reg) string {
	if r == x86.NoReg {
		return ""
	}
	return "." + r.String()
}

// base is the register that holds the first dword's address; xBase, the
// first factor's.
func (r mac2Routine) base() x86.Reg {
	if r.seg == x86.NoReg {
		return x86.EBX
	}
	return x86.BX
}

func (r mac2Routine) xBase() x86.Reg {
	if r.xSeg == x86.NoReg {
		return x86.ESI
	}
	return x86.SI
}

// mac2Clobbers are what a call's routine writes (rshr's cl within ecx).
var mac2Clobbers = []x86.Reg{x86.EAX, x86.ECX, x86.EDX}

// apart: m and m2 differ in their displacements alone.
func apart(m, m2 lir.Mem) bool {
	return m.Buf == m2.Buf && m.Base == m2.Base && m.Index == m2.Index && m.Scale == m2.Scale &&
		m.Width == m2.Width && m.Signed == m2.Signed
}

// mac2 selects in: a call of its routine, else the products inline.
func (k *kernel) mac2(in *lir.Inst) {
	at := k.addr(in.Mem)
	if !k.mac2Call || !apart(in.Mem, in.Mem2) {
		k.mac2Inline(in, at)
		return
	}
	r := mac2Routine{delta: in.Mem2.Disp - in.Mem.Disp, bits: in.Imm, seg: at.Seg}
	reads := []x86.Reg{r.base()}
	ma, okA := k.deferred[in.A]
	mb, okB := k.deferred[in.B]
	if okA && okB && apart(ma, mb) && ma.Width == 4 {
		xa := k.addr(ma)
		r.mem, r.xDelta, r.xSeg = true, mb.Disp-ma.Disp, xa.Seg
		if xa.Index == x86.NoReg && xa.Disp == 0 && xa.Base != x86.NoReg {
			// The whole register, which the allocator gives the
			// pointer itself (a move of its low word it would not),
			// though the call reads si alone in a segment (narrow then
			// steps the pointer in 16 bits).
			k.i(x86.MOV, x86.ESI, xa.Base)
		} else {
			xa.Size = 0 // its segment goes after allocation (allocated)
			k.i(x86.LEA, r.xBase(), xa)
		}
		reads = append(reads, r.xBase())
	}
	ea := at
	ea.Size = 0
	k.i(x86.LEA, r.base(), ea)
	if !r.mem {
		k.i(x86.MOV, x86.EAX, k.src(in.A))
		k.i(x86.MOV, x86.ECX, k.src(in.B))
		reads = append(reads, x86.EAX, x86.ECX)
	}
	k.i(x86.CALL, x86.Label(r.name()))
	last := &k.k.Items[len(k.k.Items)-1]
	last.Reads, last.Clobbers = reads, mac2Clobbers
	k.mac2s[r] = true
	k.i(x86.MOV, k.dst(in.Dst), x86.EAX)
}

// mac2Inline is in's products, their sum and its rounding shift.
func (k *kernel) mac2Inline(in *lir.Inst, at x86.Mem) {
	lo, hi := k.v(), k.v()
	k.i(x86.MOV, x86.EAX, k.src(in.A))
	k.i(x86.IMUL, x86.D(at))
	k.i(x86.MOV, lo, x86.EAX)
	k.i(x86.MOV, hi, x86.EDX)
	k.i(x86.MOV, x86.EAX, k.src(in.B))
	k.i(x86.IMUL, x86.D(k.addr(in.Mem2)))
	k.i(x86.ADD, x86.EAX, lo)
	k.i(x86.ADC, x86.EDX, hi)
	if k.rshrCall {
		k.callRshrEAX(in.Imm)
	} else {
		k.i(x86.SHRD, x86.EAX, x86.EDX, x86.Imm(in.Imm))
		k.i(x86.ADC, x86.EAX, x86.Imm(0))
	}
	k.i(x86.MOV, k.dst(in.Dst), x86.EAX)
}

// newMac2Bytes are the bytes of the routines k calls that g has not
// emitted a call of yet: what the first kernel that calls one pays for it.
func (g *gen) newMac2Bytes(k *kernel) int {
	n := 0
	for r := range k.mac2s {
		if !g.mac2s[r] {
			n += r.bytes()
		}
	}
	return n
}

// bytes is what r's code takes (its jump to rshr short).
func (r mac2Routine) bytes() int {
	var p x86.Program
	p.Equ(rshrEntry(r.bits), 0)
	r.emit(&p)
	n, err := p.Size(0)
	if err != nil {
		panic(fmt.Sprintf("BUG: loopgen: %s: %v", r.name(), err))
	}
	return n
}

// mac2Routines appends the routines the kernels call, in a fixed order;
// each ends at its shift's entry of the rshr routine.
func (g *gen) mac2Routines() {
	rs := make([]mac2Routine, 0, len(g.mac2s))
	for r := range g.mac2s {
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b mac2Routine) int {
		for _, d := range []int64{a.delta - b.delta, a.bits - b.bits, int64(a.seg) - int64(b.seg), boolInt(a.mem) - boolInt(b.mem),
			a.xDelta - b.xDelta, int64(a.xSeg) - int64(b.xSeg)} {
			if d != 0 {
				return int(d)
			}
		}
		return 0
	})
	for _, r := range rs {
		g.prog.Mark(r.name())
		r.emit(g.prog)
	}
}

// emit appends r's code.
func (r mac2Routine) emit(p *x86.Program) {
	p.Label(r.name())
	t0 := x86.D(plainDS(x86.Mem{Base: r.base(), Seg: r.seg}))
	t1 := x86.D(plainDS(x86.Mem{Base: r.base(), Disp: int32(r.delta), Seg: r.seg}))
	if r.mem {
		p.I(x86.MOV, x86.EAX, x86.D(plainDS(x86.Mem{Base: r.xBase(), Seg: r.xSeg})))
		p.I(x86.IMUL, t0)
		p.I(x86.XCHG, x86.EAX, x86.ECX) // ecx = the low half; eax is loaded next
		p.I(x86.PUSH, x86.EDX)
		p.I(x86.MOV, x86.EAX, x86.D(plainDS(x86.Mem{Base: r.xBase(), Disp: int32(r.xDelta), Seg: r.xSeg})))
	} else {
		p.I(x86.IMUL, t0)
		p.I(x86.XCHG, x86.EAX, x86.ECX) // eax = ecx's factor, ecx = the low half
		p.I(x86.PUSH, x86.EDX)
	}
	p.I(x86.IMUL, t1)
	p.I(x86.ADD, x86.EAX, x86.ECX)
	p.I(x86.POP, x86.ECX)
	p.I(x86.ADC, x86.EDX, x86.ECX)
	p.I(x86.JMP, x86.Label(rshrEntry(r.bits)))
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
