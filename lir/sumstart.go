package lir

import "slices"

// sumStart: a sum that a constant 0 starts, whose first use (in the same
// list, straight code between) adds a value x to it, starts as a copy of
// x instead: an unrolled dot product's first product, which x86 then
// moves out of edx:eax in two instructions where zeroing the sum and
// adding to it took four.
func sumStart(f *Func) {
	for _, b := range f.Bodies() {
		*b = sumStartIn(*b)
	}
}

func sumStartIn(nodes []*Node) []*Node {
	var dead []*Node
	for i, n := range nodes {
		n.Body, n.Then, n.Else = sumStartIn(n.Body), sumStartIn(n.Then), sumStartIn(n.Else)
		if n.Kind != NInst || n.Inst.Op != OpConst || n.Inst.Imm != 0 {
			continue
		}
		r := n.Inst.Dst
		for _, m := range nodes[i+1:] {
			if m.Kind != NInst {
				break // a loop or an if may read it
			}
			in := &m.Inst
			if !slices.Contains(in.Reads(), r) && in.Dst != r {
				continue
			}
			x := NoReg
			switch {
			case in.Op != OpAdd || in.Dst != r || len(in.mems()) > 0:
			case in.A == r && in.B != r:
				x = in.B
			case in.B == r && in.A != r:
				x = in.A
			}
			if x != NoReg {
				*in = Inst{Op: OpCopy, Dst: r, A: x, B: NoReg, C: NoReg}
				dead = append(dead, n)
			}
			break
		}
	}
	return slices.DeleteFunc(nodes, func(n *Node) bool { return slices.Contains(dead, n) })
}
