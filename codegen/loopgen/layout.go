// Package loopgen is the code generator of the loop-level IR (lir): it
// selects x86 instructions for every lir operation with virtual registers,
// allocates all of them (spilling where seven registers do not suffice),
// and lays the buffers out in the flat memory model (unreal mode). It
// takes any program the language accepts, whatever its shape or ops.
package loopgen

import (
	"encoding/binary"
	"fmt"
	"slices"

	x86 "tfc/codegen/x86_16"
	"tfc/ir"
	"tfc/lir"
)

// Low memory, reached with 16-bit addresses: the generation loop's
// scalars, the layer pointers and the kernels' spill slots. One name a
// slot. They keep off the pages of code (the loader's and the boot
// sector's at 0x7000, the main code's from 0x7E00): under QEMU's TCG every
// write to a page that holds translated code takes a slow path.
const (
	addrTok    = 0x1000 // word: the current token
	addrPos    = 0x1002 // word: its position
	addrLayerW = 0x1004 // dword: this layer's params (segmented: their segment, a word)
	addrLayerC = 0x1008 // dword: this layer's caches (segmented: their segment, a word)
	addrLayerN = 0x100C // word: layers left
	addrClock  = 0x1010 // qword: bench builds: rdtsc at the start
	addrSteps  = 0x1018 // dword: bench builds: forward passes run
	// Segmented: the global groups' segments, words (layout_seg.go).
	addrSegs    = 0x101C
	addrSegsEnd = 0x1040
	// The generation and layer loops write [invariantFrom, invariantTo):
	// no kernel does, so the allocator loads a value from there again
	// rather than spill it (regalloc.Options.Invariant).
	invariantFrom = addrTok
	invariantTo   = addrSegsEnd
	addrArgs      = 0x1040 // qwords: a proc's arguments
	addrArgsEnd   = 0x1100
	// A kernel's spilled values, in dwords: an op's from spillBase, a
	// proc's from procSpillBase (an op's live across its calls).
	spillBase     = 0x1100
	procSpillBase = 0x3800
	spillEnd      = 0x5800
	// Profile builds: the time stamp counter at an op's call, then a
	// qword of counts an op.
	addrProfT   = 0x5800
	addrProf    = 0x5808
	addrProfEnd = 0x6000
)

// LowActivations is where the flat model puts the activations (vars,
// scratch, the chosen token) when they fit one 64 KiB segment: in
// conventional memory that the loader's bounce buffer (0x10000-0x17FFF)
// no longer needs, reached through ES (Layout.Low) with 16-bit offsets as
// the segmented model reaches its activations, where their linear
// addresses above 1 MiB would take a 32-bit displacement and 32-bit
// addressing. A buffer's Addr stays its linear address.
const LowActivations = 0x20000

// Zero placement (LayoutOptions.Zero): the activations at the top of
// segment 0, from ZeroFrom at the lowest, where DS, ES and SS (all 0)
// reach them with no segment prefix; the code must end on a 4 KiB page
// below theirs (TCG: CodeFits), from 0x7E00.
const (
	ZeroFrom = 0x9000
	zeroEnd  = 0x10000
)

// LowActivationsFit: f's activations fit LowActivations's segment.
func LowActivationsFit(f *lir.Func) bool {
	return activationBytes(f) <= SegmentBytes
}

// activationBytes is the memory f's activations take, each 8-aligned.
func activationBytes(f *lir.Func) uint64 {
	var n uint64
	for _, b := range f.Bufs {
		if b.Activation() {
			n = (n+7)&^7 + uint64(b.Size)
		}
	}
	return n
}

// LayoutOptions are how NewLayout lays a Func out.
type LayoutOptions struct {
	// SizesOnly (tfc check): every buffer placed, no data written
	// (DataLen says its length): a large model's data is hundreds of
	// megabytes that only the image needs.
	SizesOnly bool
	// Zero: the activations at the top of segment 0 where they fit
	// above ZeroFrom (the size policy: no ES prefix), else as without.
	Zero bool
	// AlignLayers: the flat model's layer regions on strides of 256
	// bytes (the size policy: the layer loop then steps a slot's upper
	// bytes alone, stepWindow), where their size is not one already.
	AlignLayers bool
	// LowTables: with the Zero placement, the tables in segment 0 below
	// the activations, where they fit (lowtables.go).
	LowTables bool
	// LowPieces: with the Zero placement, the console's piece table in
	// segment 0 below the tables (or the activations), where it fits
	// (lowtables.go); not for a piece table with more after it (a typed
	// prompt's tables).
	LowPieces bool
}

