package loopgen

import (
	"slices"

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
	// A pair that only puts back what the last took (`pop ax; push ax`,
	// ax dead after) goes, which may leave the code around another
	// balanced: a second round.
	for prologuePair(k, from, to) {
	}
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

// prologuePair moves one param that a proc's prologue stores in its own
// spill slot, and that one later load takes back, to the stack (it
// reports whether): the prologue reads its params from the data after
// its call (pop si, lods…, push si), and the store comes before the
// return address goes back, which the push must follow. The push takes
// the param's register where nothing after the store writes it, else
// the param's bytes, which si still points past (push word [si-4]: 3
// bytes, where the store took 3 and the load 4, and the pop takes 1).
// llama2.tf's norm (its destination, spilled across the square root).
func prologuePair(k *regalloc.Kernel, from, to uint16) bool {
	items := k.Items
	start, end, ok := prologue(items)
	if !ok {
		return false
	}
	// at: by item, the data's bytes from where the lods there read to
	// the end.
	at, left := map[int]int{}, 0
	for i := end - 1; i > start; i-- {
		if w := lodsWidth(items[i].Inst); w > 0 {
			left += w
			at[i] = left
		}
	}
	for i := start + 1; i < end; i++ {
		m, r, isStore := slotStore(items[i])
		s, own := ownSlot(m, from, to)
		if !isStore || !own || r.Size() != m.Size {
			continue
		}
		load, ok := onlyLoad(items, i, s, from, to)
		if !ok || !selfContained(items, end, load) {
			continue
		}
		var src x86.Operand = r
		if writtenBetween(items, i+1, end, r) {
			n, read := at[i-1]
			if !read || gpr(r) != gpr(x86.EAX) || 8*lodsWidth(items[i-1].Inst) < r.Size() {
				continue
			}
			src = x86.Mem{Size: r.Size(), Base: x86.SI, Disp: int32(-n)}
		}
		items[load].Inst = x86.Inst{Op: x86.POP, Args: []x86.Operand{items[load].Inst.Args[0]}}
		push := regalloc.Item{Inst: x86.Inst{Op: x86.PUSH, Args: []x86.Operand{src}}}
		k.Items = slices.Insert(items, end+1, push)
		k.Items = slices.Delete(k.Items, i, i+1)
		return true
	}
	return false
}

// prologue finds a proc's reading of its params from its call's data:
// the first item pops si, and end is the push of si that follows, with
// neither a label nor a jump between.
func prologue(items []regalloc.Item) (start, end int, ok bool) {
	for i, it := range items {
		in := it.Inst
		switch {
		case it.Label != "" || jumps(in.Op) || in.Op == x86.CALL || in.Op == x86.RET:
			return 0, 0, false
		case in.Op == x86.POP && len(in.Args) == 1 && in.Args[0] == x86.SI && i == 0:
		case i == 0:
			return 0, 0, false
		case in.Op == x86.PUSH && len(in.Args) == 1 && in.Args[0] == x86.SI:
			return 0, i, true
		}
	}
	return 0, 0, false
}

// onlyLoad is the one other item that names slot s, after the store at
// i: a load of the store's size into a general register.
func onlyLoad(items []regalloc.Item, i int, s, from, to uint16) (int, bool) {
	load := -1
	for j, it := range items {
		if j == i {
			continue
		}
		for _, a := range it.Inst.Args {
			if m, isMem := a.(x86.Mem); isMem {
				if t, own := ownSlot(m, from, to); own && t == s {
					if load >= 0 || j < i {
						return 0, false
					}
					load = j
				}
			}
		}
	}
	if load < 0 {
		return 0, false
	}
	in, st := items[load].Inst, items[i].Inst
	if in.Op != x86.MOV || len(in.Args) != 2 || in.Args[1] != st.Args[0] {
		return 0, false
	}
	r, isReg := in.Args[0].(x86.Reg)
	_, g := regalloc.Family(r)
	return load, isReg && g && r.Size() == st.Args[0].(x86.Mem).Size
}

// writtenBetween: an item from i up to end may write r's register: a
// lods (eax), a move, exchange, add or clear that names it, or any other
// instruction.
func writtenBetween(items []regalloc.Item, i, end int, r x86.Reg) bool {
	for _, it := range items[i:end] {
		in := it.Inst
		switch {
		case lodsWidth(in) > 0:
			if gpr(r) == gpr(x86.EAX) {
				return true
			}
		case in.Op == x86.MOV || in.Op == x86.MOVZX || in.Op == x86.XCHG || in.Op == x86.ADD || in.Op == x86.XOR:
			if names(in, r) {
				return true
			}
		default:
			return true
		}
	}
	return false
}

// lodsWidth is the bytes a lods reads (0: in is none).
func lodsWidth(in x86.Inst) int {
	switch in.Op {
	case x86.LODSB:
		return 1
	case x86.LODSW:
		return 2
	case x86.LODSD:
		return 4
	}
	return 0
}
