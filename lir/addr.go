package lir

// reassoc rewrites memory operands whose index adds two registers when
// there is a base already (or the buffer is per layer, whose slice the
// code generator reaches through a pointer): the base and one addend
// become a new register, computed just before, which licm can then move
// out of an inner loop, and the other addend stays the index (where fold
// can make its shift a scale). x86 addresses take two registers.
func reassoc(f *Func) {
	nd := defs(f)
	def := map[Reg]*Inst{}
	walkAll(f, func(n *Node) {
		if n.Kind == NInst && n.Inst.Dst != NoReg && nd[n.Inst.Dst] == 1 {
			def[n.Inst.Dst] = &n.Inst
		}
	})
	// inLoop: the registers the innermost loop around a node writes.
	var rewrite func(nodes []*Node, inLoop map[Reg]bool) []*Node
	rewrite = func(nodes []*Node, inLoop map[Reg]bool) []*Node {
		var out []*Node
		for _, n := range nodes {
			inner := inLoop
			if n.Kind == NLoop {
				inner = map[Reg]bool{n.Index: true}
				Walk(n.Body, func(x *Node) {
					if x.Kind == NInst && x.Inst.Dst != NoReg {
						inner[x.Inst.Dst] = true
					}
				})
			}
			n.Body, n.Then, n.Else = rewrite(n.Body, inner), rewrite(n.Then, inner), rewrite(n.Else, inner)
			if n.Kind == NInst && (n.Inst.Op == OpLoad || n.Inst.Op == OpStore || n.Inst.Op == OpAddr) {
				out = append(out, reassocMem(f, &n.Inst.Mem, def, nd, inLoop)...)
			}
			out = append(out, n)
		}
		return out
	}
	for _, b := range f.Bodies() {
		*b = rewrite(*b, map[Reg]bool{})
	}
	dce(f) // the sums the new addresses bypass: fold counts their readers
}

// reassocMem returns the instructions that m, rewritten, needs first;
// inLoop are the registers the innermost loop around it writes. An index
// that adds what the loop changes to what it does not gives the latter,
// scaled, to the base; a per-layer buffer's slice joins the base.
func reassocMem(f *Func, m *Mem, def map[Reg]*Inst, nd []int, inLoop map[Reg]bool) []*Node {
	var pre []*Node
	emit := func(in Inst) Reg {
		in.Dst = f.NewReg(I32)
		if in.C == 0 {
			in.C = NoReg
		}
		pre = append(pre, &Node{Kind: NInst, Inst: in})
		return in.Dst
	}
	// Segmented, a layer's slice is a segment register's, no register.
	perLayer := m.Buf != nil && m.Buf.PerLayer && !f.Segmented
	var d *Inst
	if m.Index != NoReg {
		d = def[m.Index]
	}
	split := d != nil && d.Op == OpAdd && nd[d.A] == 1 && nd[d.B] == 1 && inLoop[d.A] != inLoop[d.B]
	if !split {
		if perLayer && m.Base != NoReg && m.Index != NoReg {
			// Three registers (the slice, base, index): the slice and
			// the base in one.
			p := emit(Inst{Op: OpAddr, Mem: Mem{Buf: m.Buf, Base: NoReg, Index: NoReg}, A: NoReg, B: NoReg})
			m.Base, m.Buf = emit(Inst{Op: OpAdd, A: p, B: m.Base}), nil
		}
		return pre
	}
	x, y := d.A, d.B // x the loop does not change
	if inLoop[x] {
		x, y = y, x
	}
	if m.Scale != 1 {
		x = emit(Inst{Op: OpMul, A: x, B: emit(Inst{Op: OpConst, A: NoReg, B: NoReg, Imm: m.Scale})})
	}
	base := m.Base
	if perLayer {
		p := emit(Inst{Op: OpAddr, Mem: Mem{Buf: m.Buf, Base: NoReg, Index: NoReg}, A: NoReg, B: NoReg})
		if base == NoReg {
			base = p
		} else {
			base = emit(Inst{Op: OpAdd, A: p, B: base})
		}
		m.Buf = nil
	}
	if base == NoReg {
		m.Base = x
	} else {
		m.Base = emit(Inst{Op: OpAdd, A: base, B: x})
	}
	m.Index = y
	return pre
}