// layerAlign is what the flat model's layer regions' strides are a
// multiple of.
func (o LayoutOptions) layerAlign() uint32 {
	if o.AlignLayers {
		return 256
	}
	return 16
}

// zeroStart is where the Zero placement puts f's activations, at the top
// of segment 0, where o asks for it and they fit above ZeroFrom.
func zeroStart(f *lir.Func, o LayoutOptions) (uint32, bool) {
	n := activationBytes(f)
	if !o.Zero || n > zeroEnd-ZeroFrom {
		return 0, false
	}
	return uint32(zeroEnd-n) &^ 15, true
}

// CodeFits: code of n bytes from addr ends on a page below the
// activations' when they lie in segment 0 (Zero placement, flat or
// segmented).
func (l *Layout) CodeFits(addr uint32, n int) bool {
	end := uint64(addr) + uint64(n)
	return l.zeroAt == 0 || end <= uint64(l.zeroAt&^0xFFF) && (l.tablesAt == 0 || end <= uint64(l.tablesAt)) &&
		(l.piecesAt == 0 || end <= uint64(l.piecesAt))
}

// DataAddr is where the image's data is loaded: flat, at 1 MiB, above
// everything real mode reaches without unreal mode; segmented, at 64 KiB.
const (
	DataAddr          = 0x100000
	SegmentedDataAddr = 0x10000
)

// Layout places a Func's buffers: the data the image loads (the tokenizer's
// pieces first, where the console's print_piece reads them, then params,
// tables, the sampler's state and the prompt), then the memory it computes
// in (vars, scratch, the chosen token, the caches). A per-layer buffer has
// an offset in its layer's region: params in one (W), caches in another (C).
type Layout struct {
	// Segmented: buffers are reached through segment registers (layout_seg.go).
	Segmented bool
	// Low (flat): the activations lie in one 64 KiB segment of low
	// memory at linear LowBase, which ES holds in the kernels (lowSeg):
	// LowActivations, or 0, segment 0, where DS reaches them with no
	// prefix as ES does (the Zero placement: from zeroAt). Else they lie
	// above 1 MiB.
	Low     bool
	LowBase uint32
	zeroAt  uint32
	// esOffsets (Low): the registers whose values are offsets in ES's
	// segment, not linear addresses (esOffsets in espointers.go).
	esOffsets map[lir.Reg]bool
	// Segmented: each global buffer's group (the slot of its segment),
	// and the groups' segments, the activations' first.
	Group    map[*lir.Buf]Group
	Segs     []SegSlot
	DataAddr uint32 // where Data is loaded
	Data     []byte
	Pieces   uint32
	Prompt   uint32 // the prompt's tokens, words
	NPrompt  int
	// Addr is a buffer's linear address, or for a per-layer buffer its
	// offset in every layer's region.
	Addr            map[*lir.Buf]uint32
	LayerW, StrideW uint32
	LayerC, StrideC uint32
	End             uint32 // first byte past everything
	next            *lir.Buf
	layers          int
	promptTokens    []int
	// sized (NewLayout's sizesOnly): the data's bytes are counted in n,
	// not written; Data stays empty.
	sized bool
	n     int
	// tables lie in segment 0 from tablesAt (LowTables).
	tables   []*lir.Buf
	tablesAt uint32
	// The piece table lies in segment 0 from piecesAt (LowPieces), its
	// bytes pieces (PutPieces).
	pieces   []byte
	piecesAt uint32
}

// PiecesAddr is where the layouts put the console's piece table: first in
// the data.
func PiecesAddr(segmented bool) uint32 {
	if segmented {
		return SegmentedDataAddr
	}
	return DataAddr
}

func align(n, a uint32) uint32 { return (n + a - 1) / a * a }

