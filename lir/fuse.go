package lir

import "fmt"

// fuse merges an op whose code ends with a loop into the next op when
// that op is one loop of the same count, and each iteration of the second
// touches of what the first writes (and the first of what the second
// writes) only the element of its own iteration: a matmul and the residual
// add after it (the add runs as each row is done), a gate and the mul that
// reads it. forward and dse then drop the value's round trip through
// memory.
func fuse(f *Func) {
	for _, b := range f.Bodies() {
		*b = fuseIn(*b, f.FuseElementwise)
	}
}

func fuseIn(nodes []*Node, elementwise bool) []*Node {
	var out []*Node
	for _, n := range nodes {
		if n.Kind == NLayers {
			n.Body = fuseIn(n.Body, elementwise)
		}
		if k := len(out); k > 0 && fusable(out[k-1], n) && (!elementwise || flat(out[k-1]) || residual(out[k-1], n)) {
			out[k-1] = fuseOps(out[k-1], n)
			continue
		}
		out = append(out, n)
	}
	return out
}

// fusable: a ends with a loop, b is pure instructions then one loop of the
// same constant count, and their memory accesses allow running them as
// one loop.
func fusable(a, b *Node) bool {
	if a.Kind != NOp || b.Kind != NOp || len(a.Body) == 0 || len(b.Body) == 0 {
		return false
	}
	l1, l2 := a.Body[len(a.Body)-1], b.Body[len(b.Body)-1]
	if l1.Kind != NLoop || l2.Kind != NLoop || l1.Count != NoReg || l2.Count != NoReg || l1.CountImm != l2.CountImm || l1.Step > 1 || l2.Step > 1 {
		return false
	}
	for _, n := range b.Body[:len(b.Body)-1] {
		if n.Kind != NInst || !n.Inst.pure() {
			return false
		}
	}
	acc1, ok1 := accesses(l1)
	acc2, ok2 := accesses(l2)
	if !ok1 || !ok2 {
		return false
	}
	for buf, as1 := range acc1 {
		as2, both := acc2[buf]
		if !both || !(written(as1) || written(as2)) {
			continue
		}
		// Both touch buf and one writes it: every access the element of
		// its own iteration, the same element in both loops where they
		// share a displacement; accesses at two displacements, one of
		// them written, reach ranges that do not meet (a gate writing t3,
		// the mul after it reading t4 of the same t3+t4).
		elems := map[int64]access{} // by displacement: its scale, and whether written
		for _, as := range [][]access{as1, as2} {
			for _, a := range as {
				if !a.aligned {
					return false
				}
				e, seen := elems[a.disp]
				if seen && e.scale != a.scale {
					return false
				}
				e.scale, e.disp, e.write = a.scale, a.disp, e.write || a.write
				elems[a.disp] = e
			}
		}
		for _, e := range elems {
			for _, o := range elems {
				if e.disp < o.disp && (e.write || o.write) && e.disp+e.scale*l1.CountImm > o.disp {
					return false
				}
			}
		}
	}
	return true
}

// access is one memory access of a loop: aligned when it reaches the
// element Index*scale+disp of the loop's own index, directly in its body.
type access struct {
	write       bool
	aligned     bool
	scale, disp int64
}

func written(as []access) bool {
	for _, a := range as {
		if a.write {
			return true
		}
	}
	return false
}

// accesses lists a loop's memory accesses by buffer; ok is false when
// some access cannot be known (a call, memory through an address).
func accesses(l *Node) (map[*Buf][]access, bool) {
	acc := map[*Buf][]access{}
	ok := true
	var walk func(nodes []*Node, direct bool)
	walk = func(nodes []*Node, direct bool) {
		for _, n := range nodes {
			switch n.Kind {
			case NInst:
				in := &n.Inst
				if in.Op != OpLoad && in.Op != OpStore && in.Op != OpAddr {
					continue
				}
				m := in.Mem
				if m.Buf == nil || in.Op == OpAddr {
					ok = false
					continue
				}
				aligned := direct && m.Base == NoReg && m.Index == l.Index
				acc[m.Buf] = append(acc[m.Buf], access{write: in.Op == OpStore, aligned: aligned, scale: m.Scale, disp: m.Disp})
			case NCall:
				ok = false
			case NLoop, NIf:
				walk(n.Body, false)
				walk(n.Then, false)
				walk(n.Else, false)
			}
		}
	}
	walk(l.Body, true)
	return acc, ok
}

