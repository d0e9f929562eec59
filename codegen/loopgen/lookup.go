package loopgen

import (
	"fmt"
	"slices"

	x86 "tfc/codegen/x86_16"
	"tfc/lir"
)

// A table lookup the size policy keeps (lir's OpLookup, where a Func has
// two or more: the pass lonelookup) calls a routine the calls share:
// eax = the table at ebx (bx: an offset in the segment register the
// routine names), entry eax>>bits interpolated by eax's low bits. Each
// call costs `mov bx, table; call` (6 bytes, 9 flat) where the lookup
// inline takes about 45.

// lookupRoutine is one routine: its shift and the table's addressing
// (the segment register, x86.NoReg for a flat 32-bit address).
type lookupRoutine struct {
	bits int64
	seg  x86.Reg
}

func (r lookupRoutine) name() string {
	if r.seg == x86.NoReg {
		return fmt.Sprintf("lookup%d", r.bits)
	}
	return fmt.Sprintf("lookup%d.%s", r.bits, r.seg)
}

// reads and lookupClobbers are a call's registers, the allocator's view
// of it (the routine below, which leaves ecx: its rounding shift is its
// own, not rshr's by cl). In a segment the table's offset is bx: a
// call that read ebx would keep ebx's upper half live from the kernel's
// entry, through every loop, above the mov to bx.
func (r lookupRoutine) reads() []x86.Reg {
	if r.seg == x86.NoReg {
		return []x86.Reg{x86.EAX, x86.EBX}
	}
	return []x86.Reg{x86.EAX, x86.BX}
}

var lookupClobbers = []x86.Reg{x86.EAX, x86.EBX, x86.EDX}

// lookup selects in as a call of its routine.
func (k *kernel) lookup(in *lir.Inst) {
	at := k.addr(lir.Mem{Buf: in.Mem.Buf, Base: lir.NoReg, Index: lir.NoReg, Disp: in.Mem.Disp, Width: 4})
	r := lookupRoutine{bits: in.Imm, seg: at.Seg}
	switch {
	case at.Base != x86.NoReg || at.Index != x86.NoReg:
		panic(fmt.Sprintf("BUG: loopgen: kernel %s: table %s through a register", k.name, in.Mem.Buf))
	case at.Seg != x86.NoReg && !at.Addr32:
		k.i(x86.MOV, x86.BX, x86.Imm(int64(uint16(at.Disp))))
	case at.Seg == x86.NoReg:
		k.i(x86.MOV, x86.EBX, x86.Imm(int64(uint32(at.Disp))))
	default:
		panic(fmt.Sprintf("BUG: loopgen: kernel %s: table %s at a 32-bit offset in a segment", k.name, in.Mem.Buf))
	}
	k.i(x86.MOV, x86.EAX, k.src(in.A))
	k.i(x86.CALL, x86.Label(r.name()))
	last := &k.k.Items[len(k.k.Items)-1]
	last.Reads, last.Clobbers = r.reads(), lookupClobbers
	k.lookups[r] = true
	k.i(x86.MOV, k.dst(in.Dst), x86.EAX)
}

// lookupRoutines appends the routines the kernels call, in a fixed
// order.
// fraction sets edx to eax's low bits: for 9 to 15 of them (the exp and
// gate tables' 11), its low word with the high byte's upper bits cleared
// (movzx, and dh: 7 bytes where a copy and an and of edx take 10).
func (g *gen) fraction(bits int64) {
	if bits > 8 && bits < 16 {
		g.i(x86.MOVZX, x86.EDX, x86.AX)
		g.i(x86.AND, x86.DH, x86.Imm(1<<(bits-8)-1))
		return
	}
	g.i(x86.MOV, x86.EDX, x86.EAX)
	g.i(x86.AND, x86.EDX, x86.Imm(1<<bits-1))
}

func (g *gen) lookupRoutines() {
	rs := make([]lookupRoutine, 0, len(g.lookups))
	for r := range g.lookups {
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b lookupRoutine) int {
		if a.bits != b.bits {
			return int(a.bits - b.bits)
		}
		return int(a.seg) - int(b.seg)
	})
	for _, r := range rs {
		g.prog.Mark(r.name())
		g.prog.Label(r.name())
		// edx = f, the low bits; bx (flat, ebx) at the entry,
		// 4·(eax>>bits) on (eax>>(bits−2) with its low 2 bits cleared).
		g.fraction(r.bits)
		if r.seg == x86.NoReg {
			g.i(x86.SHR, x86.EAX, x86.Imm(r.bits))
			g.i(x86.LEA, x86.EBX, x86.Mem{Base: x86.EBX, Index: x86.EAX, Scale: 4, Addr32: true})
		} else {
			g.i(x86.SHR, x86.EAX, x86.Imm(r.bits-2))
			g.i(x86.AND, x86.AL, x86.Imm(-4))
			g.i(x86.ADD, x86.BX, x86.AX)
		}
		base := x86.BX
		if r.seg == x86.NoReg {
			base = x86.EBX
		}
		t0, t1 := x86.D(plainDS(x86.Mem{Base: base, Seg: r.seg})), x86.D(plainDS(x86.Mem{Base: base, Disp: 4, Seg: r.seg}))
		// t0 + rshr((t1 − t0)·f, bits): shrd leaves the rounding bit
		// in CF, which adc adds with t0 (5 + 3 bytes where mov cl, bits;
		// call rshr; add eax, t0 took as many, and clobbered ecx).
		g.i(x86.MOV, x86.EAX, t1)
		g.i(x86.SUB, x86.EAX, t0)
		g.i(x86.IMUL, x86.EDX)
		g.i(x86.SHRD, x86.EAX, x86.EDX, x86.Imm(r.bits))
		g.i(x86.ADC, x86.EAX, t0)
		g.i(x86.RET)
	}
}
