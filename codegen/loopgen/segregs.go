package loopgen

import (
	"maps"
	"slices"

	x86 "tfc/codegen/x86_16"
	"tfc/lir"
	"tfc/regalloc"
)

// segment is the segment register that holds the segment of a group of
// the segmented model, which the kernel's entry loads (where it did not
// hold it already, held): the first that no other group of the kernel
// holds. A kernel that reaches more than three groups fails (k.err).
func (k *kernel) segment(gr Group) x86.Reg {
	if gr == activations {
		return x86.ES // forward's, for every kernel
	}
	if gr == zeroGroup {
		return x86.DS // segment 0, every kernel's
	}
	s, pinned := k.pinned(gr.Slot)
	if pinned && gr.Add == 0 {
		return s
	}
	return k.segmentReg(gr, func(r x86.Reg) []regalloc.Item {
		var slot x86.Operand = x86.W(x86.Abs16(gr.Slot))
		if pinned {
			slot = s
		}
		if gr.Add == 0 {
			return []regalloc.Item{{Inst: x86.Inst{Op: x86.MOV, Args: []x86.Operand{r, slot}}}}
		}
		v := v16(k.v())
		return []regalloc.Item{
			{Inst: x86.Inst{Op: x86.MOV, Args: []x86.Operand{v, slot}}},
			{Inst: x86.Inst{Op: x86.ADD, Args: []x86.Operand{v, x86.Imm(int64(gr.Add))}}},
			{Inst: x86.Inst{Op: x86.MOV, Args: []x86.Operand{r, v}}}}
	})
}

// segmentIn is segment's register for the segment a proc is passed in
// its param p (lir.OpSeg's value at the call). Params that the proc
// reads from one word (the layer slot, where layerSlotArgs took them:
// a layernorm's weights and biases) share its register.
func (k *kernel) segmentIn(p lir.Reg) x86.Reg {
	var key any = p
	src, ok := k.operand(p, false)
	if s, isReg := src.(x86.Reg); ok && isReg && s.IsSeg() {
		return s // pinned
	}
	m, inMem := src.(x86.Mem)
	if ok && inMem {
		m.Size = 16
		key = m
	}
	return k.segmentReg(key, func(r x86.Reg) []regalloc.Item {
		if ok && inMem {
			return []regalloc.Item{{Inst: x86.Inst{Op: x86.MOV, Args: []x86.Operand{r, m}}}}
		}
		return []regalloc.Item{{Inst: x86.Inst{Op: x86.MOV, Args: []x86.Operand{r, v16(k.dst(p))}}}}
	})
}

// segRegs are the segment registers a kernel may load, in the order it
// takes them. ES holds the activations' group from forward's entry on,
// which no kernel changes: none loads it (4 bytes each) nor keeps its
// caller's (a push and a pop each in a procedure).
var segRegs = []x86.Reg{x86.FS, x86.GS}

// segRegs are the segment registers the kernel loads at its entry, or
// takes as it holds them there (held).
func (k *kernel) segRegs() map[x86.Reg]bool {
	held := map[x86.Reg]bool{}
	for _, r := range k.segs {
		held[r] = true
	}
	return held
}

// segmentReg gives the segment that key names (a Group or a param) a
// segment register, with the entry's code that load loads it.
func (k *kernel) segmentReg(key any, load func(r x86.Reg) []regalloc.Item) x86.Reg {
	if r, ok := k.segs[key]; ok {
		return r
	}
	taken := k.segRegs()
	if gr, ok := key.(Group); ok && gr.Add == 0 {
		for _, r := range segRegs {
			if s, ok := k.held[r]; ok && s == gr.Slot && !taken[r] {
				k.segs[key] = r
				return r
			}
		}
	}
	// A register that holds nothing this kernel may want first.
	free := k.free()
	for _, r := range append(slices.DeleteFunc(slices.Clone(free), func(r x86.Reg) bool { _, ok := k.held[r]; return ok }), free...) {
		if !taken[r] {
			k.segs[key] = r
			k.entry = append(k.entry, load(r)...)
			return r
		}
	}
	if k.err == nil && len(free) < len(segRegs) {
		k.err = k.pinError()
	}
	if k.err == nil {
		k.err = segErrorf("%s reaches more than two 64 KiB segments besides the activations' (es holds those; the 386 has fs and gs for the rest)", k.note)
	}
	return x86.FS
}

// heldAfter is held after kernel k: what it loaded at its entry, and what
// it left alone of what it found; nothing where it calls a proc, which
// may load its own.
func (g *gen) heldAfter(k *kernel) map[x86.Reg]uint16 {
	if len(k.calls) > 0 {
		return nil
	}
	held := maps.Clone(k.held)
	if held == nil {
		held = map[x86.Reg]uint16{}
	}
	for key, r := range k.segs {
		if gr, ok := key.(Group); ok && gr.Add == 0 {
			held[r] = gr.Slot
		} else {
			delete(held, r)
		}
	}
	return held
}
