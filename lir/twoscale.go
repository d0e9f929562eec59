package lir

import "slices"

// twoScales: a loop whose index only indexes memory at two scales, the
// lesser through one base register (the row that attention's dot
// product reads bytes of, beside the dwords it multiplies them with),
// steps that base instead: its operands read [buf + base], and the
// index keeps the greater scale alone, which stride then makes its
// step. Each operand of the greater scale loses its SIB byte, and in a
// segment the 32-bit address (0x67, a 32-bit displacement) that two
// registers of which one is scaled need; the base's step costs an inc
// or an add. The base is one that an instruction before the loop in
// its list sets and that the loop does not write. A base that something
// else reads, or that is written more than once, the loop does not
// step: it steps a copy made before it. Only where those operands may
// become 16-bit (segmented, or the flat model's low activations).
func twoScales(f *Func) {
	uses, nd, by := useCounts(f), defs(f), scalings(f)
	rewriteNodes(f, func(out []*Node, n *Node) []*Node {
		if n.Kind == NLoop {
			out = append(out, twoScalesLoop(f, n, out, by[n.Index], uses, nd)...)
		}
		return append(out, n)
	})
}

// twoScalesLoop rewrites loop n, which follows the nodes before (in
// the same list), where s, its index's scaling, allows, and returns what
// must run before it.
func twoScalesLoop(f *Func, n *Node, before []*Node, s *scaling, uses, nd []int) []*Node {
	i := n.Index
	if s == nil || !s.x86 || s.least == s.most || uses[i] != s.n {
		return nil // the index is a value too, or one scale, or a dot's
	}
	var lesser []*Mem
	base, ok := NoReg, true
	Walk(n.Body, func(x *Node) {
		if x.Kind != NInst {
			return
		}
		for _, m := range x.Inst.mems() {
			switch {
			case m.Index != i:
			case m.Scale != s.least:
				// 32-bit either way, flat: only the step would be new.
				ok = ok && (f.Segmented || f.LowActivations && m.Buf.Activation())
			default:
				ok = ok && m.Base != NoReg && (base == NoReg || m.Base == base)
				base = m.Base
				lesser = append(lesser, m)
			}
		}
	})
	if !ok || base == NoReg || f.Types[base] != I32 {
		return nil
	}
	// The instructions of the loop that read the base: these operands'
	// alone (one an instruction), and none writes it.
	reads := 0
	Walk(n.Body, func(x *Node) {
		switch {
		case x.Kind == NInst && x.Inst.Dst == base:
			ok = false
		case x.Kind == NInst && slices.Contains(x.Inst.Reads(), base):
			reads++
		case x.Kind == NLoop && slices.Contains(x.LoopReads(), base) || x.Kind == NIf && x.Cond == base:
			ok = false
		}
	})
	// The base is set before the loop in its list, so that each time
	// the loop runs it starts at its first value (one set before an
	// enclosing loop would start where the last run left it, one set
	// after the loop, for the next pass of an enclosing loop, would be
	// read before it is written).
	set := slices.ContainsFunc(before, func(x *Node) bool { return x.Kind == NInst && x.Inst.Dst == base })
	if !ok || reads != len(lesser) || !set {
		return nil
	}
	// A base written once and read by these operands alone, the loop
	// steps; another, a copy of it made before the loop, which pays
	// even where one operand loses its scale (the embedding's row: its
	// 32-bit address 4 bytes, the copy and its step 3; the loop then
	// counts to zero: llama2-int8.tf -4 bytes, `tfc size --gen loop`).
	var pre []*Node
	if nd[base] != 1 || uses[base] != reads {
		q := f.NewReg(I32)
		pre = append(pre, &Node{Kind: NInst, Inst: Inst{Op: OpCopy, Dst: q, A: base, B: NoReg, C: NoReg}})
		base = q
	}
	for _, m := range lesser {
		m.Base, m.Index, m.Scale = base, NoReg, 0
	}
	c := f.NewReg(I32)
	n.Body = append(n.Body,
		&Node{Kind: NInst, Inst: Inst{Op: OpConst, Dst: c, A: NoReg, B: NoReg, C: NoReg, Imm: s.least * max(n.Step, 1)}},
		&Node{Kind: NInst, Inst: Inst{Op: OpAdd, Dst: base, A: base, B: c, C: NoReg}})
	return pre
}
