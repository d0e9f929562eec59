package regalloc

import (
	"fmt"
	"maps"
	"math"
	"slices"

	x86 "tfc/codegen/x86_16"
)

// Recolor improves as, an assignment of k's virtuals that Allocate made
// with o, where cost says so: the colouring chooses each register by
// preferences it can only guess at (a move's partner, the accumulator,
// the four registers that address memory in 16 bits, as pairs), which
// cost measures. It tries Kempe-chain swaps: for two register families
// f and h and a virtual of f, the virtuals reachable from it through
// interference among those of f and h trade the two, which keeps the
// assignment valid wherever each of them may take the other family (its
// uses allow it, and no fixed register of that family is live with it).
// Each chain is tried once (again after a kept swap: a second pass over
// them all kept no more in any example), and a swap kept where it lowers
// cost. Then each of o.Hints (relabel). Pinned virtuals keep their
// registers.
func Recolor(k *Kernel, o Options, as map[int]x86.Reg, cost func(map[int]x86.Reg) int) (map[int]x86.Reg, error) {
	a, err := analyze(k, &o)
	if err != nil {
		return nil, err
	}
	g := a.interference()
	var allow uint8
	for _, r := range o.Allowed {
		if f, ok := family(r); ok {
			allow |= 1 << f
		}
	}
	color := map[int]int{} // node -> family
	var nodes []int        // those that may change, in order
	for n := physNodes; n < a.nnodes; n++ {
		r, ok := as[n-physNodes]
		if !a.seen[n] || !ok {
			continue
		}
		color[n], _ = family(r)
		if _, pinned := o.Pinned[n-physNodes]; !pinned {
			nodes = append(nodes, n)
		}
	}
	// may is whether node n may take family f.
	may := func(n, f int) bool {
		_, pinned := o.Pinned[n-physNodes]
		return !pinned && a.domain(g, allow, n)&(1<<f) != 0
	}
	best := cost(as)
	as, best = swaps(g, color, nodes, may, as, best, cost)
	if len(o.Hints) > 0 {
		fits := familyFits(g, color, nodes, allow, may)
		for _, h := range o.Hints {
			// The cheapest renaming, then swaps from it: a renaming
			// moves whole families, and a virtual that shared one
			// with a hint's may belong elsewhere (argmax's result,
			// which shared its running maximum's). The chains start at
			// the virtuals it moved alone: from every one, the build
			// took half again as long (gelu-random, `tfc size --gen
			// loop`), for no byte in any example.
			next, c := relabel(color, nodes, fits, h, as, math.MaxInt, cost)
			if c == math.MaxInt {
				continue
			}
			recolor := map[int]int{}
			var moved []int // the chains start at the virtuals it moved
			for n := range color {
				recolor[n], _ = family(next[n-physNodes])
			}
			for _, n := range nodes {
				if recolor[n] != color[n] {
					moved = append(moved, n)
				}
			}
			if next, c = swaps(g, recolor, moved, may, next, c, cost); c < best {
				as, best = next, c
			}
		}
	}
	return as, nil
}

// swaps tries each Kempe chain of the virtuals in nodes (colored by
// family in color, which it updates), keeping a swap that lowers cost
// below best.
func swaps(g *graph, color map[int]int, nodes []int, may func(n, f int) bool, as map[int]x86.Reg, best int, cost func(map[int]x86.Reg) int) (map[int]x86.Reg, int) {
	tried := map[string]bool{} // chains since the last kept swap
	for _, start := range nodes {
		for h := range physNodes {
			f := color[start]
			if h == f || !may(start, h) {
				continue
			}
			chain, ok := kempe(g, color, start, f, h, may)
			if !ok {
				continue
			}
			key := fmt.Sprint(min(f, h), max(f, h), chain)
			if tried[key] {
				continue
			}
			tried[key] = true
			next := maps.Clone(as)
			for _, n := range chain {
				next[n-physNodes] = x86.EAX + x86.Reg(f+h-color[n])
			}
			if c := cost(next); c < best {
				best, as = c, next
				clear(tried)
				for _, n := range chain {
					color[n] = f + h - color[n]
				}
			}
		}
	}
	return as, best
}

// familyFits is, for each family that the virtuals in nodes hold, the
// families every one of them may take (may), where no pinned virtual it
// meets holds that family: those a renaming may give it.
func familyFits(g *graph, color map[int]int, nodes []int, allow uint8, may func(n, f int) bool) map[int]uint8 {
	fits := map[int]uint8{}
	for _, n := range nodes {
		if _, seen := fits[color[n]]; !seen {
			fits[color[n]] = allow
		}
		var d uint8
		for t := range physNodes {
			if may(n, t) {
				d |= 1 << t
			}
		}
		for w, c := range color {
			if !slices.Contains(nodes, w) && g.adj[n][w] {
				d &^= 1 << c // a pinned virtual's
			}
		}
		fits[color[n]] &= d
	}
	return fits
}

// relabel tries hint h: the assignment as with its families renamed (a
// permutation of them, which keeps it valid where each family goes to
// one it fits) so that each virtual of h gets its register, the other
// families renamed every way that fits. It keeps the cheapest below
// best. Renaming a whole family moves every virtual that shares it:
// what one swap at a time cannot, where the first swap alone costs more
// (argmax's running maximum out of eax, its element into eax and the
// pointer into esi: lodsd).
func relabel(color map[int]int, nodes []int, fits map[int]uint8, h map[int]x86.Reg, as map[int]x86.Reg, best int, cost func(map[int]x86.Reg) int) (map[int]x86.Reg, int) {
	pi := map[int]int{} // family -> family
	var taken uint8
	for v, r := range h {
		f, ok := color[v+physNodes]
		t, _ := family(r)
		old, twice := pi[f]
		switch {
		case !ok || !slices.Contains(nodes, v+physNodes):
			return as, best // spilled, or pinned
		case twice && old != t || !twice && taken&(1<<t) != 0 || fits[f]&(1<<t) == 0:
			return as, best // two of h in one family or one register, or no fit
		}
		pi[f] = t
		taken |= 1 << t
	}
	var free []int // the families the rest renames
	for _, n := range nodes {
		if _, ok := pi[color[n]]; !ok && !slices.Contains(free, color[n]) {
			free = append(free, color[n])
		}
	}
	slices.Sort(free)
	var rec func(i int)
	rec = func(i int) {
		if i < len(free) {
			for t := range physNodes {
				if fits[free[i]]&^taken&(1<<t) != 0 {
					pi[free[i]] = t
					taken |= 1 << t
					rec(i + 1)
					taken &^= 1 << t
				}
			}
			delete(pi, free[i])
			return
		}
		next := maps.Clone(as)
		for _, n := range nodes {
			next[n-physNodes] = x86.EAX + x86.Reg(pi[color[n]])
		}
		if c := cost(next); c < best {
			best, as = c, next
		}
	}
	rec(0)
	return as, best
}

// kempe is the chain from start (of family f) through the virtuals of f
// or h that interfere, in order; ok is false where one of them may not
// take the other family.
func kempe(g *graph, color map[int]int, start, f, h int, may func(n, f int) bool) ([]int, bool) {
	seen := map[int]bool{start: true}
	chain := []int{start}
	for i := 0; i < len(chain); i++ {
		n := chain[i]
		if !may(n, f+h-color[n]) {
			return nil, false
		}
		for w, c := range color {
			if !seen[w] && (c == f || c == h) && g.adj[n][w] {
				seen[w] = true
				chain = append(chain, w)
			}
		}
	}
	slices.Sort(chain)
	return chain, true
}
