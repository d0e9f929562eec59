package regalloc

import (
	"slices"

	x86 "tfc/codegen/x86_16"
)

// HoistLoads moves loads that a loop repeats to its preheader: spilling
// loads a value before each instruction that reads it, so that a value
// spilled where registers are scarce and read in a later loop where one
// is free is loaded in each pass (llama2.tf's norm: its destination,
// spilled across the square root, loaded in each pass of its last loop).
// k is in physical registers; fixed(m) tells which memory only
// instructions that name its address write (k's spill slots: as reloads
// assumes, no pointer reaches them), and keeps(in) whether a call leaves
// that memory as it was.
//
// A load `mov r, [m]` (or movzx) moves before the top label of a loop
// where:
//   - control enters the loop only at its top, falling through from the
//     instruction before it;
//   - the load comes before any branch or label inside the loop, so that
//     each pass runs it, and no instruction before it in the loop reads
//     r's register (r then holds [m] after the loop, as before);
//   - nothing else in the loop writes r's register, and nothing in it
//     writes m.
//
// Loads in nested loops move out one loop at a time.
func HoistLoads(k *Kernel, o Options, fixed func(m x86.Mem) bool, keeps func(in x86.Inst) bool) error {
	// Most kernels load no slot: no liveness for them (each allocation
	// the size policy tries comes here).
	if !slices.ContainsFunc(k.Items, func(it Item) bool { _, _, ok := fixedLoad(it.Inst, fixed); return ok }) {
		return nil
	}
	for {
		a, err := analyze(k, &o)
		if err != nil {
			return err
		}
		from, to, ok := hoistable(a, fixed, keeps)
		if !ok {
			return nil
		}
		it := k.Items[from]
		k.Items = slices.Delete(k.Items, from, from+1)
		k.Items = slices.Insert(k.Items, to, it)
	}
}

// hoistable finds a load that HoistLoads moves: its item, and the item
// it goes before (the first label of the loop's top).
func hoistable(a *analysis, fixed func(m x86.Mem) bool, keeps func(in x86.Inst) bool) (from, to int, ok bool) {
	items := a.k.Items
	for j, succ := range a.succ {
		for _, s := range succ {
			if s == exitPos || s > j || !entered(a, s, j) {
				continue
			}
			for p := s; p <= j; p++ {
				in := items[a.item[p]].Inst
				if p > s && labelled(a, p) || a.eff[p].flow != fNext && a.eff[p].flow != fCall {
					break
				}
				r, m, isLoad := fixedLoad(in, fixed)
				if isLoad && invariantIn(a, s, j, p, r, m, keeps) {
					return a.item[p], topItem(a, s), true
				}
			}
		}
	}
	return 0, 0, false
}

// entered: the loop from position s to its backward branch at j is
// entered only at s, falling through from the instruction before it.
func entered(a *analysis, s, j int) bool {
	for q, succ := range a.succ {
		if q >= s && q <= j {
			continue
		}
		for _, t := range succ {
			if t < s || t > j {
				continue
			}
			// A jump to the top, even from just before it, would pass
			// the hoisted load by.
			if t != s || q != s-1 || a.eff[q].flow == fJump || a.eff[q].flow == fBranch && succ[0] == s {
				return false
			}
		}
	}
	return true
}

// labelled: a label comes before the instruction at position p.
func labelled(a *analysis, p int) bool {
	i := a.item[p]
	return i > 0 && a.k.Items[i-1].Label != ""
}

// topItem is the item of the first label before position s (where the
// loop's top begins), or s's own item where none is.
func topItem(a *analysis, s int) int {
	i := a.item[s]
	for i > 0 && a.k.Items[i-1].Label != "" {
		i--
	}
	return i
}

// fixedLoad: in loads register r from memory m that fixed names.
func fixedLoad(in x86.Inst, fixed func(m x86.Mem) bool) (x86.Reg, x86.Mem, bool) {
	if (in.Op != x86.MOV && in.Op != x86.MOVZX) || len(in.Args) != 2 {
		return 0, x86.Mem{}, false
	}
	r, isReg := in.Args[0].(x86.Reg)
	m, isMem := in.Args[1].(x86.Mem)
	if _, gpr := family(r); !isReg || !isMem || !gpr || !fixed(m) {
		return 0, x86.Mem{}, false
	}
	return r, m, true
}

// invariantIn: in the loop from s to j, nothing but the load at p
// writes r's register, nothing before p reads it, and nothing writes m.
func invariantIn(a *analysis, s, j, p int, r x86.Reg, m x86.Mem, keeps func(in x86.Inst) bool) bool {
	n, _ := nodeOf(r)
	for q := s; q <= j; q++ {
		if q == p {
			continue
		}
		if a.def[q].has(n) || q < p && a.use[q].has(n) {
			return false
		}
		in := a.k.Items[a.item[q]].Inst
		if a.eff[q].flow == fCall && !keeps(in) || writesMem(in, m) {
			return false
		}
	}
	return true
}

// writesMem: in writes memory that overlaps m through an operand.
func writesMem(in x86.Inst, m x86.Mem) bool {
	for i, arg := range in.Args {
		w, isMem := arg.(x86.Mem)
		if !isMem || !overlaps(w, m) {
			continue
		}
		switch {
		case in.Op == x86.XCHG:
			return true
		case i == 0 && in.Op != x86.CMP && in.Op != x86.TEST && in.Op != x86.PUSH:
			return true
		}
	}
	return false
}

// overlaps: w, an address alone, shares a byte with m (fixed: no
// address through a register reaches it).
func overlaps(w, m x86.Mem) bool {
	if w.Base != x86.NoReg || w.Index != x86.NoReg || w.Label != "" || w.Seg != m.Seg {
		return false
	}
	return w.Disp < m.Disp+memBytes(m) && m.Disp < w.Disp+memBytes(w)
}

// memBytes is m's width in bytes (16 where the other operand gives it).
func memBytes(m x86.Mem) int32 {
	if m.Size == 0 {
		return 16
	}
	return int32(max(m.Size/8, 1))
}
