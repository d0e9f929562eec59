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
func splitAround(k *Kernel, c choice, m x86.Mem) *Kernel {
	label := c.a.eff[c.end].target
	out := &Kernel{Name: k.Name}
	for i, it := range k.Items {
		if it.Label == label {
			out.I(x86.MOV, m, V(c.v))
		}
		out.Items = append(out.Items, it)
		if i == c.a.item[c.end] {
			out.I(x86.MOV, V(c.v), m)
		}
	}
	return out
}
