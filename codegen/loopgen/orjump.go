package loopgen

import (
	x86 "tfc/codegen/x86_16"
	"tfc/lir"
)

// orAt: ns[i] is a comparison that, with a second one after it, an or of
// the two and an if or a select on the or (the nodes between them
// silent), each read once, jumps as `c1 || c2` (orJump): attention's
// best score, set at the first position or by a higher one. It returns
// the indexes of the second comparison, the or and the jumping node.
func (k *kernel) orAt(ns []*lir.Node, i int) (c2, or, at int, ok bool) {
	next := func(j int) int {
		for j++; j < len(ns) && k.silent(ns[j]); j++ {
		}
		return j
	}
	isCmp := func(j int) bool {
		return j < len(ns) && ns[j].Kind == lir.NInst && ns[j].Inst.Op == lir.OpCmp && k.readers[ns[j].Inst.Dst] == 1 && k.nd[ns[j].Inst.Dst] == 1
	}
	if !isCmp(i) {
		return 0, 0, 0, false
	}
	c2 = next(i)
	or = next(c2)
	at = next(or)
	if !isCmp(c2) || or >= len(ns) || at >= len(ns) || ns[or].Kind != lir.NInst {
		return 0, 0, 0, false
	}
	o := &ns[or].Inst
	a, b := ns[i].Inst.Dst, ns[c2].Inst.Dst
	if o.Op != lir.OpOr || !(o.A == a && o.B == b || o.A == b && o.B == a) || k.readers[o.Dst] != 1 || k.nd[o.Dst] != 1 {
		return 0, 0, 0, false
	}
	j := ns[at]
	switch {
	case j.Kind == lir.NIf:
		ok = j.Cond == o.Dst
	case j.Kind == lir.NInst && j.Inst.Op == lir.OpSelect:
		s := &j.Inst
		// dst = or ? a : dst, neither the or's comparisons read.
		ok = s.C == o.Dst && s.Dst == s.B && s.A != o.Dst
	}
	return c2, or, at, ok
}

// orJump is the if or select at ns[at] on ns[i] || ns[c2], comparisons
// (orAt): the first's flags jump to its then, the second's past it
// (`cmp; jcc then; cmp; jncc else; then:`), where the or in a register
// took a setcc each and a test.
func (k *kernel) orJump(ns []*lir.Node, i, c2, at int) {
	then, els, end := k.fresh("then"), k.fresh("else"), k.fresh("fi")
	k.i(jcc[k.compare(&ns[i].Inst)], x86.Label(then))
	k.i(jcc[negated[k.compare(&ns[c2].Inst)]], x86.Label(els))
	k.label(then)
	n := ns[at]
	if n.Kind == lir.NInst {
		k.move(n.Inst.Dst, n.Inst.A)
		k.label(els)
		return
	}
	k.arms(n, els, end)
}
