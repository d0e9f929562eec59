package lir

// unscale: an index that only indexes memory, scaled alike by 2, 4 or 8,
// and that a right shift by the scale's power or more computes (a
// table's entry: x>>11 scaled by 4), shifts by that power less and
// clears the low bits instead ((x>>9)&-4), its operands unscaled. In the
// segmented model the table is then a 16-bit address (no 0x67 prefix,
// no SIB, a 16-bit displacement for a 32-bit one); the flat model's
// tables, above 1 MiB, gain no byte there and pay for the and.
func unscale(f *Func) {
	if !f.Segmented {
		return
	}
	nd := defs(f)
	uses := useCounts(f)
	by := scalings(f)
	done := map[Reg]bool{}
	rewriteNodes(f, func(out []*Node, n *Node) []*Node {
		out = append(out, n)
		if n.Kind != NInst || n.Inst.Op != OpShrI || nd[n.Inst.Dst] != 1 || f.Types[n.Inst.Dst] != I32 {
			return out
		}
		r := n.Inst.Dst
		s := by[r]
		p := s.power()
		if p == 0 || s.least != s.most || s.n != uses[r] || n.Inst.Imm < p {
			return out
		}
		shifted, mask := f.NewReg(I32), f.NewReg(I32)
		n.Inst.Dst = shifted
		n.Inst.Imm -= p
		done[r] = true
		return append(out,
			&Node{Kind: NInst, Inst: Inst{Op: OpConst, Dst: mask, A: NoReg, B: NoReg, C: NoReg, Imm: -s.least}},
			&Node{Kind: NInst, Inst: Inst{Op: OpAnd, Dst: r, A: shifted, B: mask, C: NoReg}})
	})
	walkAll(f, func(n *Node) {
		if n.Kind == NInst {
			for _, m := range n.Inst.mems() {
				if done[m.Index] {
					m.Scale = 1
				}
			}
		}
	})
}
