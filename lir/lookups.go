package lir

// lookups makes each table lookup (OpLookup) the instructions that
// compute it: j = u>>bits and f = u's low bits, the entries j and j+1
// loaded, t0 + rshr((t1 − t0)·f, bits). The speed policy runs it on
// every lookup (inline, nothing to call, and passes after it may move
// its parts); the size policy keeps the lookups of a Func that has two or
// more (in its code: a proc's counts once), which the code generator
// selects as calls of one routine, and makes a lone one inline, where the
// routine would cost more than it saves (lonelookup).
func lookups(f *Func) { inlineLookups(f) }

// lonelookup is lookups where the Func has one lookup in its code.
func lonelookup(f *Func) {
	n := 0
	walkAll(f, func(x *Node) {
		if x.Kind == NInst && x.Inst.Op == OpLookup {
			n++
		}
	})
	if n < 2 {
		inlineLookups(f)
	}
}

// inlineLookups makes every lookup its instructions.
func inlineLookups(f *Func) {
	rewriteNodes(f, func(out []*Node, n *Node) []*Node {
		if n.Kind != NInst || n.Inst.Op != OpLookup {
			return append(out, n)
		}
		in := n.Inst
		b := &builder{f: f, cur: &out}
		j := b.imm(OpShrI, I32, in.A, in.Imm)
		fr := b.op(OpAnd, I32, in.A, b.c32(1<<in.Imm-1))
		t0 := b.load(I32, i32At(in.Mem.Buf, j, in.Mem.Disp/4))
		t1 := b.load(I32, i32At(in.Mem.Buf, j, in.Mem.Disp/4+1))
		b.set(in.Dst, OpAdd, t0, b.rshrLo(b.wide(b.sub32(t1, t0), fr), uint(in.Imm)))
		return out
	})
}
