package lir

import "math/bits"

// collapse is the size policy's pass over a nest of two loops that is
// one loop in all but its counting: rope's loop over heads around its
// loop over a head's pairs, after strength. The outer loop's body is
// invariants, the inner loop's pointers set to their first values, and
// the inner loop; neither index is read. The nest becomes one loop of
// both counts' product, with the invariants and the first values before
// it. A pointer that the outer loop set again each pass (the table's row,
// which every head reads from its start) is wrapped instead: stepped by
// s, M times a pass of the outer loop, it comes back to its first value
// v when an `and` clears the bit M·s after each step, which holds where
// M·s is a power of two and v a multiple of twice that (rope's rows
// padded to a power of two: RopeMac2). A pointer the outer loop left
// alone runs on as it did. One loop counter and its reloads go; the and
// costs 3 bytes a pointer.
func collapse(f *Func) {
	nd, uses, konst := defs(f), useCounts(f), constants(f)
	c := &collapser{f: f, nd: nd, uses: uses, konst: konst, params: map[Reg]procParam{}, calls: map[*Proc][]*Node{}, scale: map[procParam]int64{}}
	for _, p := range f.Procs {
		for i, r := range p.Params {
			c.params[r] = procParam{p, i}
		}
	}
	walkAll(f, func(n *Node) {
		if n.Kind == NCall {
			c.calls[n.Proc] = append(c.calls[n.Proc], n)
		}
	})
	rewriteNodes(f, func(out []*Node, n *Node) []*Node {
		before, loop, ok := c.collapsible(n)
		if !ok {
			return append(out, n)
		}
		return append(append(out, before...), loop)
	})
	// The calls pass the product of the counts where the proc's count
	// was a param that each passed as a constant.
	rewriteNodes(f, func(out []*Node, n *Node) []*Node {
		if n.Kind != NCall {
			return append(out, n)
		}
		b := builder{f: f, cur: &out}
		for i, r := range n.Args {
			if m, ok := c.scale[procParam{n.Proc, i}]; ok {
				n.Args[i] = b.c32(konst[r] * m)
			}
		}
		return append(out, n)
	})
}

// procParam is a proc's param, by its place.
type procParam struct {
	p *Proc
	i int
}

// collapser is collapse's state: f's definitions, readers and
// constants, the procs' params and calls, and the params whose calls
// are to pass their constant times a count (a count that collapse
// multiplied).
type collapser struct {
	f      *Func
	nd     []int
	uses   []int
	konst  map[Reg]int64
	params map[Reg]procParam
	calls  map[*Proc][]*Node
	scale  map[procParam]int64
}

// passedConstant: r is a param, read once, that every call passes as a
// constant.
func (c *collapser) passedConstant(r Reg) (procParam, bool) {
	pm, ok := c.params[r]
	if !ok || c.uses[r] != 1 || len(c.calls[pm.p]) == 0 {
		return pm, false
	}
	for _, call := range c.calls[pm.p] {
		if _, ok := c.konst[call.Args[pm.i]]; !ok {
			return pm, false
		}
	}
	return pm, true
}

// collapsible returns, for a nest that collapse takes, what goes before
// the loop that replaces it, and that loop.
func (c *collapser) collapsible(n *Node) ([]*Node, *Node, bool) {
	f, nd, uses, konst := c.f, c.nd, c.uses, c.konst
	zeros := func(r Reg) int { return knownZeros(f, nd, r, 4) }
	if n.Kind != NLoop || n.Step > 1 || uses[n.Index] > 0 || len(n.Body) == 0 {
		return nil, nil, false
	}
	inner := n.Body[len(n.Body)-1]
	m := inner.CountImm
	if inner.Kind != NLoop || inner.Count != NoReg || inner.Step > 1 || m < 1 || uses[inner.Index] > 0 {
		return nil, nil, false
	}
	innerWrites := loopWrites(inner)
	outerWrites := loopWrites(n)
	var before, wraps []*Node
	pre, wrap := builder{f: f, cur: &before}, builder{f: f, cur: &wraps}
	for _, x := range n.Body[:len(n.Body)-1] {
		if x.Kind != NInst || x.Inst.Dst == NoReg || !x.Inst.pure() {
			return nil, nil, false
		}
		in := &x.Inst
		before = append(before, x)
		if !innerWrites[in.Dst] {
			// An invariant: written here alone, reading nothing the
			// nest writes.
			if nd[in.Dst] != 1 || !invariant(in, outerWrites) {
				return nil, nil, false
			}
			continue
		}
		// A pointer's first value: the inner loop steps it once a pass,
		// by a constant, and nothing else writes it.
		step, ok := stepOf(inner, in.Dst, konst)
		if in.Op != OpCopy || !ok || nd[in.Dst] != 2 || f.Types[in.Dst] != I32 || !invariant(in, outerWrites) || readsIn(n, in.Dst) != uses[in.Dst] {
			return nil, nil, false
		}
		span := m * step
		if span <= 0 || span&(span-1) != 0 || zeros(in.A) < bits.TrailingZeros64(uint64(span))+1 {
			return nil, nil, false
		}
		wrap.set(in.Dst, OpAnd, in.Dst, pre.c32(^span))
	}
	loop := &Node{Kind: NLoop, Index: inner.Index, Count: NoReg, Once: n.Count != NoReg && n.Once,
		Body: append(inner.Body, wraps...)}
	switch pm, ok := c.passedConstant(n.Count); {
	case n.Count == NoReg:
		loop.CountImm = n.CountImm * m
	case ok:
		loop.Count = n.Count
		c.scale[pm] = m
	case m&(m-1) == 0:
		// (After fold: a power of two is a shift already.)
		loop.Count = pre.imm(OpShlI, I32, n.Count, int64(bits.TrailingZeros64(uint64(m))))
	default:
		loop.Count = pre.mul32(n.Count, pre.c32(m))
	}
	return before, loop, true
}

