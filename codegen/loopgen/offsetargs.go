package loopgen

import (
	x86 "tfc/codegen/x86_16"
	"tfc/lir"
)

// In the flat model a layer's param or cache lies at its layer slot's
// address plus a constant (mov eax, [0x1004]; add eax, 0x6400: 10 bytes
// a call). A proc's param that every call passes so, each call in the
// layer loop, or after it a constant (the slot's value after the last
// layer plus a constant, negative where the buffer lies before the
// layers), may instead follow the call as that constant, data, which the
// proc adds the slot to (lodsd; add eax, [0x1004]: the add's 5 bytes
// once). A dword always, read among the dwords, after the bytes and words
// (the add leaves eax's upper half, which a lodsw after it would keep).
// Segmented, a buffer's offset is a constant already, and its segment the
// slot's word plus the group's Add (movzx eax, [0x1004]; add eax, 0x8c0):
// a segment param, used as a segment alone, goes alike as a word (lodsw;
// add ax, [0x1004]: an add of the low word, which leaves eax's upper half
// as lodsw does), where the slot's word alone is no param at all
// (layerSlotArgs).

// offsetArgs are the params passed as offsets from a layer slot: by proc
// and param, the slot (0: none); by call, each such argument's offset.
type offsetArgs struct {
	slot map[*lir.Proc][]uint16
	off  map[*lir.Node][]int64
	// inLoop: the calls in the layer loop (the others come after it).
	inLoop map[*lir.Node]bool
}

func (o offsetArgs) of(pr *lir.Proc, i int) uint16 {
	if o.slot[pr] == nil {
		return 0
	}
	return o.slot[pr][i]
}

// layerOffsetArgs finds them (flat only): in the layer loop, an address
// of a per-layer buffer (base: its slot and its place in the layer); after
// the loop, a constant, its offset from the slot's value then. Not where a
// call comes before the loop (the slot is set at its start), nor where
// calls disagree on the slot.
func layerOffsetArgs(f *lir.Func, l *Layout, layers int) offsetArgs {
	o := offsetArgs{slot: map[*lir.Proc][]uint16{}, off: map[*lir.Node][]int64{}, inLoop: map[*lir.Node]bool{}}
	after := l.slotsAfter(layers)
	bad := map[*lir.Proc][]bool{}
	type late struct {
		call *lir.Node
		i    int
		v    int64
	}
	var lates []late // after the loop: resolved once the slot is known
	note := func(pr *lir.Proc, i int, slot uint16, ok bool) {
		if o.slot[pr] == nil {
			o.slot[pr], bad[pr] = make([]uint16, len(pr.Params)), make([]bool, len(pr.Params))
		}
		switch {
		case !ok || slot != 0 && o.slot[pr][i] != 0 && o.slot[pr][i] != slot:
			bad[pr][i] = true
		case slot != 0:
			o.slot[pr][i] = slot
		}
	}
	scan := func(op *lir.Node, where place) {
		c := constants(f, l, op.Body)
		in := map[lir.Reg][2]int64{} // a per-layer buffer's address (segment): slot, offset
		lir.Walk(op.Body, func(n *lir.Node) {
			m := n.Inst.Mem
			if n.Kind != lir.NInst || m.Buf == nil || m.Base != lir.NoReg || m.Index != lir.NoReg {
				return
			}
			switch {
			case n.Inst.Op == lir.OpAddr && !l.Segmented:
				if a, region := l.base(m.Buf); region != 0 {
					in[n.Inst.Dst] = [2]int64{int64(region), int64(a) + m.Disp}
				}
			case n.Inst.Op == lir.OpSeg:
				gr := l.Group[m.Buf]
				if gr.Slot == addrLayerW || gr.Slot == addrLayerC {
					in[n.Inst.Dst] = [2]int64{int64(gr.Slot), int64(gr.Add)}
				}
				if seg, ok := l.globalSeg(m.Buf); ok {
					c[n.Inst.Dst] = int64(seg) // a global group's, stored once
				}
			}
		})
		lir.Walk(op.Body, func(n *lir.Node) {
			if n.Kind != lir.NCall {
				return
			}
			o.off[n] = make([]int64, len(n.Args))
			o.inLoop[n] = where == inLayers
			for i, a := range n.Args {
				s, inLayer := in[a]
				v, known := c[a]
				switch {
				case where == inLayers && inLayer:
					note(n.Proc, i, uint16(s[0]), true)
					o.off[n][i] = s[1]
				case where == afterLayers && known:
					note(n.Proc, i, 0, true)
					lates = append(lates, late{n, i, v})
				default:
					note(n.Proc, i, 0, false)
				}
			}
		})
	}
	forOps(f, scan)
	// A proc that a proc calls: those calls pass what they pass.
	for _, p := range f.Procs {
		lir.Walk(p.Body, func(n *lir.Node) {
			if n.Kind == lir.NCall {
				for i := range n.Args {
					note(n.Proc, i, 0, false)
				}
			}
		})
	}
	for _, x := range lates {
		if s := o.of(x.call.Proc, x.i); s != 0 {
			o.off[x.call][x.i] = int64(int32(x.v - after[s]))
			if l.Segmented {
				o.off[x.call][x.i] = int64(uint16(x.v - after[s]))
			}
		}
	}
	for pr, ss := range o.slot {
		// Segmented, the proc adds the slot's word: exact where it
		// uses the param as a segment alone.
		var other map[lir.Reg]bool
		if l.Segmented {
			other = usedOtherwise(pr.Body)
		}
		for i, r := range pr.Params {
			if bad[pr][i] || other[r] {
				ss[i] = 0
			}
		}
	}
	return o
}

// movBytes is what a call takes to pass its param i in a register:
// mov eax, [slot] and an add of the offset (an imm8 where it fits) in the
// loop; after it, mov r32, imm32. Segmented, a segment goes as a word:
// mov ax, [slot] alone, or movzx eax, [slot] and the add; after the loop
// mov ax, imm16.
func (o offsetArgs) movBytes(n *lir.Node, i int, segmented bool) int {
	v := o.off[n][i]
	load, after := 4, 6
	if segmented {
		load, after = 5, 3
		if v == 0 {
			load = 3
		}
	}
	switch {
	case !o.inLoop[n]:
		return after
	case v == 0:
		return load
	case v >= -128 && v < 128:
		return load + 4
	}
	return load + 6
}

// addSlot is the proc's add of its slot to an offset it read into eax
// (segmented, a segment's offset in ax).
func addSlot(slot uint16, segmented bool) x86.Inst {
	if segmented {
		return x86.Inst{Op: x86.ADD, Args: []x86.Operand{x86.AX, low16(slot)}}
	}
	return x86.Inst{Op: x86.ADD, Args: []x86.Operand{x86.EAX, low32(slot)}}
}
