package regalloc

import (
	x86 "tfc/codegen/x86_16"
)

// freeLoop is the outermost loop around instruction at that never names
// node n, live all through it: its first instruction and its backward
// branch (-1, -1 if none).
func freeLoop(a *analysis, n, at int) (top, end int) {
	names := func(p int) bool {
		for _, ac := range a.eff[p].acc {
			if w, _ := nodeOf(ac.reg); w == n {
				return true
			}
		}
		return false
	}
	top, end = -1, -1
	for j, succ := range a.succ {
		for _, s := range succ {
			if s == exitPos || s > at || j < at || (top >= 0 && s >= top && j <= end) {
				continue
			}
			if a.in[s].parts(n) != partAll || !a.out[j].has(n) {
				continue
			}
			free := true
			for p := s; p <= j && free; p++ {
				free = !names(p)
			}
			if free {
				top, end = s, j
			}
		}
	}
	return top, end
}

// splitAround frees c.v's register inside the loop c names: v goes to m
// before the loop's top label and comes back after its backward branch
// (a guard that jumps past the loop skips both, v staying where it was).
// The store goes up and the load down past the instructions around the
// loop that neither name v nor jump (and past labels that nothing jumps
// to), so that v leaves its register to the values that the loop's
// preheader sets up and its exit reads (a sum's start and its result).
func splitAround(k *Kernel, c choice, m x86.Mem) *Kernel {
	label := c.a.eff[c.end].target
	end := c.a.item[c.end]
	flow := map[int]flow{} // item -> its instruction's
	for j, i := range c.a.item {
		flow[i] = c.a.eff[j].flow
	}
	targets := map[string]bool{}
	for _, it := range k.Items {
		for _, l := range it.Inst.LabelRefs() {
			targets[l] = true
		}
	}
	straight := func(i int) bool {
		it := k.Items[i]
		if it.Label != "" {
			return false
		}
		return flow[i] == fNext && !mentions(it.Inst, c.v)
	}
	store := -1
	for i, it := range k.Items {
		if it.Label == label {
			store = i
		}
	}
	for store > 0 && straight(store-1) {
		store--
	}
	load := end + 1
	for load < len(k.Items) && (straight(load) || k.Items[load].Label != "" && !targets[k.Items[load].Label]) {
		load++
	}
	out := &Kernel{Name: k.Name}
	for i, it := range k.Items {
		if i == store {
			out.I(x86.MOV, m, V(c.v))
		}
		if i == load {
			out.I(x86.MOV, V(c.v), m)
		}
		out.Items = append(out.Items, it)
	}
	if load == len(k.Items) {
		out.I(x86.MOV, V(c.v), m)
	}
	return out
}
