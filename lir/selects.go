package lir

// selects: selects on one condition that each keep their destination
// when it is false (d = select c, a, d), one after another, become one if
// on c whose branch copies each value: argmax's new maximum and its index.
// x86 then branches once on the comparison's flags, where each select
// needed the condition in a register and a test of it. The copies run in
// the selects' order, so a select that reads what one before it wrote
// reads the same value; none may write c.
func selects(f *Func) {
	for _, b := range f.Bodies() {
		*b = selectsIn(*b)
	}
}

func selectsIn(nodes []*Node) []*Node {
	keeps := func(n *Node) bool {
		return n.Kind == NInst && n.Inst.Op == OpSelect && n.Inst.B == n.Inst.Dst && n.Inst.A != n.Inst.Dst
	}
	var out []*Node
	for i := 0; i < len(nodes); i++ {
		n := nodes[i]
		n.Body, n.Then, n.Else = selectsIn(n.Body), selectsIn(n.Then), selectsIn(n.Else)
		j := i
		for j < len(nodes) && keeps(nodes[j]) && nodes[j].Inst.C == n.Inst.C && nodes[j].Inst.Dst != n.Inst.C {
			j++
		}
		if j-i < 2 {
			out = append(out, n)
			continue
		}
		var then []*Node
		for _, s := range nodes[i:j] {
			then = append(then, &Node{Kind: NInst, Inst: Inst{Op: OpCopy, Dst: s.Inst.Dst, A: s.Inst.A, B: NoReg, C: NoReg}})
		}
		out = append(out, &Node{Kind: NIf, Cond: n.Inst.C, Then: then})
		i = j - 1
	}
	return out
}
