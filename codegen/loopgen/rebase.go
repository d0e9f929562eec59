package loopgen

import (
	"slices"

	x86 "tfc/codegen/x86_16"
	"tfc/regalloc"
)

// rebase folds a region's pointer into the offsets that address through
// it (the flat model's layer regions: the KV cache): where a kernel
// addresses [r+p] with r loaded once from the region's slot, p becomes
// the address itself, r+p, by an add of the slot after each of p's
// definitions that does not copy such an address, and the addresses
// [p]. Each address is a byte shorter (no SIB byte), and r, where
// nothing else reads it, is no longer live through the kernel
// (attention's, which held the cache's pointer in a register through
// all its loops). An offset qualifies where each of its reads is such an
// address, a copy into another that qualifies, or an add to another just
// written (joins: the sum carries the pointer once), and each of its
// writes is a definition, a copy from another, such an add, or an add or
// subtract of something that is not one (its stepping). A choice of the
// size policy (variant.rebase): each definition costs an add.
func rebase(k *regalloc.Kernel) {
	for _, r := range regionPointers(k.Items) {
		rebaseOn(k, r.reg, r.slot)
	}
}

// regionPointer is a virtual that one load from a low-memory slot writes.
type regionPointer struct {
	reg  x86.Reg
	slot x86.Mem
}

// regionPointers are the virtuals of items that a single load from a
// 16-bit absolute dword writes, and nothing else.
func regionPointers(items []regalloc.Item) []regionPointer {
	defs := map[x86.Reg]int{}
	slot := map[x86.Reg]x86.Mem{}
	for _, it := range items {
		in := it.Inst
		for j, a := range in.Args {
			if d, ok := a.(x86.Reg); ok && regalloc.IsVirtual(d) &&
				(j == 0 && in.Op != x86.CMP && in.Op != x86.TEST && in.Op != x86.PUSH || in.Op == x86.XCHG) {
				defs[regalloc.V(vnum(d))]++
			}
		}
		d, ok := arg(in, 0).(x86.Reg)
		if m, isMem := arg(in, 1).(x86.Mem); ok && in.Op == x86.MOV && isV32(d) && isMem &&
			m.Base == x86.NoReg && m.Index == x86.NoReg && m.Label == "" && m.Seg == x86.NoReg && m.Size == 32 {
			slot[d] = m
		}
	}
	var out []regionPointer
	for r, m := range slot {
		if defs[r] == 1 {
			out = append(out, regionPointer{r, m})
		}
	}
	slices.SortFunc(out, func(a, b regionPointer) int { return int(a.reg) - int(b.reg) })
	return out
}

// rebaseOn is rebase for the pointer r, loaded from slot.
func rebaseOn(k *regalloc.Kernel, r x86.Reg, slot x86.Mem) {
	// pair: m adds r and a 32-bit virtual, unscaled, which it returns.
	pair := func(m x86.Mem) (x86.Reg, bool) {
		if m.Scale > 1 || m.Label != "" {
			return x86.NoReg, false
		}
		switch {
		case m.Base == r && m.Index != r && isV32(m.Index):
			return m.Index, true
		case m.Index == r && m.Base != r && isV32(m.Base):
			return m.Base, true
		}
		return x86.NoReg, false
	}
	s := map[x86.Reg]bool{}
	for _, it := range k.Items {
		for _, a := range it.Inst.Args {
			if m, ok := a.(x86.Mem); ok {
				if p, ok := pair(m); ok {
					s[p] = true
				}
			}
		}
	}
	// And the values added to those (attention's head offset, which the
	// position's offset adds: given the pointer once, it carries it into
	// each position's address; see joins).
	for _, it := range k.Items {
		in := it.Inst
		if d, ok := arg(in, 0).(x86.Reg); ok && s[d] && in.Op == x86.ADD {
			if q, ok := arg(in, 1).(x86.Reg); ok && isV32(q) {
				s[q] = true
			}
		}
	}
	// Drop the offsets that a use disqualifies, until none does.
	for changed := true; changed; {
		changed = false
		for i := range k.Items {
			for p := range s {
				if !qualifies(k.Items, i, p, r, s, pair) {
					delete(s, p)
					changed = true
				}
			}
		}
	}
	if len(s) == 0 {
		return
	}
	out := make([]regalloc.Item, 0, len(k.Items)+4)
	for i, it := range k.Items {
		in := it.Inst
		if len(in.Args) > 0 {
			in.Args = slices.Clone(in.Args)
		}
		for j, a := range in.Args {
			if m, ok := a.(x86.Mem); ok {
				if p, ok := pair(m); ok && s[p] {
					m.Base, m.Index, m.Scale = p, x86.NoReg, 1
					in.Args[j] = m
				}
			}
		}
		it.Inst = in
		out = append(out, it)
		if p, ok := rootDef(k.Items, i, s); ok {
			if !flagsDeadAfter(k.Items, i+1, true) {
				return // the add would change flags that are read
			}
			out = append(out, regalloc.Item{Inst: x86.Inst{Op: x86.ADD, Args: []x86.Operand{p, slot}}})
		}
	}
	k.Items = out
}

