package lir

// joinCalls is the size policy's pass over two ops in a row that each
// only call one proc, where the second runs on from where the first
// stopped: rope's q and k, side by side in the fused q+k+v, after
// collapse. The proc runs one loop of a count it is passed, and steps a
// pointer it is passed by a constant each pass; the second call passes
// that pointer where the first left it (the first's count of steps on)
// and every other argument alike, and whatever else the loop carries
// from pass to pass comes back to where it started after the first's
// count (collapse's wrapped pointers, of a period that divides it). The
// first call then passes both counts, and the second op goes: its call
// and its data (llama2-int8.tf 9 bytes smaller, `tfc size --gen loop`:
// the proc, called once, then takes its arguments in registers, not as
// data after the call); the first's note names both.
func joinCalls(f *Func) {
	konst := constants(f)
	uses := useCounts(f)
	nd := defs(f)
	addrs := map[Reg]*Inst{} // registers one OpAddr writes
	walkAll(f, func(n *Node) {
		if n.Kind == NInst && n.Inst.Op == OpAddr && nd[n.Inst.Dst] == 1 {
			addrs[n.Inst.Dst] = &n.Inst
		}
	})
	for _, b := range f.Bodies() {
		*b = joinIn(f, *b, konst, uses, addrs)
	}
}

// joinIn joins the ops among nodes, those of a layer loop too.
func joinIn(f *Func, nodes []*Node, konst map[Reg]int64, uses []int, addrs map[Reg]*Inst) []*Node {
	var out []*Node
	for _, n := range nodes {
		if n.Kind == NLayers {
			n.Body = joinIn(f, n.Body, konst, uses, addrs)
		}
		if len(out) > 0 && joined(f, out[len(out)-1], n, konst, uses, addrs) {
			continue // n goes
		}
		out = append(out, n)
	}
	return out
}

// joined joins op b into op a, the op before it, where b's call runs on
// from a's; it reports whether it did.
func joined(f *Func, a, b *Node, konst map[Reg]int64, uses []int, addrs map[Reg]*Inst) bool {
	ca, cb := lastCall(a), lastCall(b)
	if ca == nil || cb == nil || ca.Proc != cb.Proc || !onlyCall(b, cb) {
		return false
	}
	p := ca.Proc
	count, ptr, step, period, ok := runsOn(p, konst, uses)
	if !ok {
		return false
	}
	n1, ok1 := konst[ca.Args[count]]
	n2, ok2 := konst[cb.Args[count]]
	pa, pb := addrs[ca.Args[ptr]], addrs[cb.Args[ptr]]
	if !ok1 || !ok2 || n1 <= 0 || n2 <= 0 || n1%period != 0 || pa == nil || pb == nil ||
		pa.Mem.Buf != pb.Mem.Buf || pa.Mem.Base != NoReg || pb.Mem.Base != NoReg || pa.Mem.Index != NoReg || pb.Mem.Index != NoReg ||
		pb.Mem.Disp != pa.Mem.Disp+n1*step {
		return false
	}
	for i := range ca.Args {
		if i == count || i == ptr {
			continue
		}
		x, y := ca.Args[i], cb.Args[i]
		kx, okx := konst[x]
		ky, oky := konst[y]
		if x != y && !(okx && oky && kx == ky) {
			return false
		}
	}
	// The first call passes both counts, from a constant of its own
	// (its count's register may have other readers).
	body := a.Body[:len(a.Body)-1]
	bd := builder{f: f, cur: &body}
	ca.Args[count] = bd.c32(n1 + n2)
	a.Body = append(body, ca)
	a.Note += " + " + b.Note
	p.Calls--
	return true
}

// lastCall is the call an op's body ends with, or nil.
func lastCall(n *Node) *Node {
	if n.Kind != NOp || len(n.Body) == 0 || n.Body[len(n.Body)-1].Kind != NCall {
		return nil
	}
	return n.Body[len(n.Body)-1]
}

// onlyCall: op n's body is its call and pure instructions (its
// arguments, and what collapse left for dce: an op's registers are its
// own, so that nothing else reads them).
func onlyCall(n, call *Node) bool {
	for _, x := range n.Body[:len(n.Body)-1] {
		if x.Kind != NInst || !x.Inst.pure() {
			return false
		}
	}
	return true
}

// runsOn finds what joinCalls needs of proc p: its body's last node is a
// loop of a count that p's param count alone gives (its only reader); p's
// param ptr, read once, is copied before the loop to a pointer that the
// loop steps by step a pass and nothing reads after it; every other
// register that the loop carries from pass to pass (one set before it)
// is a pointer that an and wraps, which returns to its start every
// period passes (collapse's).
func runsOn(p *Proc, konst map[Reg]int64, uses []int) (count, ptr int, step, period int64, ok bool) {
	if len(p.Body) == 0 {
		return
	}
	loop := p.Body[len(p.Body)-1]
	if loop.Kind != NLoop || loop.Count == NoReg || loop.Step > 1 {
		return
	}
	count, ptr = -1, -1
	for i, r := range p.Params {
		if r == loop.Count && uses[r] == 1 {
			count = i
		}
	}
	before := map[Reg]*Inst{}
	for _, x := range p.Body[:len(p.Body)-1] {
		if x.Kind == NInst && x.Inst.Dst != NoReg {
			before[x.Inst.Dst] = &x.Inst
		}
	}
	period = 1
	ptrReg := NoReg
	for r := range loopWrites(loop) {
		init, carried := before[r]
		if r == loop.Index || !carried {
			continue
		}
		s, stepped := stepOf(loop, r, konst)
		param := -1
		for i, q := range p.Params {
			if init.Op == OpCopy && init.A == q && uses[q] == 1 {
				param = i
			}
		}
		if stepped && param >= 0 && ptrReg == NoReg {
			ptrReg, ptr, step = r, param, s
			continue
		}
		w, ok := wrapped(loop, r, konst)
		if !ok {
			return count, ptr, 0, 0, false
		}
		period = lcm(period, w)
	}
	if count < 0 || ptr < 0 || readsIn(loop, ptrReg) != uses[ptrReg] {
		return count, ptr, 0, 0, false
	}
	return count, ptr, step, period, true
}

func lcm(a, b int64) int64 {
	g, h := a, b
	for h != 0 {
		g, h = h, g%h
	}
	return a / g * b
}
