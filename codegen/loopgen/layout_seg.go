package loopgen

import (
	"fmt"
	"sort"

	"tfc/ir"
	"tfc/lir"
	"tfc/runtime"
)

// The segmented memory model: plain real mode, everything below 640 KiB,
// each byte reached through a segment register and a 16-bit offset. The
// buffers fall in groups of at most 64 KiB, each a segment whose value
// waits in a low-memory slot, which a kernel loads in a segment register
// (es, fs or gs) at its entry:
//
//	addrLayerW  this layer's params (in parts of at most 64 KiB: the
//	            slot's segment and the part's start)
//	addrLayerC  this layer's caches (the same)
//	addrSegs    the activations (vars, scratch, the chosen token, the
//	            sampler's state, the prompt's tokens) with as many of the
//	            global params and tables as fit (a constant, which ES
//	            holds and calls pass as an immediate: the slot stays
//	            unused); then each other global param or table
//	            in a segment of its own (the first of them may take
//	            small globals too: layerFedGlobals)
//
// A kernel that reaches more than three groups has no segment register
// left: the model then takes the flat memory model. No register holds a
// buffer's address (lir.Func.Segmented).

// NewSegmentedLayout lays f out for p in the segmented model: the piece
// table at 64 KiB (a segment's offset 0, as the console reads it), the
// layers' params, the global groups, then the layers' caches.
func NewSegmentedLayout(p *ir.Program, f *lir.Func, pieces []byte, prompt []int, o LayoutOptions) (*Layout, error) {
	l := &Layout{Segmented: true, DataAddr: SegmentedDataAddr, Addr: map[*lir.Buf]uint32{}, Group: map[*lir.Buf]Group{},
		layers: p.Layers, promptTokens: prompt}
	here := func() uint32 { return SegmentedDataAddr + uint32(l.DataLen()) }
	pad := l.pad
	if at, ok := lowPiecesAt(f, o, len(pieces)); ok {
		l.Pieces, l.piecesAt, l.pieces = at, at, pieces
	} else {
		l.Pieces = PiecesAddr(true)
		l.put(pieces)
		pad(16)
	}
	// The layers' params.
	var layered, globals, computed []*lir.Buf
	var states []*lir.Buf
	lowTables := tablesLow(f, o)
	for _, b := range f.Bufs {
		switch {
		case b.Kind == lir.BufParam && b.PerLayer:
			layered = append(layered, b)
		case b.Kind == lir.BufParam || b.Kind == lir.BufTable && !lowTables:
			globals = append(globals, b)
		case b.Kind == lir.BufState:
			states = append(states, b)
		case b.Activation():
			computed = append(computed, b)
		}
	}
	l.LayerW = here()
	var err error
	if l.StrideW, err = l.region(layered, addrLayerW); err != nil {
		return nil, err
	}
	l.appendLayers(layered)
	// The computed activations at the top of segment 0 where they fit
	// (the Zero placement: DS reaches them), else in the activations'
	// group: what it must hold, then the smallest globals while they fit.
	need := uint32(0)
	if at, ok := zeroStart(f, o); ok {
		l.zeroAt = at
		for _, b := range computed {
			at = align(at, 8)
			l.Group[b], l.Addr[b] = zeroGroup, at
			at += uint32(b.Size)
			if b.Kind == lir.BufNext {
				l.next = b
			}
		}
		computed = nil
		if lowTables {
			l.placeLowTables(f, zeroGroup)
		}
	}
	for _, b := range computed {
		need = align(need, 8) + uint32(b.Size)
	}
	for _, b := range states {
		need = align(need, 8) + uint32(b8(b))
	}
	need += uint32(2*len(prompt)) + 16
	var shared, own []*lir.Buf
	sort.SliceStable(globals, func(i, j int) bool { return globals[i].Size < globals[j].Size })
	for _, b := range globals {
		if need+uint32(globalBytes(b))+4 <= SegmentBytes {
			need += uint32(globalBytes(b)) + 4
			shared = append(shared, b)
		} else {
			own = append(own, b)
		}
	}
	// The globals of their own segments, in f's order; the activations'
	// group, last in memory, has the first slot.
	first := uint16(addrSegs)
	slot := first + 2
	newGroup := func() (uint16, error) {
		pad(16)
		if slot+2 > addrSegsEnd {
			return 0, segErrorf("more than %d global params and tables of their own 64 KiB segments", (addrSegsEnd-addrSegs)/2-1)
		}
		l.Segs = append(l.Segs, SegSlot{Slot: slot, Seg: uint16(here() >> 4)})
		slot += 2
		return slot - 2, nil
	}
	// The globals that a proc is passed where calls in the layers pass a
	// layer's params (rms_final where rms_att is, wcls where wo is) go
	// first, right after the layers' params, whose slot's register holds
	// that segment when the loop ends (layerSlotArgs): a group of its own
	// that is so passed first, and the activations' small ones at its
	// start (untied-random's rms_final, 14 bytes), where they fit.
	withLayers := layerFedGlobals(f)
	own = inOrder(f, own)
	sort.SliceStable(own, func(i, j int) bool { return withLayers[own[i]] && !withLayers[own[j]] })
	var lead []*lir.Buf
	if len(own) > 0 && withLayers[own[0]] {
		var rest []*lir.Buf
		for _, b := range shared {
			if withLayers[b] {
				lead = append(lead, b)
			} else {
				rest = append(rest, b)
			}
		}
		lead = inOrder(f, lead)
		if leadBytes(lead)+uint32(globalBytes(own[0])) <= SegmentBytes {
			shared = rest
		} else {
			lead = nil
		}
	}
	for i, b := range own {
		if globalBytes(b) > SegmentBytes {
			return nil, segErrorf("%s is %d bytes, more than a 64 KiB segment", b.Name, globalBytes(b))
		}
		s, err := newGroup()
		if err != nil {
			return nil, err
		}
		start := here()
		if i == 0 {
			for _, e := range lead {
				l.Group[e], l.Addr[e] = Group{Slot: s}, here()-start
				l.appendGlobal(e)
				pad(4)
			}
		}
		l.Group[b], l.Addr[b] = Group{Slot: s}, here()-start
		l.appendGlobal(b)
	}
	// The activations' group: loaded (globals, state, prompt), then
	// computed past the data's end.
	pad(16)
	g := here()
	l.Segs = append(l.Segs, SegSlot{Slot: first, Seg: uint16(g >> 4)})
	at := func() uint32 { return here() - g }
	for _, b := range inOrder(f, shared) {
		pad(4)
		l.Group[b], l.Addr[b] = Group{Slot: first}, at()
		l.appendGlobal(b)
	}
	for _, b := range states {
		pad(8)
		l.Group[b], l.Addr[b] = Group{Slot: first}, at()
		l.put(b.Init)
	}
	pad(4)
	l.Prompt, l.NPrompt = at(), len(prompt)
	l.put(promptBytes(prompt))
	end := uint64(at())
	for _, b := range computed {
		end = (end + 7) &^ 7
		l.Group[b], l.Addr[b] = Group{Slot: first}, uint32(end)
		end += uint64(b.Size)
		if b.Kind == lir.BufNext {
			l.next = b
		}
	}
	if end > SegmentBytes {
		return nil, segErrorf("the activations are %d bytes, more than a 64 KiB segment", end)
	}
	// The caches' region.
	c := align(g+uint32(end), 16)
	l.LayerC = c
	var caches []*lir.Buf
	for _, b := range f.Bufs {
		switch b.Kind {
		case lir.BufCache, lir.BufCacheShifts:
			caches = append(caches, b)
		}
	}
	if l.StrideC, err = l.region(caches, addrLayerC); err != nil {
		return nil, err
	}
	all := uint64(c) + uint64(l.StrideC)*uint64(p.Layers)
	if all > runtime.ConventionalTop {
		return nil, segErrorf("needs %d bytes of memory from %#x, %d are below %#x", all-SegmentedDataAddr, SegmentedDataAddr, runtime.ConventionalTop-SegmentedDataAddr, runtime.ConventionalTop)
	}
	l.End = uint32(all)
	// A proc's segments: offset 0 in a buffer's group, or in the
	// segment it is passed (no group).
	for _, b := range f.Bufs {
		if b.Kind == lir.BufSegment {
			l.Addr[b] = 0
			if in, ok := b.Of.(*lir.Buf); ok {
				l.Group[b] = l.Group[in]
			}
		}
	}
	return l, nil
}