// fuseOps is a with b's loop run in a's last loop.
func fuseOps(a, b *Node) *Node {
	l1, l2 := a.Body[len(a.Body)-1], b.Body[len(b.Body)-1]
	same := map[Reg]Reg{l2.Index: l1.Index}
	Walk(l2.Body, func(n *Node) {
		switch n.Kind {
		case NInst:
			renameReads(&n.Inst, same)
		case NLoop:
			n.Count = rename(n.Count, same)
		case NIf:
			n.Cond = rename(n.Cond, same)
		case NCall:
			for i, r := range n.Args {
				n.Args[i] = rename(r, same)
			}
		}
	})
	l1.Body = append(l1.Body, l2.Body...)
	body := append([]*Node(nil), a.Body[:len(a.Body)-1]...)
	body = append(body, b.Body[:len(b.Body)-1]...)
	body = append(body, l1)
	return &Node{Kind: NOp, Note: fmt.Sprintf("%s + %s", a.Note, b.Note), Body: body}
}

// forward replaces a load by the value a store before it in the same
// straight run of instructions put there (the same buffer, address
// registers written once, width, and the value's register not written
// between: it may be set on two paths before, as the gate's is): fused
// loops store a value and load it back.
func forward(f *Func) {
	nd := defs(f)
	var run func(nodes []*Node)
	run = func(nodes []*Node) {
		stored := map[Mem]Reg{}
		for _, n := range nodes {
			if n.Kind != NInst {
				stored = map[Mem]Reg{}
				run(n.Body)
				run(n.Then)
				run(n.Else)
				continue
			}
			in := &n.Inst
			for k, v := range stored {
				if in.Dst == v && in.Dst != NoReg {
					delete(stored, k) // the value the store put there is gone
				}
			}
			switch in.Op {
			case OpStore:
				for k := range stored {
					if k.Buf == in.Mem.Buf || in.Mem.Buf == nil {
						delete(stored, k)
					}
				}
				if stable(in.Mem, nd) {
					stored[in.Mem] = in.A
				}
			case OpLoad:
				v, hit := stored[in.Mem]
				if hit && stable(in.Mem, nd) && in.Mem.Width == 4 && f.Types[v] == I32 && f.Types[in.Dst] == I32 {
					*in = Inst{Op: OpCopy, Dst: in.Dst, A: v, B: NoReg, C: NoReg}
				}
			}
		}
	}
	for _, b := range f.Bodies() {
		run(*b)
	}
}

// stable: m names a buffer through registers written once, so that two
// equal operands name the same bytes.
func stable(m Mem, nd []int) bool {
	return m.Buf != nil && (m.Base == NoReg || nd[m.Base] == 1) && (m.Index == NoReg || nd[m.Index] == 1)
}

// dse removes the stores into a var or scratch buffer that nothing reads
// any more (forward took its loads), and the buffer; and a store that a
// store to the same bytes after it in the same straight run overwrites
// before anything reads them (a fused gate stores its value, which the
// mul after it reads from the register and stores again).
func dse(f *Func) {
	overwritten(f)
	read := map[*Buf]bool{}
	walkAll(f, func(n *Node) {
		if n.Kind == NInst && n.Inst.Op != OpStore {
			for _, m := range n.Inst.mems() {
				read[m.Buf] = true
			}
		}
	})
	dead := func(b *Buf) bool {
		return b != nil && (b.Kind == BufVar || b.Kind == BufScratch) && !read[b]
	}
	var sweep func(nodes []*Node) []*Node
	sweep = func(nodes []*Node) []*Node {
		var out []*Node
		for _, n := range nodes {
			if n.Kind == NInst && n.Inst.Op == OpStore && dead(n.Inst.Mem.Buf) {
				continue
			}
			n.Body, n.Then, n.Else = sweep(n.Body), sweep(n.Then), sweep(n.Else)
			out = append(out, n)
		}
		return out
	}
	for _, b := range f.Bodies() {
		*b = sweep(*b)
	}
	var keep []*Buf
	for _, b := range f.Bufs {
		if !dead(b) {
			keep = append(keep, b)
		}
	}
	f.Bufs = keep
}

