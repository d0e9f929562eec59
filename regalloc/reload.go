package regalloc

import (
	x86 "tfc/codegen/x86_16"
)

// reloads drops the spill code's loads of a slot into a register that
// already holds it, and turns a load of a slot that another register
// holds into a move from that register (1 or 2 bytes fewer), once the
// allocation is known: spilling loads a value before each instruction
// that reads it, where the store before, or the load for the instruction
// before, often left it in the same register. It follows straight-line
// code only: a label, where other paths join, forgets every register,
// as does a call or an instruction after which control does not fall
// through. Only slots are tracked: nothing but the spill code (the
// kernel's own instructions on those addresses) reads or writes them.
func reloads(k *Kernel, o Options, as map[int]x86.Reg, slots []x86.Mem) *Kernel {
	slot := func(a x86.Operand) (int, bool) {
		m, ok := a.(x86.Mem)
		if !ok || m.Base != x86.NoReg || m.Index != x86.NoReg {
			return 0, false
		}
		for i, s := range slots {
			if m.Seg == s.Seg && m.Disp == s.Disp && m.Addr32 == s.Addr32 {
				return i, true
			}
		}
		return 0, false
	}
	holds := map[int]int{} // register family -> the slot its 32 bits hold
	out := &Kernel{Name: k.Name}
	for _, it := range k.Items {
		if it.Label != "" {
			clear(holds)
			out.Items = append(out.Items, it)
			continue
		}
		in, err := rewriteInst(it.Inst, as)
		e, eerr := itemEffects(Item{Inst: in, Reads: it.Reads}, &o)
		if err != nil || eerr != nil {
			clear(holds)
			out.Items = append(out.Items, it)
			continue
		}
		if r, s, ok := load(in, slot); ok {
			f, _ := family(r)
			if h, held := holds[f]; held && h == s {
				continue // r holds the slot already
			}
			for g := range physNodes {
				if h, held := holds[g]; held && h == s {
					it.Inst = x86.Inst{Op: x86.MOV, Args: []x86.Operand{it.Inst.Args[0], x86.EAX + x86.Reg(g)}}
					break
				}
			}
			holds[f] = s
			out.Items = append(out.Items, it)
			continue
		}
		for _, ac := range e.acc {
			if ac.write {
				f, _ := family(ac.reg)
				delete(holds, f)
			}
		}
		for i, a := range in.Args {
			s, ok := slot(a)
			if !ok || i > 0 && in.Op != x86.XCHG || i == 0 && readsFirst(in) {
				continue
			}
			for g, h := range holds {
				if h == s {
					delete(holds, g)
				}
			}
		}
		if in.Op == x86.MOV && len(in.Args) == 2 {
			// A store leaves its register holding the slot.
			if s, ok := slot(in.Args[0]); ok {
				if r, isReg := in.Args[1].(x86.Reg); isReg && r.Size() == 32 && in.Args[0].(x86.Mem).Size == 32 {
					f, _ := family(r)
					holds[f] = s
				}
			}
		}
		if e.flow != fNext && e.flow != fBranch {
			clear(holds)
		}
		out.Items = append(out.Items, it)
	}
	return out
}

// load: in is `mov r32, dword [slot]`.
func load(in x86.Inst, slot func(x86.Operand) (int, bool)) (x86.Reg, int, bool) {
	if in.Op != x86.MOV || len(in.Args) != 2 {
		return 0, 0, false
	}
	r, isReg := in.Args[0].(x86.Reg)
	s, isSlot := slot(in.Args[1])
	if !isReg || !isSlot || r.Size() != 32 || in.Args[1].(x86.Mem).Size != 32 {
		return 0, 0, false
	}
	return r, s, true
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