// NewLayout lays f out for p; pieces is the console's piece table, prompt
// the prompt's tokens.
func NewLayout(p *ir.Program, f *lir.Func, pieces []byte, prompt []int, o LayoutOptions) (*Layout, error) {
	l := &Layout{DataAddr: DataAddr, Addr: map[*lir.Buf]uint32{}, layers: p.Layers, promptTokens: prompt, sized: o.SizesOnly}
	lowTables := LowActivationsFit(f) && tablesLow(f, o)
	here := func() uint64 { return DataAddr + uint64(l.DataLen()) }
	pad := l.pad
	if at, ok := lowPiecesAt(f, o, len(pieces)); ok && LowActivationsFit(f) {
		l.Pieces, l.piecesAt, l.pieces = at, at, pieces
	} else {
		l.Pieces = PiecesAddr(false)
		l.put(pieces)
		pad(16)
	}
	// Loaded: global params, tables, state; then the layer region.
	var layered []*lir.Buf
	for _, b := range f.Bufs {
		switch {
		case b.Kind == lir.BufParam && b.PerLayer:
			layered = append(layered, b)
		case b.Kind == lir.BufParam:
			pad(4)
			l.Addr[b] = uint32(here())
			l.putParam(b, 0)
		case b.Kind == lir.BufTable && !lowTables:
			pad(4)
			l.Addr[b] = uint32(here())
			l.put(tableBytes(b))
		case b.Kind == lir.BufState:
			pad(8)
			l.Addr[b] = uint32(here())
			l.put(b.Init)
		}
	}
	pad(4)
	l.Prompt, l.NPrompt = uint32(here()), len(prompt)
	l.put(promptBytes(prompt))
	pad(16)
	l.LayerW = uint32(here())
	var off uint32
	for _, b := range layered {
		l.Addr[b] = off
		off = align(off+uint32(b.Size), 4)
	}
	l.StrideW = align(off, o.layerAlign())
	l.appendLayers(layered)
	if here() >= 1<<32 {
		return nil, fmt.Errorf("the data is %d bytes, more than fit from 1 MiB below 4 GiB", l.DataLen())
	}
	// Computed: vars, scratch, the token (in low memory where they fit
	// its 64 KiB: Low); then the caches' region.
	at := uint64(align(uint32(here()), 16))
	low := LowActivationsFit(f)
	if low {
		l.Low, l.LowBase, l.Group = true, LowActivations, map[*lir.Buf]Group{}
		if at, ok := zeroStart(f, o); ok {
			l.LowBase, l.zeroAt = 0, at
			if lowTables {
				l.placeLowTables(f, activations)
			}
		}
	}
	lowAt := uint64(l.LowBase)
	if l.zeroAt != 0 {
		lowAt = uint64(l.zeroAt)
	}
	var caches []*lir.Buf
	for _, b := range f.Bufs {
		switch {
		case b.Activation():
			if low {
				lowAt = (lowAt + 7) &^ 7
				l.Addr[b], l.Group[b] = uint32(lowAt), activations
				lowAt += uint64(b.Size)
			} else {
				at = (at + 7) &^ 7
				l.Addr[b] = uint32(at)
				at += uint64(b.Size)
			}
			if b.Kind == lir.BufNext {
				l.next = b
			}
		case b.Kind == lir.BufCache || b.Kind == lir.BufCacheShifts:
			caches = append(caches, b)
		}
	}
	at = (at + 15) &^ 15
	l.LayerC = uint32(at)
	off = 0
	for _, b := range caches {
		l.Addr[b] = off
		off = align(off+uint32(b.Size), 4)
	}
	l.StrideC = align(off, o.layerAlign())
	end := at + uint64(l.StrideC)*uint64(p.Layers)
	if end >= 1<<32 {
		return nil, fmt.Errorf("needs %d bytes of memory from %#x, more than 4 GiB", end-DataAddr, DataAddr)
	}
	l.End = uint32(end)
	return l, nil
}

// base is the linear address of buffer b (global) or its offset in its
// layer's region (per-layer), and the low-memory slot that holds that
// region's pointer. Segmented, every address is an offset in its group's
// segment (Group).
func (l *Layout) base(b *lir.Buf) (addr uint32, region uint16) {
	a, ok := l.Addr[b]
	if !ok {
		panic(fmt.Sprintf("BUG: loopgen: buffer %s has no address", b.Name))
	}
	switch {
	case l.Segmented:
		return a, 0 // its group says where
	case !b.PerLayer:
		return a, 0
	case b.Kind == lir.BufParam:
		return a, addrLayerW
	}
	return a, addrLayerC
}