// overwritten removes the stores that a later store to the same operand
// replaces, with no read of those bytes between them in the same straight
// run. Buffers do not overlap (forward's assumption); within one, a load
// through the same registers at a displacement whose bytes do not meet
// the store's leaves it pending.
func overwritten(f *Func) {
	nd := defs(f)
	var run func(nodes []*Node) []*Node
	run = func(nodes []*Node) []*Node {
		dead := map[*Node]bool{}
		pending := map[Mem]*Node{}
		for _, n := range nodes {
			if n.Kind != NInst {
				pending = map[Mem]*Node{}
				n.Body, n.Then, n.Else = run(n.Body), run(n.Then), run(n.Else)
				continue
			}
			in := &n.Inst
			switch in.Op {
			case OpStore:
				if !stable(in.Mem, nd) {
					continue
				}
				if old, ok := pending[in.Mem]; ok {
					dead[old] = true
				}
				pending[in.Mem] = n
			case OpAddr, OpSeg:
			default:
				for _, m := range in.mems() {
					for k := range pending {
						if m.Buf == nil || k.Buf == m.Buf && !(in.Op == OpLoad && apart(k, *m)) {
							delete(pending, k)
						}
					}
				}
			}
		}
		if len(dead) == 0 {
			return nodes
		}
		var out []*Node
		for _, n := range nodes {
			if !dead[n] {
				out = append(out, n)
			}
		}
		return out
	}
	for _, b := range f.Bodies() {
		*b = run(*b)
	}
}

// apart: a and b address the buffer through the same registers and scale
// at displacements whose bytes do not meet.
func apart(a, b Mem) bool {
	return a.Base == b.Base && a.Index == b.Index && a.Scale == b.Scale &&
		(a.Disp+int64(a.Width) <= b.Disp || b.Disp+int64(b.Width) <= a.Disp)
}

// residual: op b is one loop that adds to an element of a buffer in
// place the same element of what a's last loop stores (x[i] += t[i]: a
// residual add after a matmul into t).
func residual(a, b *Node) bool {
	if len(b.Body) != 1 || b.Body[0].Kind != NLoop {
		return false
	}
	l := b.Body[0]
	if len(l.Body) != 4 {
		return false
	}
	var in [4]*Inst
	for i, n := range l.Body {
		if n.Kind != NInst {
			return false
		}
		in[i] = &n.Inst
	}
	if in[0].Op != OpLoad || in[1].Op != OpLoad || in[2].Op != OpAdd || in[3].Op != OpStore ||
		!(in[2].A == in[0].Dst && in[2].B == in[1].Dst || in[2].A == in[1].Dst && in[2].B == in[0].Dst) || in[3].A != in[2].Dst {
		return false
	}
	x, t := in[0], in[1]
	if in[3].Mem != x.Mem {
		x, t = t, x
	}
	if in[3].Mem != x.Mem {
		return false
	}
	acc, ok := accesses(a.Body[len(a.Body)-1])
	if !ok {
		return false
	}
	return written(acc[t.Mem.Buf]) && !written(acc[x.Mem.Buf])
}

// flat: the loop that ends op a has no loop inside (an elementwise op's,
// not a matmul's rows).
func flat(a *Node) bool {
	ok := true
	Walk(a.Body[len(a.Body)-1].Body, func(n *Node) {
		if n.Kind == NLoop {
			ok = false
		}
	})
	return ok
}
