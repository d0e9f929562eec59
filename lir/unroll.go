package lir

// unroll is the speed policy's pass: an innermost loop of a constant count
// runs its body unrollBy times a pass (4 or 2 times when that does not
// divide the count), fewer compares and branches, the copies' indexes
// constant offsets from the pass's (fold makes them displacements).
func unroll(f *Func) {
	nd := defs(f)
	reads := useCounts(f)
	// depth: the loops around nodes.
	var rewrite func(nodes []*Node, depth int) []*Node
	rewrite = func(nodes []*Node, depth int) []*Node {
		var out []*Node
		for _, n := range nodes {
			// Decided before the inner lists change: only loops that were
			// innermost, with the registers there were.
			eligible := n.Kind == NLoop && n.Count == NoReg && n.Step <= 1 && innermost(n) && !hasDot(n.Body) && count(n.Body) <= unrollMaxBody && !liveOut(n, reads, nd)
			inner := depth
			if n.Kind == NLoop {
				inner++
			}
			n.Body, n.Then, n.Else = rewrite(n.Body, inner), rewrite(n.Then, inner), rewrite(n.Else, inner)
			if eligible {
				full := int64(0)
				if depth > 0 && !f.NoFullUnroll {
					full = fullBy(n, f)
				}
				for _, by := range []int64{full, unrollBy, 4, 2} {
					if by >= 2 && n.CountImm >= by && n.CountImm%by == 0 {
						unrollLoop(f, n, by, nd)
						break
					}
				}
				if n.Step > 1 && n.CountImm == 1 {
					// One pass: the body alone, its index 0.
					out = append(out, &Node{Kind: NInst, Inst: Inst{Op: OpConst, Dst: n.Index, A: NoReg, B: NoReg, C: NoReg}})
					out = append(out, n.Body...)
					continue
				}
			}
			out = append(out, n)
		}
		return out
	}
	for _, b := range f.Bodies() {
		*b = rewrite(*b, 0)
	}
}

// fullBy is how many copies a pass of a dot product's loop (a 64-bit sum
// of products, loop-carried) inside another loop makes: the most that
// fit unrollFull instructions and divide its count; its count when all
// do (no loop then, the copies' offsets displacements: a matmul's rows). Loops that run once an op gain a few
// instructions for their size.
func fullBy(n *Node, f *Func) int64 {
	dot := false
	Walk(n.Body, func(x *Node) {
		in := x.Inst
		if x.Kind == NInst && in.Op == OpAdd && f.Types[in.Dst] == I64 && (in.A == in.Dst || in.B == in.Dst) {
			dot = true
		}
	})
	if !dot {
		return 0
	}
	// The most copies that fit and divide the count: a 172-long row runs
	// 4 passes of 43.
	for by := n.CountImm; by > unrollBy; by-- {
		if n.CountImm%by == 0 && by*int64(count(n.Body)) <= unrollFull {
			return by
		}
	}
	return 0
}

const (
	unrollFull    = 460
	unrollBy      = 8
	unrollMaxBody = 40 // instructions: bigger bodies gain little
)

// liveOut: code outside the loop reads a register only its body writes
// (its reads outside the body are more than those inside), which the
// copies would rename.
func liveOut(n *Node, reads, nd []int) bool {
	inside := map[Reg]int{}
	defsIn := map[Reg]int{}
	Walk(n.Body, func(x *Node) {
		if x.Kind == NInst {
			for _, r := range x.Inst.Reads() {
				inside[r]++
			}
			if x.Inst.Dst != NoReg {
				defsIn[x.Inst.Dst]++
			}
		}
		if x.Kind == NIf {
			inside[x.Cond]++
		}
	})
	for r, d := range defsIn {
		if d == nd[r] && reads[r] > inside[r] {
			return true
		}
	}
	return false
}

func innermost(n *Node) bool {
	inner := true
	Walk(n.Body, func(x *Node) { inner = inner && x.Kind != NLoop && x.Kind != NCall })
	return inner
}

func count(nodes []*Node) int {
	c := 0
	Walk(nodes, func(x *Node) {
		if x.Kind == NInst {
			c++
		}
	})
	return c
}

// unrollLoop rewrites n as by copies of its body a pass. A register the
// body alone writes gets a fresh one in each copy; the others (the
// accumulators it updates) stay shared, so the copies run as the
// iterations did, in order.
func unrollLoop(f *Func, n *Node, by int64, nd []int) {
	local := map[Reg]bool{}
	inside := map[Reg]int{}
	Walk(n.Body, func(x *Node) {
		if x.Kind == NInst && x.Inst.Dst != NoReg {
			inside[x.Inst.Dst]++
		}
	})
	for r, c := range inside {
		local[r] = c == nd[r] // every definition is in the body
	}
	// The index steps by by; copy k's is index + k (fold makes it a
	// displacement).
	var body []*Node
	index := f.NewReg(I32)
	for k := int64(0); k < by; k++ {
		idx := index
		if k > 0 {
			c, sum := f.NewReg(I32), f.NewReg(I32)
			body = append(body,
				&Node{Kind: NInst, Inst: Inst{Op: OpConst, Dst: c, A: NoReg, B: NoReg, C: NoReg, Imm: k}},
				&Node{Kind: NInst, Inst: Inst{Op: OpAdd, Dst: sum, A: index, B: c, C: NoReg}})
			idx = sum
		}
		names := map[Reg]Reg{n.Index: idx}
		for r, isLocal := range local {
			if isLocal {
				names[r] = f.NewReg(f.Types[r])
			}
		}
		body = append(body, cloneRenamed(n.Body, names)...)
	}
	n.Index, n.CountImm, n.Step, n.Body = index, n.CountImm/by, by, body
}

// cloneRenamed copies nodes with the registers of names renamed.
func cloneRenamed(nodes []*Node, names map[Reg]Reg) []*Node {
	re := func(r Reg) Reg {
		if s, ok := names[r]; ok {
			return s
		}
		return r
	}
	var out []*Node
	for _, n := range nodes {
		c := *n
		switch n.Kind {
		case NInst:
			in := n.Inst
			in.Dst, in.A, in.B, in.C = re(in.Dst), re(in.A), re(in.B), re(in.C)
			for _, m := range in.mems() {
				m.Base, m.Index = re(m.Base), re(m.Index)
			}
			c.Inst = in
		case NIf:
			c.Cond = re(n.Cond)
			c.Then, c.Else = cloneRenamed(n.Then, names), cloneRenamed(n.Else, names)
		case NLoop:
			c.Index, c.Count = re(n.Index), re(n.Count)
			c.Body = cloneRenamed(n.Body, names)
		}
		out = append(out, &c)
	}
	return out
}

// hasDot: nodes hold an OpDot, whose code is a loop of its own.
func hasDot(nodes []*Node) bool {
	found := false
	Walk(nodes, func(x *Node) { found = found || (x.Kind == NInst && x.Inst.Op == OpDot) })
	return found
}
