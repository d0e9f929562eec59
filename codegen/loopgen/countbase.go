package loopgen

import (
	"slices"

	x86 "tfc/codegen/x86_16"
	"tfc/regalloc"
)

// countBase: for size, a loop that counts si or di up to 0 (toZero: `mov
// si, -N` … `[si+D]` … `add si, 4; jne`) and reads or writes through
// it, counts up to D instead, the address's own value (`mov si, D-N` …
// `[si]` … `add si, 4; cmp si, D; jne`), where that lets lodsLoads or
// stosStores make the access a string instruction: the compare's 3 or 4
// bytes against the access's displacement and the step's 3 (llama2.tf's
// embedding, `mov [di-0x19a8], eax; add di, 4` becoming `stosd`, and its
// norm's sum of squares, through lodsd: 2 bytes fewer each). One that
// counts up to a bound (`xor si, si` … `add si, 4; cmp si, 0x100; jl`)
// takes D on its start and its bound, no compare more. The other
// accesses through the register in the loop take their displacements
// less D. It applies where the loop is one stretch (no label or jump
// inside it, no other jump to its top, no call that names the
// register), the register is read in
// the loop only to address memory, and nothing reads it after the loop
// (it ends D further), nor, counting up to 0, the flags (the compare's
// carry is clear where the add's was set). After allocation (k in
// physical registers), before lodsLoads and stosStores; esIsDS as
// stosStores's.
func countBase(k *regalloc.Kernel, esIsDS bool) {
	for top := 1; top < len(k.Items); top++ {
		c, ok := countedLoop(k.Items, top)
		if !ok {
			continue
		}
		label := k.Items[top].Label
		was := loopBytes(k, label, esIsDS)
		for _, d := range c.disps {
			tried := &regalloc.Kernel{Name: k.Name, Items: c.rebased(k.Items, d)}
			if loopBytes(tried, label, esIsDS) < was {
				k.Items = tried.Items
				break
			}
		}
	}
}

// loopBytes is the size of the loop at label in k, from the instruction
// before it (its register's start) to its jump back, once lodsLoads and
// stosStores have run on k. The rebase changes nothing outside the loop
// (its register is dead after it), and code that shrinks makes no jump
// around it longer, nor grows and makes one shorter: k is smaller for it
// where the loop is.
func loopBytes(k *regalloc.Kernel, label string, esIsDS bool) int {
	c := &regalloc.Kernel{Name: k.Name, Items: slices.Clone(k.Items)}
	lodsLoads(c)
	stosStores(c, esIsDS)
	top := slices.IndexFunc(c.Items, func(it regalloc.Item) bool { return it.Label == label })
	end := top + 1
	for end < len(c.Items) && !jumps(c.Items[end].Inst.Op) {
		end++
	}
	if top < 1 || end == len(c.Items) {
		panic("BUG: loopgen: countBase lost its loop " + label)
	}
	return allocation{k: &regalloc.Kernel{Name: k.Name, Items: c.Items[top-1 : end+1]}}.bytes()
}

// counted is a loop that countBase may rebase: the instruction that
// starts its register at set (at start), its label at top, its step at
// step, and the compare with its bound at cmp where it counts up to one
// (else 0: it counts up to 0, the step's flags read by the jne after),
// and the displacements of its accesses.
type counted struct {
	r                   x86.Reg
	set, top, step, cmp int
	start               int64
	disps               []int32
}