// layerStart and layerStep are the values the layer loop starts a
// region's slot at and steps it by: a linear address, or a segment.
func (l *Layout) layerStart(a uint32) int64 {
	if l.Segmented {
		return int64(a >> 4)
	}
	return int64(a)
}

// DataLen is the length of the data the image loads.
func (l *Layout) DataLen() int {
	if l.sized {
		return l.n
	}
	return len(l.Data)
}

// put appends b to the data (sized: counts it).
func (l *Layout) put(b []byte) {
	if l.sized {
		l.n += len(b)
		return
	}
	l.Data = append(l.Data, b...)
}

// putZeros appends n zeros (none when n <= 0: padding up to a length
// the data has reached).
func (l *Layout) putZeros(n int) {
	if n <= 0 {
		return
	}
	if l.sized {
		l.n += n
		return
	}
	l.Data = append(l.Data, make([]byte, n)...)
}

// putParam appends param buffer b's slice of layer li as the image stores
// it (lir.ParamBytes, of b.Size bytes).
func (l *Layout) putParam(b *lir.Buf, li int) {
	if l.sized {
		l.n += int(b.Size)
		return
	}
	l.Data = append(l.Data, lir.ParamBytes(b, li)...)
}

// tableBytes is table buffer b as stored: int32s.
func tableBytes(b *lir.Buf) []byte {
	var d []byte
	for _, v := range b.Of.(*ir.Table).Data {
		d = binary.LittleEndian.AppendUint32(d, uint32(v))
	}
	return d
}

// promptBytes is the prompt as stored: words.
func promptBytes(prompt []int) []byte {
	var d []byte
	for _, t := range prompt {
		d = binary.LittleEndian.AppendUint16(d, uint16(t))
	}
	return d
}

// pad appends zeros to the data up to a multiple of a bytes.
func (l *Layout) pad(a int) {
	l.putZeros((a - l.DataLen()%a) % a)
}

// appendLayers appends every layer's region of the per-layer params, each
// param at its offset in the region: its part's start (segmented: the
// region's group, Group.Add; flat: 0) and its offset in that part.
func (l *Layout) appendLayers(layered []*lir.Buf) {
	if !l.sized {
		// Every layer's region at once: one allocation, not one per doubling.
		l.Data = slices.Grow(l.Data, int(l.StrideW)*l.layers)
	}
	for li := 0; li < l.layers; li++ {
		start := l.DataLen()
		for _, b := range layered {
			l.putZeros(start + int(uint32(l.Group[b].Add)<<4+l.Addr[b]) - l.DataLen())
			l.putParam(b, li)
		}
		l.putZeros(start + int(l.StrideW) - l.DataLen())
	}
}

// lowSeg is the segment of the low activations (Low), ES's in forward.
func (l *Layout) lowSeg() uint16 { return uint16(l.LowBase >> 4) }

// lowReg is the segment register that the kernels name for the low
// activations: ES, or DS in segment 0 (plainDS drops it: DS, ES and SS
// are all 0 there, a base of bp included).
func (l *Layout) lowReg() x86.Reg {
	if l.lowInZero() {
		return x86.DS
	}
	return x86.ES
}

// lowInZero: the flat model's low activations lie in segment 0 (the Zero
// placement), where ES is DS.
func (l *Layout) lowInZero() bool { return l.Low && l.zeroAt != 0 }

// withoutDS is in with plainDS's operands.
func withoutDS(in x86.Inst) x86.Inst {
	for j, a := range in.Args {
		if m, ok := a.(x86.Mem); ok && m.Seg == x86.DS {
			in.Args = slices.Clone(in.Args)
			in.Args[j] = plainDS(m)
		}
	}
	return in
}

// plainDS is m with no segment where it names DS: only the Zero
// placement's activations do (lowReg), which every segment reaches.
func plainDS(m x86.Mem) x86.Mem {
	if m.Seg == x86.DS {
		m.Seg = x86.NoReg
	}
	return m
}