// leadBytes is what bs take laid out one after another, each from a
// multiple of 4.
func leadBytes(bs []*lir.Buf) uint32 {
	n := uint32(0)
	for _, b := range bs {
		n = align(n+uint32(globalBytes(b)), 4)
	}
	return n
}

// layerFedGlobals are the global params that a call after the layer loop
// passes as a segment to a proc's param where a call in the loop passes a
// layer's param.
func layerFedGlobals(f *lir.Func) map[*lir.Buf]bool {
	type param struct {
		pr *lir.Proc
		i  int
	}
	fed := map[param]bool{}
	after := map[param][]*lir.Buf{}
	forOps(f, func(op *lir.Node, where place) {
		seg := map[lir.Reg]*lir.Buf{}
		lir.Walk(op.Body, func(n *lir.Node) {
			if n.Kind == lir.NInst && n.Inst.Op == lir.OpSeg {
				seg[n.Inst.Dst] = n.Inst.Mem.Buf
			}
		})
		lir.Walk(op.Body, func(n *lir.Node) {
			if n.Kind != lir.NCall {
				return
			}
			for i, a := range n.Args {
				b := seg[a]
				switch {
				case b == nil || b.Kind != lir.BufParam:
				case where == inLayers && b.PerLayer:
					fed[param{n.Proc, i}] = true
				case where == afterLayers && !b.PerLayer:
					after[param{n.Proc, i}] = append(after[param{n.Proc, i}], b)
				}
			}
		})
	})
	out := map[*lir.Buf]bool{}
	for p, bs := range after {
		for _, b := range bs {
			out[b] = out[b] || fed[p]
		}
	}
	return out
}

