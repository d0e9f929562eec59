package lir

import "slices"

// sink: a sum or difference of two products, in straight code, computes
// the product it goes in place into (its first operand) last, just
// before it. x86 leaves a product in edx:eax, where the sum then forms
// and a rounding shift's call reads it: the other product moves out of
// edx:eax instead of both (rope's a·c − b·s and a·s + b·c, 9 bytes).
// The product's own operands stay where they are: selection reads
// single-use loads where they are used.
func sink(f *Func) {
	uses, nd := useCounts(f), defs(f)
	var run func(nodes []*Node)
	run = func(nodes []*Node) {
		for u := 0; u < len(nodes); u++ {
			n := nodes[u]
			run(n.Body)
			run(n.Then)
			run(n.Else)
			if n.Kind != NInst || n.Inst.Op != OpAdd && n.Inst.Op != OpSub {
				continue
			}
			if d := sinkable(nodes, u, uses, nd); d >= 0 {
				p := nodes[d]
				copy(nodes[d:u-1], nodes[d+1:u])
				nodes[u-1] = p
			}
		}
	}
	for _, b := range f.Bodies() {
		run(*b)
	}
}

// sinkable is the index of the product that nodes[u] (a sum) can take
// last, or -1: its first operand's only definition and only reader, a
// product, with the other operand's product after it and only
// instructions between that neither touch its result nor write its
// operands.
func sinkable(nodes []*Node, u int, uses, nd []int) int {
	s := &nodes[u].Inst
	if s.A == s.B || uses[s.A] != 1 || nd[s.A] != 1 {
		return -1
	}
	product := func(in *Inst) bool { return in.Op == OpMulWide || in.Op == OpMulWideU }
	d := u - 1
	for ; d >= 0 && nodes[d].Kind == NInst && nodes[d].Inst.Dst != s.A; d-- {
	}
	if d < 0 || nodes[d].Kind != NInst || !product(&nodes[d].Inst) {
		return -1
	}
	p, other := &nodes[d].Inst, false
	for _, m := range nodes[d+1 : u] {
		in := &m.Inst
		if slices.Contains(in.Reads(), s.A) || in.Dst != NoReg && (in.Dst == p.A || in.Dst == p.B) {
			return -1
		}
		other = other || in.Dst == s.B && product(in)
	}
	if !other {
		return -1
	}
	return d
}
