package lir

// offsets: a loop of a constant count whose index is read other than by
// addresses (argmax's, which the best's index copies) and that loads,
// at the top of its body, through the index scaled by 2, 4 or 8 with no
// base, where those addresses are 16-bit offsets (segmented, or the flat
// model's low activations), loads through a byte offset of its own
// instead: 0 before the loop, stepped by the scale right after the last
// of those loads. A scaled index with no base takes a 32-bit address in
// 16-bit code (a 0x67 prefix, a SIB byte, a 32-bit displacement, the
// index's upper half cleared first); the offset takes a 16-bit one, which
// the code generator may rebase onto the buffer's place (pointerBase):
// llama2.tf's argmax, 35 -> 33 bytes (`tfc size --gen loop`). Where the
// address is a linear one above 1 MiB (stories15M's logits) it would only
// add the step, and a loop whose index only addresses memory is
// stride's.
func offsets(f *Func) {
	uses := useCounts(f)
	rewriteNodes(f, func(out []*Node, n *Node) []*Node {
		if n.Kind == NLoop {
			out = append(out, offsetLoop(f, n, uses)...)
		}
		return append(out, n)
	})
}

// offsetLoop gives loop n its byte offset where offsets applies, and
// returns what sets it before the loop.
func offsetLoop(f *Func, n *Node, uses []int) []*Node {
	if n.Count != NoReg || n.Step > 1 || n.CountImm < 2 {
		return nil
	}
	var loads []*Mem
	scale, last := int64(0), -1
	for i, x := range n.Body {
		if x.Kind != NInst || x.Inst.Op != OpLoad || x.Inst.Mem.Index != n.Index {
			continue
		}
		m := &x.Inst.Mem
		if m.Base != NoReg || m.Scale != 2 && m.Scale != 4 && m.Scale != 8 || scale != 0 && m.Scale != scale ||
			!(f.Segmented || f.LowActivations && m.Buf.Activation()) {
			return nil
		}
		scale, last = m.Scale, i
		loads = append(loads, m)
	}
	// addressed: the index's reads by any address in the loop; wide: the
	// loop computes in 64 bits (two registers a value: none to spare).
	addressed, wide := 0, false
	Walk(n.Body, func(x *Node) {
		if x.Kind != NInst {
			return
		}
		wide = wide || x.Inst.Dst != NoReg && f.Types[x.Inst.Dst] == I64
		for _, m := range x.Inst.mems() {
			if m.Index == n.Index || m.Base == n.Index {
				addressed++
			}
		}
	})
	if len(loads) == 0 || wide || addressed != len(loads) || uses[n.Index] == addressed || n.CountImm*scale > 0x8000 {
		return nil
	}
	off, step := f.NewReg(I32), f.NewReg(I32)
	for _, m := range loads {
		m.Index, m.Scale = off, 1
	}
	add := &Node{Kind: NInst, Inst: Inst{Op: OpAdd, Dst: off, A: off, B: step, C: NoReg}}
	n.Body = append(n.Body[:last+1], append([]*Node{add}, n.Body[last+1:]...)...)
	return []*Node{
		{Kind: NInst, Inst: Inst{Op: OpConst, Dst: off, A: NoReg, B: NoReg, C: NoReg}},
		{Kind: NInst, Inst: Inst{Op: OpConst, Dst: step, A: NoReg, B: NoReg, C: NoReg, Imm: scale}},
	}
}