// countedLoop is the loop whose label is items[top], if countBase may
// rebase it.
func countedLoop(items []regalloc.Item, top int) (counted, bool) {
	c := counted{top: top, set: top - 1}
	if items[top].Label == "" || items[c.set].Label != "" {
		return c, false
	}
	set := items[c.set].Inst
	r, isReg := x86.NoReg, false
	if len(set.Args) == 2 {
		r, isReg = set.Args[0].(x86.Reg)
	}
	n, isImm := x86.Imm(0), false
	switch {
	case set.Op == x86.MOV && isReg:
		n, isImm = set.Args[1].(x86.Imm)
	case set.Op == x86.XOR && isReg && set.Args[1] == x86.Operand(r):
		isImm = true
	}
	if !isReg || r != x86.SI && r != x86.DI || !isImm {
		return c, false
	}
	c.r, c.start = r, int64(int16(n))
	jump := 0
	for j := top + 1; j < len(items) && jump == 0; j++ {
		it := items[j]
		if it.Label != "" || it.Inst.Op == x86.RET || stringOp(it.Inst.Op) {
			return c, false
		}
		if jumps(it.Inst.Op) {
			if it.Inst.Args[0] != x86.Operand(x86.Label(items[top].Label)) {
				return c, false
			}
			jump = j
			continue
		}
		if callTouches(it, r) {
			return c, false
		}
		if comparesBound(it.Inst, r) && j+1 < len(items) && jumps(items[j+1].Inst.Op) {
			continue
		}
		for _, a := range it.Inst.Args {
			switch a := a.(type) {
			case x86.Reg:
				if gpr(a) == gpr(r) && !addsImm(it.Inst, r, stepOf(it.Inst)) {
					return c, false
				}
			case x86.Mem:
				if a.Base == r && a.Index == x86.NoReg || a.Index == r && a.Base == x86.NoReg && a.Scale <= 1 {
					if !slices.Contains(c.disps, a.Disp) {
						c.disps = append(c.disps, a.Disp)
					}
				} else if gpr(a.Base) == gpr(r) || gpr(a.Index) == gpr(r) {
					return c, false
				}
			}
		}
	}
	if jump == 0 || len(c.disps) == 0 {
		return c, false
	}
	// No other jump enters the loop at its top, with the register as it
	// was.
	for j, it := range items {
		if j != jump && slices.Contains(it.Inst.LabelRefs(), items[top].Label) {
			return c, false
		}
	}
	c.step = jump - 1
	if comparesBound(items[jump-1].Inst, r) {
		c.cmp, c.step = jump-1, jump-2
	}
	w := int64(stepOf(items[c.step].Inst))
	if c.step <= top || w <= 0 || !addsImm(items[c.step].Inst, r, int(w)) {
		return c, false
	}
	// The rebased loop counts as the original does, modulo 2^16: a jne
	// leaves both at once. A jl or jb (of a compare) leaves the original
	// at its bound where it steps onto it exactly, as a jne would.
	switch op := items[jump].Inst.Op; {
	case op == x86.JNE:
	case c.cmp > 0 && (op == x86.JL || op == x86.JB):
		l := int64(items[c.cmp].Inst.Args[1].(x86.Imm))
		span := int64(int16(l)) - c.start
		if op == x86.JB {
			span = int64(uint16(l)) - int64(uint16(c.start))
		}
		if span <= 0 || span%w != 0 {
			return c, false
		}
	default:
		return c, false
	}
	// What the loop's exit reads: the kernel's liveness with the jump
	// gone, after the step or the compare. It ends at its bound plus D;
	// a compare leaves the flags as they were (equal), a step to 0 its
	// carry set, which the compare then clears.
	out := slices.Delete(slices.Clone(items), jump, jump+1)
	live, err := regalloc.LiveOut(&regalloc.Kernel{Items: out}, allocOptions())
	if err != nil || live(jump-1, r) || c.cmp == 0 && !flagsDeadTo(items, jump+1, true, cf|af, true) {
		return c, false
	}
	return c, true
}

// comparesBound: in compares r with an immediate.
func comparesBound(in x86.Inst, r x86.Reg) bool {
	if in.Op != x86.CMP || len(in.Args) != 2 || in.Args[0] != x86.Operand(r) {
		return false
	}
	_, ok := in.Args[1].(x86.Imm)
	return ok
}

// stepOf is the immediate that in adds (1 for an inc), or 0.
func stepOf(in x86.Inst) int {
	if in.Op == x86.INC {
		return 1
	}
	if in.Op == x86.ADD && len(in.Args) == 2 {
		if n, ok := in.Args[1].(x86.Imm); ok {
			return int(n)
		}
	}
	return 0
}

// rebased is items with c's loop counting up to d, or to its bound plus d.
func (c counted) rebased(items []regalloc.Item, d int32) []regalloc.Item {
	out := slices.Clone(items[:c.set])
	out = append(out, regalloc.Item{Inst: x86.Inst{Op: x86.MOV, Args: []x86.Operand{c.r, x86.Imm(int64(int16(c.start + int64(d))))}}})
	out = append(out, items[c.top])
	last := c.step + 1 // the jne, or the compare
	for _, it := range items[c.top+1 : last] {
		in := it.Inst
		in.Args = slices.Clone(in.Args)
		for a, arg := range in.Args {
			if m, ok := arg.(x86.Mem); ok && (m.Base == c.r || m.Index == c.r) {
				// As the base: the same address, which lodsLoads takes.
				m.Base, m.Index, m.Scale, m.Disp = c.r, x86.NoReg, 0, m.Disp-d
				in.Args[a] = m
			}
		}
		it.Inst = in
		out = append(out, it)
	}
	if c.cmp == 0 {
		out = append(out, regalloc.Item{Inst: x86.Inst{Op: x86.CMP, Args: []x86.Operand{c.r, x86.Imm(int64(int16(d)))}}})
		return append(out, items[last:]...)
	}
	l := int64(items[c.cmp].Inst.Args[1].(x86.Imm))
	out = append(out, regalloc.Item{Inst: x86.Inst{Op: x86.CMP, Args: []x86.Operand{c.r, x86.Imm(int64(int16(l + int64(d))))}}})
	jne := items[c.cmp+1]
	jne.Inst = x86.Inst{Op: x86.JNE, Args: jne.Inst.Args}
	out = append(out, jne)
	return append(out, items[c.cmp+2:]...)
}