// readsIn counts the reads of r within loop n (after it, a wrapped
// pointer would hold its first value, not its last).
func readsIn(n *Node, r Reg) int {
	c := 0
	Walk(n.Body, func(x *Node) {
		for _, y := range x.reads() {
			if y == r {
				c++
			}
		}
	})
	return c
}

// stepOf is the constant by which loop n's body steps r: its one write
// of r, at the body's top level, r = r + c.
func stepOf(n *Node, r Reg, konst map[Reg]int64) (int64, bool) {
	var step *Inst
	count := 0
	Walk(n.Body, func(x *Node) {
		if x.Kind == NInst && x.Inst.Dst == r {
			count++
		}
	})
	for _, x := range n.Body {
		if x.Kind == NInst && x.Inst.Dst == r {
			step = &x.Inst
		}
	}
	if count != 1 || step == nil || step.Op != OpAdd || step.A != r || len(step.mems()) > 0 {
		return 0, false
	}
	c, ok := konst[step.B]
	return c, ok
}

// wrapped: loop n's body steps r by a constant s and then ands it with
// ^(m·s), at its top level and nowhere else (the wrap collapse makes, m
// a power of two): r comes back to where it started every m passes,
// which it returns.
func wrapped(n *Node, r Reg, konst map[Reg]int64) (int64, bool) {
	var add, and *Inst
	writes := 0
	Walk(n.Body, func(x *Node) {
		if x.Kind == NInst && x.Inst.Dst == r {
			writes++
		}
	})
	for _, x := range n.Body {
		if x.Kind != NInst || x.Inst.Dst != r {
			continue
		}
		switch in := &x.Inst; {
		case in.Op == OpAdd && in.A == r && add == nil:
			add = in
		case in.Op == OpAnd && in.A == r && add != nil:
			and = in
		}
	}
	if writes != 2 || add == nil || and == nil {
		return 0, false
	}
	s, ok1 := konst[add.B]
	mask, ok2 := konst[and.B]
	span := ^mask
	if !ok1 || !ok2 || s <= 0 || span <= 0 || span&(span-1) != 0 || span%s != 0 {
		return 0, false
	}
	return span / s, true
}

// knownZeros is how many low bits of r are known to be 0, from the
// instruction that alone writes it (depth bounds the search).
func knownZeros(f *Func, nd []int, r Reg, depth int) int {
	if depth == 0 || nd[r] != 1 {
		return 0
	}
	var def *Inst
	walkAll(f, func(n *Node) {
		if n.Kind == NInst && n.Inst.Dst == r {
			def = &n.Inst
		}
	})
	if def == nil || len(def.mems()) > 0 {
		return 0
	}
	z := func(x Reg) int { return knownZeros(f, nd, x, depth-1) }
	switch def.Op {
	case OpConst:
		if def.Imm == 0 {
			return 32
		}
		return bits.TrailingZeros64(uint64(def.Imm))
	case OpCopy:
		return z(def.A)
	case OpMul:
		return min(32, z(def.A)+z(def.B))
	case OpShlI:
		return min(32, z(def.A)+int(def.Imm))
	case OpAdd, OpSub:
		return min(z(def.A), z(def.B))
	case OpAnd:
		return max(z(def.A), z(def.B))
	}
	return 0
}
