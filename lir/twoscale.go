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
// its list sets. A base that something else reads, or that is written
// more than once, the loop does not step: it steps a copy made before it,
// where two operands or more lose their scale (an i64's counting two).
// Only where those operands may become 16-bit (segmented, or the flat
// model's low activations).
func twoScales(f *Func) {
	uses, nd := useCounts(f), defs(f)
	rewriteNodes(f, func(out []*Node, n *Node) []*Node {
		if n.Kind == NLoop {
			out = append(out, twoScalesLoop(f, n, out, uses, nd)...)
		}
		return append(out, n)
	})
}

// twoScalesLoop rewrites loop n, which follows the nodes before (in
// the same list), where it can, and returns what must run before it.
func twoScalesLoop(f *Func, n *Node, before []*Node, uses, nd []int) []*Node {
	i := n.Index
	var lesser []*Mem
	least, most := int64(0), int64(0)
	base, reads, greater := NoReg, 0, 0
	ok := true
	var scan func(nodes []*Node, top bool)
	scan = func(nodes []*Node, top bool) {
		for _, x := range nodes {
			switch x.Kind {
			case NIf:
				scan(x.Then, top)
				scan(x.Else, top)
			case NInst:
				in := &x.Inst
				for _, r := range []Reg{in.A, in.B, in.C} {
					ok = ok && r != i
				}
				for _, m := range in.mems() {
					ok = ok && m.Base != i
					if m.Index != i {
						continue
					}
					ok = ok && top && in.Op != OpDot && in.Op != OpSplit && slices.Contains([]int64{1, 2, 4, 8}, m.Scale)
					if least == 0 || m.Scale < least {
						least = m.Scale
					}
					most = max(most, m.Scale)
				}
			default:
				// An inner loop's reads of the index, or its count: left.
				Walk([]*Node{x}, func(y *Node) {
					if y.Kind == NInst {
						ok = ok && !slices.Contains(y.Inst.Reads(), i)
					} else if y.Kind == NLoop {
						ok = ok && !slices.Contains(y.LoopReads(), i)
					}
				})
			}
		}
	}
	scan(n.Body, true)
	if !ok || least == 0 || least == most {
		return nil
	}
	Walk(n.Body, func(x *Node) {
		if x.Kind != NInst {
			return
		}
		for _, m := range x.Inst.mems() {
			if m.Index == i && m.Scale != least && !f.Segmented && !(f.LowActivations && m.Buf.Activation()) {
				ok = false // 32-bit, either way: only the step would be new
			}
			if m.Index == i && m.Scale != least {
				greater += max(1, m.Width/4) // an i64's: two dwords' operands
			}
			if m.Index != i || m.Scale != least {
				continue
			}
			if m.Base == NoReg || base != NoReg && m.Base != base {
				ok = false
			}
			base = m.Base
			lesser = append(lesser, m)
		}
		if base != NoReg && (x.Inst.Dst == base || slices.Contains(x.Inst.Reads(), base)) {
			reads++
		}
	})
	if !ok || base == NoReg || reads != len(lesser) || f.Types[base] != I32 {
		return nil
	}
	// A base written once, before the loop, and read by these operands
	// alone, the loop steps; another, a copy of it made before the loop,
	// which pays where two operands or more lose their scale.
	// The base is set before the loop in its list, so that each time
	// the loop runs it starts at its first value (one set before an
	// enclosing loop would start where the last run left it, one set
	// after the loop, for the next pass of an enclosing loop, would be
	// read before it is written).
	if !slices.ContainsFunc(before, func(x *Node) bool { return x.Kind == NInst && x.Inst.Dst == base }) {
		return nil
	}
	var pre []*Node
	if nd[base] != 1 || uses[base] != reads {
		if greater < 2 {
			return nil
		}
		q := f.NewReg(I32)
		pre = append(pre, &Node{Kind: NInst, Inst: Inst{Op: OpCopy, Dst: q, A: base, B: NoReg, C: NoReg}})
		base = q
	}
	for _, m := range lesser {
		m.Base, m.Index, m.Scale = base, NoReg, 0
	}
	c := f.NewReg(I32)
	n.Body = append(n.Body,
		&Node{Kind: NInst, Inst: Inst{Op: OpConst, Dst: c, A: NoReg, B: NoReg, C: NoReg, Imm: least * max(n.Step, 1)}},
		&Node{Kind: NInst, Inst: Inst{Op: OpAdd, Dst: base, A: base, B: c, C: NoReg}})
	return pre
}
