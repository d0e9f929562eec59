package loopgen

import (
	x86 "tfc/codegen/x86_16"
	"tfc/regalloc"
)

// pushPairs moves a value that the allocator keeps in its own spill slot
// around a loop (regalloc's splitAround: `mov [m], r` before it, `mov r,
// [m]` after) to the stack instead: `push r`, `pop r`, 2 bytes (4 for a
// dword) where the moves took 8 (10). It does so where every access to m
// is such a pair, so that m holds nothing else, and where the code
// between a pair is entered and left only through its ends (no jump into
// it or out of it, no return) and leaves the stack as it found it
// (attention's score index around its dot product, its head's offset
// around the weighted sum).
func pushPairs(k *regalloc.Kernel, from, to uint16) {
	for prologuePair(k, from, to) {
	}
	// A pair that only puts back what the last took (`pop ax; push ax`,
	// ax dead after) goes, which may leave the code around another
	// balanced: a second round.
	for round := 0; round < 2; round++ {
		pushSlots(k.Items, from, to)
		drop := resaved(k)
		if len(drop) == 0 {
			return
		}
		dropItems(k, drop)
	}
}

// resaved are the items of k that pop a general register the next item
// pushes again, and that push, where nothing reads the register after
// it: the pair only puts back what it took.
func resaved(k *regalloc.Kernel) map[int]bool {
	live, err := regalloc.LiveOut(k, allocOptions())
	if err != nil {
		return nil
	}
	drop := map[int]bool{}
	for i := 0; i+1 < len(k.Items); i++ {
		pop, push := k.Items[i], k.Items[i+1]
		if pop.Label != "" || push.Label != "" || pop.Inst.Op != x86.POP || push.Inst.Op != x86.PUSH ||
			len(pop.Inst.Args) != 1 || len(push.Inst.Args) != 1 || pop.Inst.Args[0] != push.Inst.Args[0] {
			continue
		}
		r, isReg := pop.Inst.Args[0].(x86.Reg)
		if _, gpr := regalloc.Family(r); isReg && gpr && !live(i+1, r) {
			drop[i], drop[i+1] = true, true
		}
	}
	return drop
}

// pushSlots is a round of pushPairs.
func pushSlots(items []regalloc.Item, from, to uint16) {
	slot := func(a x86.Operand) (uint16, bool) {
		m, isMem := a.(x86.Mem)
		s, own := ownSlot(m, from, to)
		return s, isMem && own
	}
	access := map[uint16][]int{}
	var order []uint16
	for i, it := range items {
		for _, a := range it.Inst.Args {
			if s, ok := slot(a); ok {
				if access[s] == nil {
					order = append(order, s)
				}
				access[s] = append(access[s], i)
				break
			}
		}
	}
	for _, s := range order {
		at := access[s]
		if len(at)%2 != 0 {
			continue
		}
		var pairs [][2]int
		for k := 0; k < len(at); k += 2 {
			if !splitPair(items[at[k]].Inst, items[at[k+1]].Inst) || !selfContained(items, at[k], at[k+1]) {
				pairs = nil
				break
			}
			pairs = append(pairs, [2]int{at[k], at[k+1]})
		}
		for _, p := range pairs {
			r := items[p[0]].Inst.Args[1]
			items[p[0]].Inst = x86.Inst{Op: x86.PUSH, Args: []x86.Operand{r}}
			items[p[1]].Inst = x86.Inst{Op: x86.POP, Args: []x86.Operand{r}}
		}
	}
}

// splitPair: store is `mov [m], r` and load `mov r, [m]`, of one size.
func splitPair(store, load x86.Inst) bool {
	if store.Op != x86.MOV || load.Op != x86.MOV || len(store.Args) != 2 || len(load.Args) != 2 {
		return false
	}
	sm, ok1 := store.Args[0].(x86.Mem)
	sr, ok2 := store.Args[1].(x86.Reg)
	lr, ok3 := load.Args[0].(x86.Reg)
	lm, ok4 := load.Args[1].(x86.Mem)
	return ok1 && ok2 && ok3 && ok4 && sr == lr && sm.Disp == lm.Disp && sm.Size == lm.Size && sr.Size() >= 16
}

// selfContained: the items strictly between i and j are entered and left
// only at their ends, and leave the stack pointer as they found it.
func selfContained(items []regalloc.Item, i, j int) bool {
	inside := map[string]bool{}
	for _, it := range items[i+1 : j] {
		if it.Label != "" {
			inside[it.Label] = true
		}
	}
	depth := 0
	for k, it := range items {
		in := it.Inst
		between := k > i && k < j
		if jumps(in.Op) {
			for _, l := range in.LabelRefs() {
				if inside[l] != between {
					return false // into the code between, or out of it
				}
			}
		}
		if !between {
			continue
		}
		for _, a := range in.Args {
			if r, ok := a.(x86.Reg); ok && (r == x86.SP || r == x86.ESP) {
				return false
			}
		}
		switch in.Op {
		case x86.RET, x86.RETF, x86.IRET:
			return false
		case x86.PUSH, x86.PUSHA, x86.PUSHAD, x86.PUSHF, x86.PUSHFD:
			depth++
		case x86.POP, x86.POPA, x86.POPAD, x86.POPF, x86.POPFD:
			depth--
		}
		if depth < 0 {
			return false
		}
	}
	return depth == 0
}

// jumps: op transfers control to a label of the kernel (a call goes to a
// routine and comes back).
func jumps(op x86.Op) bool {
	return op == x86.JMP || op.IsJcc() || op == x86.LOOP || op == x86.LOOPE || op == x86.LOOPNE || op == x86.JCXZ
}
