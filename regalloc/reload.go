package regalloc

import (
	"math/bits"

	x86 "tfc/codegen/x86_16"
)

// reloads drops the loads of a slot (or of o.Invariant's memory) into a
// register that already holds what they load, and turns such a load that
// another register holds into a move from that register (1 or 2 bytes
// fewer), once the allocation is known: spilling loads a value before
// each instruction that reads it, where the store before, or the load for
// the instruction before, often left it in the same register. It follows
// straight-line code only: a label, where other paths join, forgets every
// register, as does a call or an instruction after which control does
// not fall through. Only those addresses are tracked: nothing but the
// spill code (the kernel's own instructions on them) writes a slot, and
// nothing writes o.Invariant.
func reloads(k *Kernel, o Options, as map[int]x86.Reg, slots []x86.Mem) *Kernel {
	tracked := func(a x86.Operand) bool {
		m, ok := a.(x86.Mem)
		if !ok {
			return false
		}
		_, isSlot := slotAt(m, slots)
		return isSlot || invariant(m, &o)
	}
	holds := map[loaded]uint8{} // what registers hold: a bit a family
	forget := func(f int) {
		for l, fs := range holds {
			if fs &^= 1 << f; fs == 0 {
				delete(holds, l)
			} else {
				holds[l] = fs
			}
		}
	}
	// zero: the registers (a bit a family) that an xor with themselves
	// cleared, with only moves since, which write no flags: another such
	// xor would leave the register and the flags as they are.
	var zero uint8
	out := &Kernel{Name: k.Name}
	for _, it := range k.Items {
		if it.Label != "" {
			clear(holds)
			zero = 0
			out.Items = append(out.Items, it)
			continue
		}
		in, err := rewriteInst(it.Inst, as)
		e, eerr := itemEffects(Item{Inst: in, Reads: it.Reads, Clobbers: it.Clobbers}, &o)
		if err != nil || eerr != nil {
			clear(holds)
			zero = 0
			out.Items = append(out.Items, it)
			continue
		}
		if r, ok := clears(in); ok {
			f, _ := family(r)
			if zero&(1<<f) != 0 {
				continue
			}
			forget(f)
			zero |= 1 << f
			out.Items = append(out.Items, it)
			continue
		}
		if in.Op != x86.MOV {
			zero = 0
		}
		for _, ac := range e.acc {
			if f, _ := family(ac.reg); ac.write {
				zero &^= 1 << f
			}
		}
		if r, l, ok := loadOf(in, tracked); ok {
			f, _ := family(r)
			fs := holds[l]
			if fs&(1<<f) != 0 {
				continue // r holds it already
			}
			if fs != 0 {
				g := bits.TrailingZeros8(fs) // the first that holds it
				it.Inst = x86.Inst{Op: x86.MOV, Args: []x86.Operand{it.Inst.Args[0], x86.EAX + x86.Reg(g)}}
			}
			forget(f)
			holds[l] |= 1 << f
			out.Items = append(out.Items, it)
			continue
		}
		for _, ac := range e.acc {
			if ac.write {
				f, _ := family(ac.reg)
				forget(f)
			}
		}
		for i, a := range in.Args {
			if !tracked(a) || i > 0 && in.Op != x86.XCHG || i == 0 && readsFirst(in) {
				continue
			}
			for l := range holds {
				if d := a.(x86.Mem).Disp; d < l.disp+4 && l.disp < d+4 {
					delete(holds, l) // the dwords overlap
				}
			}
		}
		if in.Op == x86.MOV && len(in.Args) == 2 && tracked(in.Args[0]) {
			// A store leaves its register holding what a load would.
			if r, isReg := in.Args[1].(x86.Reg); isReg && r.Size() == 32 && in.Args[0].(x86.Mem).Size == 32 {
				f, _ := family(r)
				holds[loaded{x86.MOV, in.Args[0].(x86.Mem).Disp, 32}] |= 1 << f
			}
		}
		if e.flow != fNext && e.flow != fBranch {
			clear(holds)
		}
		out.Items = append(out.Items, it)
	}
	return out
}

