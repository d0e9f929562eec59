package lir

// stride makes a loop whose index only indexes memory, scaled the same
// way everywhere (by 2, 4 or 8: a vector of words, dwords or int64s),
// count in bytes: its index steps by the scale and its operands take it
// unscaled. The loop's step costs 2 bytes more than an inc, and each
// operand loses its scale: no SIB byte where the index is its only
// register, and where the allocator gives it si, di, bx or bp the
// segmented model's 16-bit address (no 0x67 prefix, no SIB, a 16-bit
// displacement for a 32-bit one), as the flat model's activations where
// they lie in low memory (LowActivations). Only loops of a constant count: a
// step other than 1 needs one (Node.Step).
func stride(f *Func) {
	uses := useCounts(f)
	type scaling struct {
		scale int64
		n     int
		ok    bool
	}
	by := map[Reg]*scaling{}
	walkAll(f, func(n *Node) {
		if n.Kind != NInst {
			return
		}
		for _, m := range n.Inst.mems() {
			if m.Index == NoReg {
				continue
			}
			s := by[m.Index]
			if s == nil {
				s = &scaling{scale: m.Scale, ok: true}
				by[m.Index] = s
			}
			s.n++
			// A dot's or a split's operand is a vector's start, which
			// their selection reads in its own way.
			if s.scale != m.Scale || n.Inst.Op == OpDot || n.Inst.Op == OpSplit {
				s.ok = false
			}
		}
	})
	walkAll(f, func(n *Node) {
		if n.Kind != NLoop || n.Count != NoReg || n.Step > 1 || n.CountImm < 2 {
			return
		}
		s := by[n.Index]
		if s == nil || !s.ok || s.n != uses[n.Index] || s.scale != 2 && s.scale != 4 && s.scale != 8 {
			return
		}
		if !f.Segmented {
			alone, low := 0, f.LowActivations
			Walk(n.Body, func(b *Node) {
				if b.Kind == NInst {
					for _, m := range b.Inst.mems() {
						if m.Index == n.Index && m.Base == NoReg {
							alone++
						}
						if m.Index == n.Index && !m.Buf.Activation() {
							low = false
						}
					}
				}
			})
			if alone < 3 && !low {
				return
			}
		}
		n.Step = s.scale
		Walk(n.Body, func(b *Node) {
			if b.Kind != NInst {
				return
			}
			for _, m := range b.Inst.mems() {
				if m.Index == n.Index {
					m.Scale = 1
				}
			}
		})
	})
}