// Segments numbers each buffer's group, from 1 in f's order of buffers:
// lir.Func.Segment, for the passes.
func (l *Layout) Segments(f *lir.Func) map[*lir.Buf]int {
	seg := map[*lir.Buf]int{}
	num := map[Group]int{activations: lir.Activations, zeroGroup: lir.Zero}
	for _, b := range f.Bufs {
		gr, ok := l.Group[b]
		if !ok {
			continue
		}
		if num[gr] == 0 {
			num[gr] = len(num) + 1
		}
		seg[b] = num[gr]
	}
	return seg
}

// region places the per-layer buffers bs in a layer's region whose
// segment slot holds: in parts of at most 64 KiB, each a group, its
// segment the slot's plus the part's start. It returns the region's size.
func (l *Layout) region(bs []*lir.Buf, slot uint16) (uint32, error) {
	var start, off uint32
	for _, b := range bs {
		if b.Size > SegmentBytes {
			return 0, segErrorf("%s is %d bytes, more than a 64 KiB segment", b.Name, b.Size)
		}
		if off+uint32(b.Size)-start > SegmentBytes {
			start = align(off, 16)
			off = start
		}
		l.Addr[b] = off - start
		l.Group[b] = Group{Slot: slot, Add: uint16(start >> 4)}
		off = align(off+uint32(b.Size), 4)
	}
	return align(off, 16), nil
}

// Group is a group of buffers of the segmented model: its segment is the
// word at Slot in low memory, plus Add.
type Group struct{ Slot, Add uint16 }

