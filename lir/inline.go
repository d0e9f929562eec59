package lir

// inline is the size policy's pass over a proc that one call runs (rope's
// q and k after joincalls): the call becomes the proc's body, each param a
// copy of its argument before it. A call costs its own bytes, a return and
// the passing of its arguments; inlined, a loop counted by a constant
// param counts that constant.
func inline(f *Func) {
	var keep []*Proc
	once := map[*Proc]bool{}
	for _, p := range f.Procs {
		if p.Calls == 1 {
			once[p] = true
		} else {
			keep = append(keep, p)
		}
	}
	if len(once) == 0 {
		return
	}
	konst := constants(f)
	var in func(nodes []*Node) []*Node
	in = func(nodes []*Node) []*Node {
		var out []*Node
		for _, n := range nodes {
			if n.Kind == NCall && once[n.Proc] {
				out = append(out, inlined(n, konst)...)
				continue
			}
			n.Body = in(n.Body)
			n.Then = in(n.Then)
			n.Else = in(n.Else)
			out = append(out, n)
		}
		return out
	}
	for _, b := range f.Bodies() {
		*b = in(*b)
	}
	f.Procs = keep
}

// inlined is call's proc's body, after a copy of each argument to its param.
func inlined(call *Node, konst map[Reg]int64) []*Node {
	p := call.Proc
	var out []*Node
	for i, r := range p.Params {
		a := call.Args[i]
		in := Inst{Op: OpCopy, Dst: r, A: a, B: NoReg, C: NoReg}
		if k, ok := konst[a]; ok {
			Walk(p.Body, func(n *Node) {
				if n.Kind == NLoop && n.Count == r && !n.Limited() {
					n.Count, n.CountImm, n.Once = NoReg, k, false
				}
			})
		}
		out = append(out, &Node{Kind: NInst, Inst: in})
	}
	return append(out, p.Body...)
}
