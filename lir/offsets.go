package lir

// offsets: a loop of a constant count whose counter is read other than
// by addresses (argmax's, which the best's index copies) and that loads,
// at the top of its body, through the counter scaled by 2, 4 or 8 with no
// base, where those addresses are 16-bit offsets (segmented, or the flat
// model's low activations), loads through a byte offset of its own
// instead: the counter's start times the scale before the loop, stepped
// by its step times the scale right after the last of those loads. The
// counter is the loop's index (from 0, by 1), or a register that a
// constant sets before the loop and an add of a constant steps once in
// its body, after those loads (argmax's, which counts the passes left
// down to 1). A scaled index with no base takes a 32-bit address in
// 16-bit code (a 0x67 prefix, a SIB byte, a 32-bit displacement, the
// index's upper half cleared first); the offset takes a 16-bit one, which
// the code generator may rebase onto the buffer's place (pointerBase):
// llama2.tf's argmax, 35 -> 33 bytes (`tfc size --gen loop`). Where the
// address is a linear one above 1 MiB (stories15M's logits) it would only
// add the step, and a loop whose index only addresses memory is
// stride's.
func offsets(f *Func) {
	uses, nd, konst := useCounts(f), defs(f), constants(f)
	rewriteNodes(f, func(out []*Node, n *Node) []*Node {
		if n.Kind == NLoop && n.Count == NoReg && n.Step <= 1 && n.CountImm >= 2 {
			pre := offsetLoop(f, n, counter{n.Index, 0, 1, len(n.Body)}, uses)
			for i, x := range n.Body {
				if c, ok := stepped(x, i, out, nd, konst); ok && pre == nil {
					pre = offsetLoop(f, n, c, uses)
				}
			}
			out = append(out, pre...)
		}
		return append(out, n)
	})
}

// counter is a register that a loop steps by a constant each pass: from
// start, by step, at its body's node at (its length: the index's own).
type counter struct {
	r           Reg
	start, step int64
	at          int
}

// stepped: x, the body's node i, adds a constant to a register that
// nothing else writes but a constant among before, the nodes before the
// loop.
func stepped(x *Node, i int, before []*Node, nd []int, konst map[Reg]int64) (counter, bool) {
	in := &x.Inst
	if x.Kind != NInst || in.Op != OpAdd || in.Dst != in.A || int(in.Dst) >= len(nd) || nd[in.Dst] != 2 {
		return counter{}, false // a register made since nd: an offset's
	}
	step, ok := konst[in.B]
	if !ok {
		return counter{}, false
	}
	for _, b := range before {
		if b.Kind == NInst && b.Inst.Op == OpConst && b.Inst.Dst == in.Dst {
			return counter{in.Dst, b.Inst.Imm, step, i}, true
		}
	}
	return counter{}, false
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// offsetLoop gives loop n a byte offset for counter c where offsets
// applies, and returns what sets it before the loop.
func offsetLoop(f *Func, n *Node, c counter, uses []int) []*Node {
	var loads []*Mem
	scale, last := int64(0), -1
	for i, x := range n.Body[:c.at] {
		if x.Kind != NInst || x.Inst.Op != OpLoad || x.Inst.Mem.Index != c.r {
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
	// addressed: the counter's reads by any address in the loop; wide:
	// the loop computes in 64 bits (two registers a value: none to spare).
	addressed, wide := 0, false
	Walk(n.Body, func(x *Node) {
		if x.Kind != NInst {
			return
		}
		wide = wide || x.Inst.Dst != NoReg && f.Types[x.Inst.Dst] == I64
		for _, m := range x.Inst.mems() {
			if m.Index == c.r || m.Base == c.r {
				addressed++
			}
		}
	})
	steps := 0 // the counter's own step reads it
	if c.r != n.Index {
		steps = 1
	}
	most := max(abs(c.start), abs(c.start+n.CountImm*c.step)) * scale
	if len(loads) == 0 || wide || addressed != len(loads) || uses[c.r] == addressed+steps || most > 0x8000 {
		return nil
	}
	off, step := f.NewReg(I32), f.NewReg(I32)
	for _, m := range loads {
		m.Index, m.Scale = off, 1
	}
	add := &Node{Kind: NInst, Inst: Inst{Op: OpAdd, Dst: off, A: off, B: step, C: NoReg}}
	n.Body = append(n.Body[:last+1], append([]*Node{add}, n.Body[last+1:]...)...)
	return []*Node{
		{Kind: NInst, Inst: Inst{Op: OpConst, Dst: off, A: NoReg, B: NoReg, C: NoReg, Imm: c.start * scale}},
		{Kind: NInst, Inst: Inst{Op: OpConst, Dst: step, A: NoReg, B: NoReg, C: NoReg, Imm: c.step * scale}},
	}
}
