package loopgen

import (
	"slices"

	"tfc/lir"
)

// Flat, with the activations in low memory (Layout.Low), a proc's pointer
// param that every call passes an activation's address and that the proc
// only adds to and addresses memory with is passed as the activation's
// offset in ES's segment instead: a word where a linear address takes a
// dword (an immediate at the call, or its data after the call), and the
// proc's addresses through it take ES, where 16-bit forms may reach them
// (addr16Of), as the segmented model's do.

// esOffsets lists the registers whose values are such offsets: the
// OpAddr results the calls pass and, in each proc, the param and what it
// derives from it (nil where the model has no low activations).
func esOffsets(f *lir.Func, l *Layout) map[lir.Reg]bool {
	if l.Segmented || !l.Low {
		return nil
	}
	nd := make([]int, len(f.Types))
	def := map[lir.Reg]*lir.Inst{}
	type use struct {
		call *lir.Node // a call's argument
		arg  int
	}
	uses := map[lir.Reg][]use{} // the OpAddr results' readers
	for _, b := range f.Bodies() {
		for r, n := range defs(*b, len(f.Types)) {
			nd[r] += n
		}
		lir.Walk(*b, func(n *lir.Node) {
			if n.Kind == lir.NInst && n.Inst.Dst != lir.NoReg {
				def[n.Inst.Dst] = &n.Inst
			}
		})
	}
	addrOf := func(r lir.Reg) bool {
		in := def[r]
		return nd[r] == 1 && in != nil && in.Op == lir.OpAddr && in.Mem.Buf != nil && in.Mem.Base == lir.NoReg &&
			in.Mem.Index == lir.NoReg && l.Group[in.Mem.Buf] == activations
	}
	for _, b := range f.Bodies() {
		lir.Walk(*b, func(n *lir.Node) {
			read := func(r lir.Reg, u use) {
				if r != lir.NoReg && def[r] != nil && def[r].Op == lir.OpAddr {
					uses[r] = append(uses[r], u)
				}
			}
			switch n.Kind {
			case lir.NInst:
				for _, r := range n.Inst.Reads() {
					read(r, use{})
				}
			case lir.NLoop:
				for _, r := range n.LoopReads() {
					read(r, use{})
				}
			case lir.NIf:
				read(n.Cond, use{})
			case lir.NCall:
				for i, r := range n.Args {
					read(r, use{n, i})
				}
			}
		})
	}
	// A param qualifies where every call passes an activation's address
	// that nothing else reads, and the proc's use of it does (derived).
	type param struct {
		p *lir.Proc
		i int
	}
	ok := map[param]bool{}
	derived := map[param]map[lir.Reg]bool{}
	for _, p := range f.Procs {
		for i := range p.Params {
			if d := derivedFrom(p.Body, p.Params[i]); d != nil {
				ok[param{p, i}], derived[param{p, i}] = true, d
			}
		}
	}
	for _, b := range f.Bodies() {
		lir.Walk(*b, func(n *lir.Node) {
			if n.Kind != lir.NCall {
				return
			}
			for i, r := range n.Args {
				if !addrOf(r) || len(uses[r]) != 1 {
					ok[param{n.Proc, i}] = false
				}
			}
		})
	}
	es := map[lir.Reg]bool{}
	for pa, d := range derived {
		if ok[pa] {
			for r := range d {
				es[r] = true
			}
		}
	}
	for r, us := range uses {
		if len(us) == 1 && us[0].call != nil && ok[param{us[0].call.Proc, us[0].arg}] {
			es[r] = true
		}
	}
	// So is an address that the forward pass itself only adds to and
	// addresses memory with (a proc that one call ran, inlined).
	for r, us := range uses {
		if !addrOf(r) || slices.ContainsFunc(us, func(u use) bool { return u.call != nil }) {
			continue
		}
		for x := range derivedFrom(f.Body, r) {
			es[x] = true
		}
	}
	return es
}

// derivedFrom is p's register r and those the proc derives from it by
// adding or subtracting values not derived from it, where each of them is
// read only by such derivations and as a memory operand's base or index
// beside none derived (and with no buffer: the address is the register's);
// else nil.
func derivedFrom(body []*lir.Node, r lir.Reg) map[lir.Reg]bool {
	d := map[lir.Reg]bool{r: true}
	derives := func(in *lir.Inst) bool {
		switch in.Op {
		case lir.OpAdd:
			return d[in.A] != d[in.B]
		case lir.OpSub:
			return d[in.A] && !d[in.B]
		case lir.OpCopy:
			return d[in.A]
		}
		return false
	}
	for changed := true; changed; {
		changed = false
		lir.Walk(body, func(n *lir.Node) {
			if n.Kind == lir.NInst && n.Inst.Dst != lir.NoReg && !d[n.Inst.Dst] && derives(&n.Inst) {
				d[n.Inst.Dst], changed = true, true
			}
		})
	}
	fine := true
	lir.Walk(body, func(n *lir.Node) {
		switch n.Kind {
		case lir.NInst:
			in := &n.Inst
			if in.Dst == r && in.Op == lir.OpAddr {
				break // r's own definition, an activation's address
			}
			if in.Dst != lir.NoReg && d[in.Dst] && !derives(in) {
				fine = false // also written otherwise
			}
			if derives(in) {
				if d[in.C] {
					fine = false
				}
				break
			}
			if d[in.A] || d[in.B] || d[in.C] {
				fine = false
			}
			var mems []lir.Mem // as lir's Inst.Reads sees them
			switch in.Op {
			case lir.OpLoad, lir.OpStore:
				if m := in.Mem; (d[m.Base] || d[m.Index]) && (m.Buf != nil || d[m.Base] && d[m.Index]) {
					fine = false
				}
			case lir.OpAddr, lir.OpSeg:
				mems = []lir.Mem{in.Mem}
			case lir.OpDot, lir.OpSplit:
				mems = []lir.Mem{in.Mem, in.Mem2}
			}
			for _, m := range mems {
				if d[m.Base] || d[m.Index] {
					fine = false
				}
			}
		case lir.NLoop:
			if d[n.Index] || slices.ContainsFunc(n.LoopReads(), func(r lir.Reg) bool { return d[r] }) {
				fine = false
			}
		case lir.NIf:
			if d[n.Cond] {
				fine = false
			}
		case lir.NCall:
			for _, a := range n.Args {
				if d[a] {
					fine = false
				}
			}
		}
	})
	if !fine {
		return nil
	}
	return d
}
