package loopgen

import (
	"fmt"

	x86 "tfc/codegen/x86_16"
	"tfc/lir"
)

// A proc whose every call forward makes is followed at once by a call of
// one other proc that passes nothing but data after it (a norm's call,
// then the call of the matmul that reads what the norm wrote) falls into
// that proc, laid out right after it, where it returned: those calls of
// the second proc go, their data left where the call was. The first
// proc's return address is then the second's data, which the second
// reads and steps over as its own call's: 3 bytes a call, and the ret.
// The machine runs what it ran (the call and ret it no longer runs
// changed no register and no flag).

// chains are the procs that fall into others (next) and the ops whose
// calls go (gone: only their data remains).
type chains struct {
	next map[*lir.Proc]*lir.Proc
	gone map[*lir.Node]bool
}

// chainCalls finds the chains: for each proc, the ops that call it,
// each an op of forward (in the body or the layer loop) whose code ends
// with the call; the op after each, which must be a bare call (bareCall)
// of one other proc, the same after every call, with no code of the
// profile, the trace or the self-test between them.
func (g *gen) chainCalls() chains {
	c := chains{next: map[*lir.Proc]*lir.Proc{}, gone: map[*lir.Node]bool{}}
	if g.o.Profile {
		return c // its counters' code comes between any two ops
	}
	calls := map[*lir.Proc]int{}
	for _, b := range g.f.Bodies() {
		lir.Walk(*b, func(n *lir.Node) {
			if n.Kind == lir.NCall {
				calls[n.Proc]++
			}
		})
	}
	follow := map[*lir.Proc]*lir.Proc{}
	sites := map[*lir.Proc][]*lir.Node{} // the bare calls that follow
	pairs := map[*lir.Proc][][2]*lir.Node{}
	bad := map[*lir.Proc]bool{}
	final := len(g.f.Body) - 1
	visit := func(list []*lir.Node, top bool) {
		for i, n := range list {
			a := endsWithCall(n)
			if a == nil {
				continue
			}
			var b *lir.Proc
			if i+1 < len(list) && !(top && i+1 == final && (g.o.Trace || g.o.SelfTest)) {
				b = g.bareCall(list[i+1])
			}
			switch {
			case b == nil || b == a || (follow[a] != nil && follow[a] != b):
				bad[a] = true
			default:
				follow[a] = b
				sites[a] = append(sites[a], list[i+1])
				pairs[a] = append(pairs[a], [2]*lir.Node{n, list[i+1]})
			}
		}
	}
	visit(g.f.Body, true)
	for _, n := range g.f.Body {
		if n.Kind == lir.NLayers {
			visit(n.Body, false)
		}
	}
	into := map[*lir.Proc]bool{}
	for _, a := range g.f.Procs {
		b := follow[a]
		if b == nil || bad[a] || len(sites[a]) != calls[a] || into[b] || c.falls(b, a) {
			continue
		}
		c.next[a], into[b] = b, true
		for _, n := range sites[a] {
			c.gone[n] = true
		}
	}
	if g.o.Size {
		g.peekArgs(c, pairs)
	}
	return c
}

// falls reports whether p falls, through the chains, into q.
func (c chains) falls(p, q *lir.Proc) bool {
	for ; p != nil; p = c.next[p] {
		if p == q {
			return true
		}
	}
	return false
}

// order is the procs in the order they are laid out: each proc that
// falls into another right before it.
func (c chains) order(procs []*lir.Proc) []*lir.Proc {
	into := map[*lir.Proc]bool{}
	for _, b := range c.next {
		into[b] = true
	}
	var out []*lir.Proc
	for _, p := range procs {
		if !into[p] {
			for ; p != nil; p = c.next[p] {
				out = append(out, p)
			}
		}
	}
	return out
}

// endsWithCall is the proc an op's code calls last (its body ends with
// the call), or nil.
func endsWithCall(n *lir.Node) *lir.Proc {
	if n.Kind != lir.NOp || len(n.Body) == 0 {
		return nil
	}
	if last := n.Body[len(n.Body)-1]; last.Kind == lir.NCall {
		return last.Proc
	}
	return nil
}

// bareCall is the proc an op only calls, passing every argument as data
// after the call or in its layer slot (the op's other code writes the
// arguments' constants, addresses and segments, which select no
// instruction then), or nil.
func (g *gen) bareCall(n *lir.Node) *lir.Proc {
	p := endsWithCall(n)
	if p == nil {
		return nil
	}
	for _, loc := range g.pass[p].args {
		if !loc.inline && loc.slot == 0 {
			return nil
		}
	}
	for _, x := range n.Body[:len(n.Body)-1] {
		if x.Kind != lir.NInst || (x.Inst.Op != lir.OpConst && x.Inst.Op != lir.OpAddr && x.Inst.Op != lir.OpSeg) {
			return nil
		}
	}
	return p
}

// emitData appends, where an op that chainCalls found gone called its
// proc, the data its call passed: the kernel, selected and allocated as
// any op's, must be that call alone.
func (g *gen) emitData(name string, n *lir.Node) error {
	k := g.newKernel(name, n.Body, nil)
	k.note = n.Note
	k.nodes(n.Body)
	a, err := g.allocateKernel(k, name, n.Note, spillBase, false)
	if err != nil {
		return err
	}
	if it := a.k.Items; len(it) != 1 || it[0].Inst.Op != x86.CALL {
		return fmt.Errorf("BUG: loopgen: %s (%s): a chained call's op is more than its call", name, n.Note)
	}
	g.prog.Mark(n.Note)
	g.prog.Label(name)
	if d := a.k.Items[0].Data; len(d) > 0 {
		g.prog.DB(d...)
	}
	return nil
}
