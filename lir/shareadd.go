package lir

import "slices"

// shareAdd: an address of two registers added (base and index, unscaled)
// that an add after it in the same list computes from the same two reads
// that add's result, the add moved up to just before it: attention's
// value shift at [kv + t*18 + kh*9 + 44] and the value row it then steps
// through from t*18 + kh*9 (one register where the address took two,
// and the second's load from its slot: -4 bytes llama2-int8.tf, `tfc
// size --gen loop`). The two registers are not written between the
// address and the add, nor the sum read or written, so the moved add
// computes what it did and nothing between sees it early.
func shareAdd(f *Func) {
	for _, b := range f.Bodies() {
		shareAddIn(*b)
	}
	walkAll(f, func(n *Node) {
		shareAddIn(n.Body)
		shareAddIn(n.Then)
		shareAddIn(n.Else)
	})
}

// shareAddIn rewrites one list in place.
func shareAddIn(nodes []*Node) {
	for j := 0; j < len(nodes); j++ {
		add := nodes[j]
		if add.Kind != NInst || add.Inst.Op != OpAdd || add.Inst.A == add.Inst.B {
			continue
		}
		in := add.Inst
		for i := 0; i < j; i++ {
			x := nodes[i]
			if x.Kind != NInst || (x.Inst.Op != OpLoad && x.Inst.Op != OpStore) {
				continue
			}
			m := &x.Inst.Mem
			if m.Scale > 1 || !(m.Base == in.A && m.Index == in.B || m.Base == in.B && m.Index == in.A) {
				continue
			}
			if touched(nodes[i:j], in.A, true) || touched(nodes[i:j], in.B, true) || touched(nodes[i:j], in.Dst, false) {
				continue
			}
			m.Base, m.Index, m.Scale = in.Dst, NoReg, 0
			copy(nodes[i+1:j+1], nodes[i:j])
			nodes[i] = add
			break
		}
	}
}

// touched: a node of nodes writes r, or (where writesOnly is false) reads
// it too.
func touched(nodes []*Node, r Reg, writesOnly bool) bool {
	hit := false
	Walk(nodes, func(n *Node) {
		switch n.Kind {
		case NInst:
			hit = hit || n.Inst.Dst == r || !writesOnly && slices.Contains(n.Inst.Reads(), r)
		case NLoop:
			hit = hit || n.Index == r || !writesOnly && slices.Contains(n.LoopReads(), r)
		case NIf:
			hit = hit || !writesOnly && n.Cond == r
		case NCall:
			hit = hit || !writesOnly && slices.Contains(n.Args, r)
		}
	})
	return hit
}
