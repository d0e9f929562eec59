package golden_test

// The memory map the handwritten kernels were written for: the small code
// generator's (retired), kept here to lay out their inputs. Scalars in
// low memory at 0x500, vars above them, the data at 1 MiB (flat) or 64 KiB
// (segmented), each layer's weights and caches in regions the layer
// pointers step through.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"tfc/ir"
	"tfc/runtime"
)

// The scalars the handwritten kernels read, in low memory below the boot
// sector, where a 16-bit absolute address reaches them in the shortest
// encodings.
const (
	scalarBase = 0x0500
	addrTok    = scalarBase + 0  // word: the current token
	addrPos    = scalarBase + 2  // word: its position
	addrNext   = scalarBase + 4  // word: the token chosen
	addrLayerW = scalarBase + 12 // dword: this layer's weights
	addrLayerC = scalarBase + 16 // dword: this layer's cache
)

// Where each memory model puts things. Flat: data at 1 MiB, above all the
// memory real mode reaches without unreal mode, and everything computed
// after it. Segmented: data at 64 KiB in conventional memory, the caches
// after it, the vars in low memory below the stack.
const (
	FlatDataAddr      = 0x100000
	SegmentedDataAddr = 0x10000
	segVarBase        = 0x0600
	segVarEnd         = runtime.StackTop - 0x400 // 1 KiB of stack, which the boot sector sets
	// ConventionalTop is the end of conventional memory the image may use
	// (runtime.ConventionalTop; the EBDA starts there).
	ConventionalTop = 0x9FC00
	segmentSize     = 0x10000
)

// ParamLoc says where a param is stored: at Addr (absolute), or for a
// per-layer param at Addr within every layer's region.
type ParamLoc struct {
	Addr     uint32
	PerLayer bool
	// RowBytes is the distance between rows: the weights of a row and,
	// for per-row scales, the row's multiplier in front of them.
	RowBytes int
}

// CacheLoc gives a cache's offsets within every layer's cache region: one
// record of Rec bytes per position, at K: per head its shift byte then its
// keys, then (at V) the same for the values, so that one pointer walks
// shifts and values.
type CacheLoc struct {
	K, V, Rec uint32
}

// Layout is the memory map of an image. In the segmented model every
// address of the data and the caches is linear and 16-byte aligned: the code
// reaches it through a segment register set to address>>4.
type Layout struct {
	Segmented    bool
	DataAddr     uint32
	Data         []byte // loaded at DataAddr
	Params       map[*ir.Param]*ParamLoc
	LayerBase    uint32 // the first layer's region of per-layer params
	LayerStride  uint32
	Pieces       uint32
	Prompt       uint32 // prompt tokens, words
	NPrompt      int
	PromptTokens []int

	// Memory the image computes in, after the data.
	Vars        map[*ir.Var]uint32
	Att         uint32 // attention scores, Context dwords
	Acc         uint32 // attention's 64-bit sums, one per head element, then a dword
	Caches      map[*ir.Cache]*CacheLoc
	CacheBase   uint32
	CacheStride uint32
	End         uint32 // first byte past everything
}

// elemBytes is the size of one stored weight.
func elemBytes(q *ir.Param) int { return q.Q.Bits / 8 }

// sliceBytes is the size of one layer's slice of q as stored. A quantized
// param stores every row as its multiplier then its weights, whatever its
// scale groups (a per-tensor multiplier is repeated on every row): the
// multipliers are data, and one row format keeps one matmul kernel and lets
// any matmuls fuse.
func sliceBytes(q *ir.Param) (slice, row int) {
	if q.Quant.Type == "fixed" {
		return q.Rows * q.Cols * 4, q.Cols * 4
	}
	row = 4 + q.Cols*elemBytes(q)
	return q.Rows * row, row
}