// qualifies: items[i] lets offset p (of the set s) stay one.
func qualifies(items []regalloc.Item, i int, p, r x86.Reg, s map[x86.Reg]bool, pair func(x86.Mem) (x86.Reg, bool)) bool {
	in := items[i].Inst
	n := vnum(p)
	for j, a := range in.Args {
		switch a := a.(type) {
		case x86.Reg:
			if !regalloc.IsVirtual(a) || vnum(a) != n {
				continue
			}
			if a != p {
				return false // a 16- or 8-bit view
			}
			if j == 0 {
				if !writesWhole(in) && !steps(in, s) && !joins(items, i, s) {
					return false
				}
				if m, ok := arg(in, 1).(x86.Mem); ok && in.Op == x86.LEA && (m.Base == r || m.Index == r) {
					return false // r+q: an address already, which the add would count twice
				}
				continue
			}
			if writesWhole(in) && in.Args[1] == in.Args[0] {
				continue // the zeroing idiom
			}
			// Read as a source: only a copy into another offset, or
			// an add that makes one an address (joins).
			d, ok := in.Args[0].(x86.Reg)
			if (in.Op != x86.MOV || !ok || !s[d]) && !joins(items, i, s) {
				return false
			}
		case x86.Mem:
			// Only as the offset of a pair with r (not as a view).
			for _, x := range []x86.Reg{a.Base, a.Index} {
				if regalloc.IsVirtual(x) && vnum(x) == n {
					if q, ok := pair(a); !ok || q != x {
						return false
					}
				}
			}
		}
	}
	return true
}

// steps: in adds to or subtracts from its first operand something that
// is not an offset of s (a constant, a register, memory), or increments
// or decrements it.
func steps(in x86.Inst, s map[x86.Reg]bool) bool {
	switch in.Op {
	case x86.INC, x86.DEC:
		return len(in.Args) == 1
	case x86.ADD, x86.SUB:
		if len(in.Args) != 2 {
			return false
		}
		src, isReg := in.Args[1].(x86.Reg)
		return !isReg || !s[src]
	}
	return false
}

// rootDef: items[i] writes an offset of s whole, but for a copy of
// another or where the next adds one (joins): the offset it writes, to
// which the pointer is added.
func rootDef(items []regalloc.Item, i int, s map[x86.Reg]bool) (x86.Reg, bool) {
	d, ok := plainDef(items[i].Inst, s)
	if !ok || i+1 < len(items) && joins(items, i+1, s) {
		return x86.NoReg, false
	}
	return d, true
}

// plainDef: in writes an offset of s whole, other than as a copy of
// another: the offset it writes.
func plainDef(in x86.Inst, s map[x86.Reg]bool) (x86.Reg, bool) {
	if !writesWhole(in) {
		return x86.NoReg, false
	}
	d, ok := in.Args[0].(x86.Reg)
	if !ok || !s[d] {
		return x86.NoReg, false
	}
	if src, isReg := arg(in, 1).(x86.Reg); in.Op == x86.MOV && isReg && s[src] {
		return x86.NoReg, false
	}
	return d, true
}

// joins: items[i] adds an offset of s (an address, then) to another that
// the instruction just before it wrote plainly (plainDef): the sum is an
// address, with the pointer once (attention's `mov p, q; add p, head`).
func joins(items []regalloc.Item, i int, s map[x86.Reg]bool) bool {
	in := items[i].Inst
	if i == 0 || items[i].Label != "" || items[i-1].Label != "" || in.Op != x86.ADD || len(in.Args) != 2 {
		return false
	}
	d, ok := in.Args[0].(x86.Reg)
	q, isReg := in.Args[1].(x86.Reg)
	prev, plain := plainDef(items[i-1].Inst, s)
	return ok && isReg && s[q] && q != d && plain && prev == d
}

// writesWhole: in writes its first operand whole without reading it (a
// move, a three-operand imul, the zeroing idiom).
func writesWhole(in x86.Inst) bool {
	switch in.Op {
	case x86.MOV, x86.MOVZX, x86.MOVSX, x86.LEA:
		return len(in.Args) == 2
	case x86.IMUL:
		return len(in.Args) == 3
	case x86.XOR, x86.SUB:
		return len(in.Args) == 2 && in.Args[0] == in.Args[1]
	}
	return false
}

// arg is in's i-th operand, nil where it has none.
func arg(in x86.Inst, i int) x86.Operand {
	if i < len(in.Args) {
		return in.Args[i]
	}
	return nil
}

// isV32 is whether r is a virtual's 32-bit register.
func isV32(r x86.Reg) bool { return regalloc.IsVirtual(r) && regalloc.Bits(r) == 32 }
