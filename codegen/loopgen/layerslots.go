package loopgen

import (
	x86 "tfc/codegen/x86_16"
)

// A window is the bytes [lo, lo+n) of a layer slot (n: 1, 2 or 4), which
// the layer loop's step or end test may read alone: `add word [0x1009],
// 0x110` steps llama2.tf's cache pointer by 0x11000 in 6 bytes where the
// dword's add takes 9, and `cmp byte [0x1005], -0x7b` ends the loop in 5
// where the word's compare takes 6.
type window struct{ lo, n int }

// layerValues are a slot's values from the layer loop's start (0) to
// after its last layer (layers), in width bytes.
func layerValues(start, stride int64, layers, width int) []uint64 {
	mask := uint64(1)<<(8*width) - 1
	v := make([]uint64, layers+1)
	for k := range v {
		v[k] = uint64(start+stride*int64(k)) & mask
	}
	return v
}

// windows are the windows inside a slot of width bytes, narrowest first.
func windows(width int) []window {
	var out []window
	for _, n := range []int{1, 2, 4} {
		for lo := 0; lo+n <= width; lo++ {
			out = append(out, window{lo, n})
		}
	}
	return out
}

func (w window) of(v uint64) uint64 { return v >> (8 * w.lo) & (uint64(1)<<(8*w.n) - 1) }

// stepWindow is the narrowest window whose add of the stride's bytes
// there takes each layer's value to the next: the stride's bytes below
// it are 0, and no carry leaves it.
func stepWindow(start, stride int64, layers, width int) window {
	v := layerValues(start, stride, layers, width)
	d := uint64(stride) & (uint64(1)<<(8*width) - 1)
	for _, w := range windows(width) {
		if d&(uint64(1)<<(8*w.lo)-1) != 0 {
			continue
		}
		bits := w.of(^uint64(0)) << (8 * w.lo) // the window's
		ok := true
		for k := 0; k < layers && ok; k++ {
			sum := (w.of(v[k]) + w.of(d)) << (8 * w.lo) & bits
			ok = v[k]&^bits|sum == v[k+1]
		}
		if ok {
			return w
		}
	}
	return window{0, width}
}

// endWindow is the narrowest window where the value after the last layer
// differs from that after each layer before.
func endWindow(start, stride int64, layers, width int) window {
	v := layerValues(start, stride, layers, width)
	for _, w := range windows(width) {
		ok := true
		for k := 1; k < layers && ok; k++ {
			ok = w.of(v[k]) != w.of(v[layers])
		}
		if ok {
			return w
		}
	}
	return window{0, width}
}

// at is the window of the slot m as a memory operand, and v's bytes
// there as its immediate (signed, as the encoder takes them).
func (w window) at(m x86.Mem, v int64) (x86.Mem, x86.Imm) {
	m.Disp += int32(w.lo)
	m.Size = 8 * w.n
	x := w.of(uint64(v))
	switch w.n {
	case 1:
		return m, x86.Imm(int64(int8(x)))
	case 2:
		return m, x86.Imm(int64(int16(x)))
	}
	return m, x86.Imm(int64(int32(x)))
}

// slotAfter is the value of a layer slot that starts at start and steps
// by stride after the last of layers; slotsAfter, both slots'.
func (l *Layout) slotAfter(start, stride uint32, layers int) int64 {
	return l.layerStart(start) + l.layerStart(stride)*int64(layers)
}

func (l *Layout) slotsAfter(layers int) map[uint16]int64 {
	after := map[uint16]int64{}
	for _, r := range l.layerRegions() {
		after[r.slot] = l.slotAfter(r.start, r.stride, layers)
	}
	return after
}

// layerRegion is a layer region's slot, where the layer loop starts it
// and by how much it steps it.
type layerRegion struct {
	slot          uint16
	start, stride uint32
}

// layerRegions are the params' region and the caches'.
func (l *Layout) layerRegions() []layerRegion {
	return []layerRegion{{addrLayerW, l.LayerW, l.StrideW}, {addrLayerC, l.LayerC, l.StrideC}}
}

// slotWindow is the window of the layer slot m (start, stride: its
// region's) that the layer loop's step or end test reads: all of it, or
// for size the narrowest that pick finds.
func (g *gen) slotWindow(m x86.Mem, start, stride uint32, pick func(start, stride int64, layers, width int) window) window {
	if !g.o.Size {
		return window{0, m.Size / 8}
	}
	return pick(g.l.layerStart(start), g.l.layerStart(stride), g.p.Layers, m.Size/8)
}

// layerStep is the add that steps a layer slot m to the next layer's
// value.
func (g *gen) layerStep(m x86.Mem, start, stride uint32) x86.Inst {
	at, imm := g.slotWindow(m, start, stride, stepWindow).at(m, g.l.layerStart(stride))
	return x86.Inst{Op: x86.ADD, Args: []x86.Operand{at, imm}}
}

// layerEnd compares a region's slot m, which the layer loop starts at
// start and steps by stride, with its value after the last layer (in the
// slot's width, which add wraps in; for size, in the narrowest window
// where no layer before the last leaves it what the last does: `cmp byte
// [0x1005], -0x7b` in llama2.tf, 4 bytes fewer than the dword's).
func (g *gen) layerEnd(m x86.Mem, start, stride uint32) x86.Inst {
	at, imm := g.slotWindow(m, start, stride, endWindow).at(m, g.l.slotAfter(start, stride, g.p.Layers))
	return x86.Inst{Op: x86.CMP, Args: []x86.Operand{at, imm}}
}

// layerStarts sets the layer slots at the layer loop's start: a pinned
// one's register (pinSlots), the others' words.
func (g *gen) layerStarts(slot func(uint16) x86.Mem) {
	for _, s := range g.l.layerRegions() {
		v := g.l.layerStart(s.start)
		if r, ok := g.pins[s.slot]; ok {
			g.i(x86.PUSH, x86.Imm(v))
			g.i(x86.POP, r)
			continue
		}
		g.i(x86.MOV, slot(s.slot), x86.Imm(v))
	}
}

// layerSteps steps the layer slots at the layer loop's end, and ends it
// where the slot `ends` reaches its value after the last layer (none:
// 0). A pinned slot steps through ax, which then holds it for the
// compare: that slot steps last.
func (g *gen) layerSteps(slot func(uint16) x86.Mem, ends uint16) {
	steps := g.l.layerRegions()
	if _, pinned := g.pins[ends]; pinned && ends == addrLayerW {
		steps[0], steps[1] = steps[1], steps[0]
	}
	var last x86.Inst
	for _, s := range steps {
		r, pinned := g.pins[s.slot]
		switch {
		case s.stride == 0:
		case pinned:
			g.i(x86.MOV, x86.AX, r)
			g.i(x86.ADD, x86.AX, x86.Imm(g.l.layerStart(s.stride)))
			g.i(x86.MOV, r, x86.AX)
		default:
			g.prog.Add(g.layerStep(slot(s.slot), s.start, s.stride))
		}
		switch {
		case s.slot != ends:
		case pinned:
			end := g.l.slotAfter(s.start, s.stride, g.p.Layers)
			last = x86.Inst{Op: x86.CMP, Args: []x86.Operand{x86.AX, x86.Imm(int64(int16(end)))}}
		default:
			last = g.layerEnd(slot(s.slot), s.start, s.stride)
		}
	}
	if ends != 0 {
		g.prog.Add(last)
	}
}
