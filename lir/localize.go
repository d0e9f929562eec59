package lir

import (
	"fmt"
	"slices"
)

// localize: a loop that reads four or more dwords of one buffer at a
// register offset it does not change (attention's q, at the head's
// offset, at every position) reads them from a scratch copy at fixed
// addresses instead, which the code before the loop writes. The loop then
// needs no register for the offset; the copy costs a load and a store a
// dword each time the loop starts.
func localize(f *Func) {
	made := map[*Node]bool{} // the copies' loads, never localized again
	for _, b := range f.Bodies() {
		*b = localizeIn(f, *b, made)
	}
}

func localizeIn(f *Func, nodes []*Node, made map[*Node]bool) []*Node {
	var out []*Node
	for _, n := range nodes {
		n.Body = localizeIn(f, n.Body, made)
		n.Then, n.Else = localizeIn(f, n.Then, made), localizeIn(f, n.Else, made)
		if n.Kind == NLoop {
			out = append(out, localizeLoop(f, n, made)...)
		}
		out = append(out, n)
	}
	return out
}

// localizeLoop rewrites the loads of n it localizes and returns the copy.
func localizeLoop(f *Func, n *Node, made map[*Node]bool) []*Node {
	written := loopWrites(n)
	stored := map[*Buf]bool{}
	unknown := false
	Walk(n.Body, func(x *Node) {
		if x.Kind == NCall {
			unknown = true
		}
		if m := x.Inst.Stored(); x.Kind == NInst && m != nil {
			stored[m.Buf] = true
			unknown = unknown || m.Buf == nil
		}
	})
	if unknown {
		return nil
	}
	type key struct {
		buf         *Buf
		base, index Reg
		scale       int64
	}
	var keys []key
	loads := map[key][]*Node{}
	var visit func(nodes []*Node)
	visit = func(nodes []*Node) {
		for _, x := range nodes {
			if x.Kind == NIf {
				visit(x.Then)
				visit(x.Else)
			}
			m := x.Inst.Mem
			if x.Kind != NInst || x.Inst.Op != OpLoad || made[x] || m.Width != 4 || m.Buf == nil || stored[m.Buf] ||
				m.Base == NoReg && m.Index == NoReg || written[m.Base] || written[m.Index] {
				continue
			}
			k := key{m.Buf, m.Base, m.Index, m.Scale}
			if loads[k] == nil {
				keys = append(keys, k)
			}
			loads[k] = append(loads[k], x)
		}
	}
	visit(n.Body)
	var copies []*Node
	for _, k := range keys {
		var disps []int64
		for _, x := range loads[k] {
			if !slices.Contains(disps, x.Inst.Mem.Disp) {
				disps = append(disps, x.Inst.Mem.Disp)
			}
		}
		if len(disps) < 4 {
			continue
		}
		lo, hi := slices.Min(disps), slices.Max(disps)
		buf := &Buf{Name: fmt.Sprintf("local%d", len(f.Bufs)), Kind: BufScratch, Size: hi - lo + 4}
		f.Bufs = append(f.Bufs, buf)
		for _, d := range disps {
			r := f.NewReg(I32)
			src := Mem{Buf: k.buf, Base: k.base, Index: k.index, Scale: k.scale, Disp: d, Width: 4, Signed: true}
			load := &Node{Kind: NInst, Inst: Inst{Op: OpLoad, Dst: r, A: NoReg, B: NoReg, C: NoReg, Mem: src}}
			made[load] = true
			copies = append(copies, load, &Node{Kind: NInst, Inst: Inst{Op: OpStore, Dst: NoReg, A: r, B: NoReg, C: NoReg,
				Mem: Mem{Buf: buf, Base: NoReg, Index: NoReg, Disp: d - lo, Width: 4}}})
		}
		for _, x := range loads[k] {
			x.Inst.Mem = Mem{Buf: buf, Base: NoReg, Index: NoReg, Disp: x.Inst.Mem.Disp - lo, Width: 4, Signed: x.Inst.Mem.Signed}
		}
	}
	return copies
}