// slotAt: m is one of slots (an address alone), at its displacement.
func slotAt(m x86.Mem, slots []x86.Mem) (int32, bool) {
	if m.Base != x86.NoReg || m.Index != x86.NoReg {
		return 0, false
	}
	for _, s := range slots {
		if m.Seg == s.Seg && m.Disp == s.Disp && m.Addr32 == s.Addr32 {
			return m.Disp, true
		}
	}
	return 0, false
}

// clears: in is `xor r32, r32`.
func clears(in x86.Inst) (x86.Reg, bool) {
	if in.Op != x86.XOR || len(in.Args) != 2 || in.Args[0] != in.Args[1] {
		return 0, false
	}
	r, ok := in.Args[0].(x86.Reg)
	return r, ok && r.Size() == 32
}

// loaded is what a load into a 32-bit register reads: mov of a dword, or
// movzx of a word or a byte, at disp.
type loaded struct {
	op   x86.Op
	disp int32
	size int
}

// loadOf: in is `mov r32, dword [m]` or `movzx r32, word|byte [m]`, m
// tracked.
func loadOf(in x86.Inst, tracked func(x86.Operand) bool) (x86.Reg, loaded, bool) {
	if in.Op != x86.MOV && in.Op != x86.MOVZX || len(in.Args) != 2 {
		return 0, loaded{}, false
	}
	r, isReg := in.Args[0].(x86.Reg)
	if !isReg || r.Size() != 32 || !tracked(in.Args[1]) {
		return 0, loaded{}, false
	}
	m := in.Args[1].(x86.Mem)
	if in.Op == x86.MOV && m.Size != 32 {
		return 0, loaded{}, false
	}
	return r, loaded{in.Op, m.Disp, m.Size}, true
}

// readsFirst: in only reads its first operand (compares, tests, pushes,
// the operand of a one-operand multiply or divide).
func readsFirst(in x86.Inst) bool {
	switch in.Op {
	case x86.CMP, x86.TEST, x86.PUSH, x86.BT:
		return true
	case x86.MUL, x86.IMUL, x86.DIV, x86.IDIV:
		return len(in.Args) == 1
	}
	return false
}

// deadStores drops the stores to a slot that a second store to the
// whole slot overwrites before anything reads it, in straight-line code
// (spilling stores a value where it is written, and a two-address op
// writes its result twice: mov v, a, then op v, b).
func deadStores(k *Kernel, slots []x86.Mem) *Kernel {
	slot := func(a x86.Operand) (int32, bool) {
		m, ok := a.(x86.Mem)
		if !ok {
			return 0, false
		}
		return slotAt(m, slots)
	}
	// store: it is `mov dword [slot], r|imm`.
	store := func(in x86.Inst) (int32, bool) {
		if in.Op != x86.MOV || len(in.Args) != 2 {
			return 0, false
		}
		d, ok := slot(in.Args[0])
		return d, ok && in.Args[0].(x86.Mem).Size == 32
	}
	dead := map[int]bool{}
	for i, it := range k.Items {
		d, ok := store(it.Inst)
		if it.Label != "" || !ok {
			continue
		}
	scan:
		for _, next := range k.Items[i+1:] {
			if next.Label != "" {
				break
			}
			if d2, ok := store(next.Inst); ok && d2 == d {
				dead[i] = true
				break
			}
			if op := next.Inst.Op; !computes(op) && op != x86.CMP && op != x86.TEST && op != x86.MUL {
				break scan // control, or what else may read memory
			}
			for _, a := range next.Inst.Args {
				if d2, ok := slot(a); ok && d2 < d+4 && d < d2+4 {
					break scan // read (or written in part)
				}
			}
		}
	}
	if len(dead) == 0 {
		return k
	}
	out := &Kernel{Name: k.Name}
	for i, it := range k.Items {
		if !dead[i] {
			out.Items = append(out.Items, it)
		}
	}
	return out
}