// activations is the activations' group (addrSegs), lir's segment
// Activations: ES holds it in every kernel (segRegs).
var activations = Group{Slot: addrSegs}

// zeroGroup is segment 0's (lir's segment Zero): the computed
// activations of the Zero placement, which DS reaches in every kernel
// (no load, no prefix: plainDS). Its slot is no slot.
var zeroGroup = Group{Slot: 1}

// SegSlot is a global group's segment and the low-memory word that holds
// it while the image runs.
type SegSlot struct{ Slot, Seg uint16 }

// activationsSeg is the activations' segment (segmented; 0 flat), which
// no code reads from its slot: forward loads ES with it (push, pop es:
// the 4 bytes of mov es, [slot]), a call passes it as an immediate, and
// generate stores no slot for it (6 bytes).
func (l *Layout) activationsSeg() uint16 {
	for _, s := range l.Segs {
		if s.Slot == activations.Slot {
			return s.Seg
		}
	}
	return 0
}

// globalBytes is the size of a global param or table as stored.
func globalBytes(b *lir.Buf) int {
	if b.Kind == lir.BufTable {
		return 4 * len(b.Of.(*ir.Table).Data)
	}
	return int(b.Size)
}

func (l *Layout) appendGlobal(b *lir.Buf) {
	if b.Kind == lir.BufTable {
		l.put(tableBytes(b))
		return
	}
	l.putParam(b, 0)
}

// inOrder is bs in f's order of buffers.
func inOrder(f *lir.Func, bs []*lir.Buf) []*lir.Buf {
	in := map[*lir.Buf]bool{}
	for _, b := range bs {
		in[b] = true
	}
	var out []*lir.Buf
	for _, b := range f.Bufs {
		if in[b] {
			out = append(out, b)
		}
	}
	return out
}

func b8(b *lir.Buf) int { return len(b.Init) }

// SegmentBytes is a segment's reach: the most a buffer of the segmented
// memory model may take.
const SegmentBytes = 0x10000

// A SegmentedError says why a program does not fit the segmented model
// (which the flat one may take instead).
type SegmentedError struct{ Msg string }

func (e *SegmentedError) Error() string { return e.Msg }

func segErrorf(format string, args ...any) error {
	return &SegmentedError{fmt.Sprintf(format, args...)}
}

// Linear is a global buffer's linear address, for code outside the
// generated kernels (the typed prompt's parameter lines).
func (l *Layout) Linear(b *lir.Buf) uint32 {
	if !l.Segmented {
		return l.Addr[b]
	}
	if seg, ok := l.globalSeg(b); ok {
		return uint32(seg)<<4 + l.Addr[b]
	}
	panic(fmt.Sprintf("BUG: loopgen: buffer %s has no segment", b.Name))
}

// globalSeg is the segment of b where its group is a global one (its
// slot's value stored once, known when compiling).
func (l *Layout) globalSeg(b *lir.Buf) (uint16, bool) {
	g := l.Group[b]
	if g == zeroGroup {
		return 0, true
	}
	for _, s := range l.Segs {
		if s.Slot == g.Slot {
			return s.Seg + g.Add, true
		}
	}
	return 0, false
}

// SelfTestAddrs are the token's and position's words and the linear
// addresses of the logits (the final op's input) and of the sampler's
// state (0 without one), for runtime.SelfTest.
func (l *Layout) SelfTestAddrs(p *ir.Program, f *lir.Func) (tok, pos uint16, logits, rng uint32) {
	post := p.Blocks[ir.PostBlock]
	r, off := post[len(post)-1].Args[0].Root()
	for _, b := range f.Bufs {
		switch {
		case b.Kind == lir.BufVar && b.Of == r:
			logits = l.Linear(b) + uint32(4*off)
		case b.Kind == lir.BufState && b.Name == "rng":
			rng = l.Linear(b)
		}
	}
	return addrTok, addrPos, logits, rng
}