// appendSlice writes layer l of q in its stored form.
func appendSlice(b []byte, q *ir.Param, l int) []byte {
	eb := elemBytes(q)
	put := func(v int32, n int) {
		switch n {
		case 1:
			b = append(b, byte(int8(v)))
		case 2:
			b = binary.LittleEndian.AppendUint16(b, uint16(int16(v)))
		default:
			b = binary.LittleEndian.AppendUint32(b, uint32(v))
		}
	}
	w := q.Slice(l)
	if q.Quant.Type == "fixed" {
		for _, v := range w {
			put(v, 4)
		}
		return b
	}
	for r := 0; r < q.Rows; r++ {
		put(q.Mult(l, r), 4)
		for _, v := range w[r*q.Cols : (r+1)*q.Cols] {
			put(v, eb)
		}
	}
	return b
}

func align(n, a uint32) uint32 { return (n + a - 1) / a * a }

// NewLayout places everything a compiled program needs. pieces is the
// tokenizer's data for the console, prompt the prompt's tokens.
// LayoutOptions choose the memory model. In both, the vars and scratch
// buffers go in low memory (16-bit addresses), and the tables and the
// prompt after the code, where 16-bit addresses reach them too.
type LayoutOptions struct {
	Segmented bool
}

func NewLayout(p *ir.Program, o LayoutOptions, pieces []byte, prompt []int) (*Layout, error) {
	segmented := o.Segmented
	dataAddr, unit := uint32(FlatDataAddr), uint32(4)
	if segmented {
		dataAddr, unit = SegmentedDataAddr, 16
	}
	l := &Layout{Segmented: segmented, DataAddr: dataAddr, Params: map[*ir.Param]*ParamLoc{},
		Vars: map[*ir.Var]uint32{}, Caches: map[*ir.Cache]*CacheLoc{}}
	here := func() uint32 { return dataAddr + uint32(len(l.Data)) }
	pad := func(a uint32) {
		a = max(a, unit)
		for uint32(len(l.Data))%a != 0 {
			l.Data = append(l.Data, 0)
		}
	}
	var errs []error
	if !segmented {
		// First, at 1 MiB, where segment FFFFh reaches it (the console's
		// shorter print_piece).
		l.Pieces = here()
		l.Data = append(l.Data, pieces...)
		pad(16)
	}
	fits := func(what string, n uint32) {
		if segmented && n > segmentSize {
			errs = append(errs, fmt.Errorf("%s is %d bytes, more than a 64 KiB segment", what, n))
		}
	}
	// Params in the order the ops use them, so that a fused matmul's
	// params lie back to back; per-layer params go to the layer region.
	var global, layer []*ir.Param
	seen := map[*ir.Param]bool{}
	use := func(q *ir.Param) {
		if seen[q] {
			return
		}
		seen[q] = true
		if q.PerLayer {
			layer = append(layer, q)
		} else {
			global = append(global, q)
		}
	}
	// A fused matmul reads its params as one run of rows: no padding
	// between them (ir.fuseMatmuls fuses only params no other op reads).
	follows := map[*ir.Param]bool{}
	p.Ops(func(_ int, op *ir.Op) {
		for i, q := range op.Params {
			use(q)
			follows[q] = op.Kind == ir.MatMul && i > 0
		}
	})
	for _, q := range global {
		if !follows[q] {
			pad(4)
		}
		slice, row := sliceBytes(q)
		fits("param "+q.Name, uint32(slice))
		l.Params[q] = &ParamLoc{Addr: here(), RowBytes: row}
		l.Data = appendSlice(l.Data, q, 0)
	}
	pad(16)
	l.LayerBase = here()
	var off uint32
	for _, q := range layer {
		slice, row := sliceBytes(q)
		l.Params[q] = &ParamLoc{Addr: off, PerLayer: true, RowBytes: row}
		off += uint32(slice)
	}
	l.LayerStride = align(off, unit)
	fits("one layer's weights", l.LayerStride)
	l.Data = slices.Grow(l.Data, int(l.LayerStride)*p.Layers)
	for li := 0; li < p.Layers; li++ {
		start := len(l.Data)
		for _, q := range layer {
			l.Data = appendSlice(l.Data, q, li)
		}
		for uint32(len(l.Data)-start) < l.LayerStride {
			l.Data = append(l.Data, 0)
		}
	}
	pad(4)
	l.Prompt, l.NPrompt, l.PromptTokens = here(), len(prompt), prompt
	if segmented {
		pad(16) // a segment's offset 0: no bias for the console
		l.Pieces = here()
		l.Data = append(l.Data, pieces...)
		pad(16)
	}

	// Computed memory: vars and scratch buffers, then the caches.
	at := uint32(segVarBase)
	for _, v := range p.Vars {
		if v.Parent == nil {
			l.Vars[v] = at
			at += uint32(4 * v.Len)
		}
	}
	l.Att = at
	at += uint32(4 * p.Context)
	l.Acc = at
	maxHead := 0
	for _, c := range p.Caches {
		maxHead = max(maxHead, c.HeadDim)
	}
	at += uint32(8*maxHead) + 4 // and the small attention's softmax sum
	if at > segVarEnd {
		errs = append(errs, fmt.Errorf("the activations need %d bytes, %d are free in low memory", at-segVarBase, segVarEnd-segVarBase))
	}
	at = align(here(), 16)
	l.CacheBase = at
	var coff uint32
	for _, c := range p.Caches {
		n := uint32(c.Context * c.Width * c.Bits / 8)
		h := uint32(c.Context * c.Heads())
		half := uint32(c.Heads() * (1 + c.HeadDim*c.Bits/8))
		l.Caches[c] = &CacheLoc{K: coff, V: coff + half, Rec: 2 * half}
		coff = align(coff+2*n+2*h, unit)
	}
	l.CacheStride = coff
	fits("one layer's KV cache", coff)
	end := uint64(at) + uint64(coff)*uint64(p.Layers)
	l.End = uint32(end)
	switch {
	case segmented && end > ConventionalTop:
		errs = append(errs, fmt.Errorf("needs %d bytes of memory from %#x, %d are available below %#x",
			end-SegmentedDataAddr, SegmentedDataAddr, ConventionalTop-SegmentedDataAddr, ConventionalTop))
	case end >= 1<<32:
		errs = append(errs, fmt.Errorf("needs %d bytes of memory from %#x, more than 4 GiB", end-FlatDataAddr, FlatDataAddr))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return l, nil
}

// VarAddr is the address of v, a view or a root var.
func (l *Layout) VarAddr(v *ir.Var) uint32 {
	r, off := v.Root()
	return l.Vars[r] + uint32(4*off)
}

// The values the layer loop starts its weights and cache pointers at and
// steps them by: linear addresses (flat) or segments (segmented).
func (l *Layout) layerW() (start, step uint32) { return l.ptr(l.LayerBase), l.ptr(l.LayerStride) }
func (l *Layout) layerC() (start, step uint32) { return l.ptr(l.CacheBase), l.ptr(l.CacheStride) }

func (l *Layout) ptr(a uint32) uint32 {
	if l.Segmented {
		return a >> 4
	}
	return a
}

// scalarAddrs are the low-memory scalars the handwritten kernels read.
type scalarAddrs struct {
	Tok, Pos, Next uint16 // words: the current token, its position, the token argmax chose
	// LayerW and LayerC hold this layer's weights and cache: segments
	// (words) in the segmented model, linear addresses (dwords) in the
	// flat one; Layout.LayerPointers gives their values.
	LayerW, LayerC uint16
}

// scalars returns the addresses of the scalars.
func scalars() scalarAddrs {
	return scalarAddrs{Tok: addrTok, Pos: addrPos, Next: addrNext, LayerW: addrLayerW, LayerC: addrLayerC}
}

// LayerPointers are the values the layer loop keeps at LayerW and LayerC
// during layer i.
func (l *Layout) LayerPointers(i int) (w, c uint32) {
	w0, ws := l.layerW()
	c0, cs := l.layerC()
	return w0 + uint32(i)*ws, c0 + uint32(i)*cs
}
