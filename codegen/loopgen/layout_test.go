package loopgen

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	x86 "tfc/codegen/x86_16"
	"tfc/frontend"
	"tfc/ir"
	"tfc/lir"
	"tfc/runtime"
)

// A layout that only counts the data (tfc check's) places every buffer
// where the layout that writes it does, and counts its bytes: otherwise
// check would pass or refuse what build does not.
func TestSizedLayout(t *testing.T) {
	files, err := filepath.Glob("../../examples/*-random.tf")
	require.NoError(t, err)
	files = append(files, "../../testdata/tinyllamas/stories15M.tf")
	for _, path := range files {
		p, err := frontend.LoadFile(path, ir.Options{})
		require.NoError(t, err, path)
		f, err := lir.Lower(p)
		require.NoError(t, err, path)
		pieces := runtime.PieceConsole(true, PiecesAddr(false), p.Tokenizer).PieceTable(p.Tokenizer)
		prompt := []int{1, 2, 3}
		full, err := NewLayout(p, f, pieces, prompt, LayoutOptions{})
		require.NoError(t, err, path)
		sized, err := NewLayout(p, f, pieces, prompt, LayoutOptions{SizesOnly: true})
		require.NoError(t, err, path)
		assert.Empty(t, sized.Data, path)
		assert.Equal(t, len(full.Data), sized.DataLen(), path)
		assert.Greater(t, full.DataLen(), 0, path)
		assert.Equal(t, placement(full), placement(sized), path)
	}
}

// placement is where l puts each buffer and region, by name.
func placement(l *Layout) map[string]uint32 {
	m := map[string]uint32{"pieces": l.Pieces, "prompt": l.Prompt, "nprompt": uint32(l.NPrompt),
		"layerW": l.LayerW, "strideW": l.StrideW, "layerC": l.LayerC, "strideC": l.StrideC, "end": l.End}
	for b, a := range l.Addr {
		m["buf "+b.Name] = a
	}
	return m
}

// The Zero placement puts the activations at the top of segment 0, above
// ZeroFrom, where DS reaches them (LowBase 0); code that reaches their
// page does not fit. Activations of more than segment 0 holds there lie
// at LowActivations, as without it.
func TestZeroPlacement(t *testing.T) {
	p, f, pieces := lowered(t, "../../examples/mlp-random.tf")
	l, err := NewLayout(p, f, pieces, nil, LayoutOptions{Zero: true})
	require.NoError(t, err)
	require.True(t, l.Low)
	assert.Zero(t, l.LowBase)
	assert.Equal(t, x86.DS, l.lowReg())
	lowest := uint32(zeroEnd)
	for _, b := range f.Bufs {
		if b.Activation() {
			assert.GreaterOrEqual(t, l.Addr[b], uint32(ZeroFrom), b.Name)
			assert.LessOrEqual(t, uint64(l.Addr[b])+uint64(b.Size), uint64(zeroEnd), b.Name)
			lowest = min(lowest, l.Addr[b])
		}
	}
	assert.True(t, l.CodeFits(0x7E00, int(lowest&^0xFFF)-0x7E00))
	assert.False(t, l.CodeFits(0x7E00, int(lowest&^0xFFF)-0x7E00+1))

	l, err = NewLayout(p, f, pieces, nil, LayoutOptions{})
	require.NoError(t, err)
	assert.Equal(t, uint32(LowActivations), l.LowBase)
	assert.Equal(t, x86.ES, l.lowReg())
	assert.True(t, l.CodeFits(0x7E00, 0x8000))

	f.Bufs = append(f.Bufs, &lir.Buf{Name: "big", Kind: lir.BufScratch, Size: zeroEnd - ZeroFrom})
	l, err = NewLayout(p, f, pieces, nil, LayoutOptions{Zero: true})
	require.NoError(t, err)
	assert.Equal(t, uint32(LowActivations), l.LowBase, "too big for segment 0")
}

// Segmented, the Zero placement puts the computed activations (not the
// loaded ones: the prompt, the sampler's state) in segment 0, lir's
// segment Zero, at the top, which DS reaches.
func TestZeroPlacementSegmented(t *testing.T) {
	p, f, pieces := lowered(t, "../../examples/mlp-random.tf")
	for _, zero := range []bool{true, false} {
		l, err := NewSegmentedLayout(p, f, pieces, []int{1, 2}, LayoutOptions{Zero: zero})
		require.NoError(t, err)
		seg := l.Segments(f)
		for _, b := range f.Bufs {
			if !b.Activation() {
				continue
			}
			if zero {
				assert.Equal(t, zeroGroup, l.Group[b], b.Name)
				assert.Equal(t, lir.Zero, seg[b], b.Name)
				assert.GreaterOrEqual(t, l.Addr[b], uint32(ZeroFrom), b.Name)
				assert.LessOrEqual(t, uint64(l.Addr[b])+uint64(b.Size), uint64(zeroEnd), b.Name)
				assert.Equal(t, l.Addr[b], l.Linear(b), b.Name)
			} else {
				assert.Equal(t, activations, l.Group[b], b.Name)
				assert.Equal(t, lir.Activations, seg[b], b.Name)
			}
		}
		assert.Equal(t, !zero, l.CodeFits(0x7E00, 0x8200), "code up to 0x10000")
	}
}

// With LowTables, the Zero placement puts the tables in segment 0 just
// below the activations (flat: their group, segmented: segment Zero),
// out of the loaded data; the code fits only below them, and
// AppendTables puts their bytes at their addresses in the code's.
func TestLowTables(t *testing.T) {
	p, f, pieces := lowered(t, "../../examples/mlp-random.tf")
	for _, segmented := range []bool{false, true} {
		layout := func(o LayoutOptions) *Layout {
			o.Zero = true
			return newLayout(t, p, f, pieces, segmented, o)
		}
		high, low := layout(LayoutOptions{}), layout(LayoutOptions{LowTables: true})
		assert.False(t, high.LowTables())
		require.True(t, low.LowTables())
		assert.True(t, tablesLow(f, LayoutOptions{Zero: true, LowTables: true}))
		assert.False(t, tablesLow(f, LayoutOptions{Zero: true}))
		lowest, tables, n := uint32(zeroEnd), uint32(zeroEnd), 0
		for _, b := range f.Bufs {
			if b.Activation() {
				lowest = min(lowest, low.Addr[b])
			}
		}
		for _, b := range f.Bufs {
			if b.Kind != lir.BufTable {
				continue
			}
			n += globalBytes(b)
			tables = min(tables, low.Addr[b])
			assert.GreaterOrEqual(t, low.Addr[b], uint32(runtime.CodeAddr), b.Name)
			assert.LessOrEqual(t, low.Addr[b]+uint32(globalBytes(b)), lowest, b.Name)
			want := activations
			if segmented {
				want = zeroGroup
				assert.Equal(t, lir.Zero, low.Segments(f)[b], b.Name)
			}
			assert.Equal(t, want, low.Group[b], b.Name)
			assert.Equal(t, low.Addr[b], low.Linear(b), b.Name)
		}
		require.Positive(t, n)
		assert.GreaterOrEqual(t, high.DataLen()-low.DataLen(), n, "segmented %v: the tables left the data", segmented)
		assert.True(t, low.CodeFits(runtime.CodeAddr, int(tables-runtime.CodeAddr)))
		assert.False(t, low.CodeFits(runtime.CodeAddr, int(tables-runtime.CodeAddr)+1))
		main := &x86.Program{}
		main.I(x86.RET)
		low.AppendTables(main)
		code, err := main.Assemble(runtime.CodeAddr)
		require.NoError(t, err)
		for _, b := range f.Bufs {
			if b.Kind == lir.BufTable {
				at := int(low.Addr[b] - runtime.CodeAddr)
				assert.Equal(t, tableBytes(b), code[at:at+globalBytes(b)], b.Name)
			}
		}
	}
}

// With LowPieces, the Zero placement puts the piece table in segment 0
// just below the tables, out of the loaded data; the code fits only
// below it, and AppendTables puts the bytes PutPieces gives at its
// address in the code's.
func TestLowPieces(t *testing.T) {
	p, f, pieces := lowered(t, "../../examples/mlp-random.tf")
	for _, segmented := range []bool{false, true} {
		layout := func(o LayoutOptions) *Layout {
			o.Zero, o.LowTables = true, true
			return newLayout(t, p, f, pieces, segmented, o)
		}
		high, low := layout(LayoutOptions{}), layout(LayoutOptions{LowPieces: true})
		assert.False(t, high.LowPieces())
		require.True(t, low.LowPieces(), "segmented %v", segmented)
		assert.Equal(t, PiecesAddr(segmented), high.Pieces)
		require.True(t, low.LowTables())
		assert.GreaterOrEqual(t, low.Pieces, uint32(runtime.CodeAddr))
		assert.LessOrEqual(t, low.Pieces+uint32(len(pieces)), low.tablesAt)
		assert.GreaterOrEqual(t, high.DataLen()-low.DataLen(), len(pieces), "segmented %v: the pieces left the data", segmented)
		assert.True(t, low.CodeFits(runtime.CodeAddr, int(low.Pieces-runtime.CodeAddr)))
		assert.False(t, low.CodeFits(runtime.CodeAddr, int(low.Pieces-runtime.CodeAddr)+1))
		table := bytes.Repeat([]byte{0xA5}, len(pieces))
		low.PutPieces(table)
		main := &x86.Program{}
		main.I(x86.RET)
		low.AppendTables(main)
		code, err := main.Assemble(runtime.CodeAddr)
		require.NoError(t, err)
		at := int(low.Pieces - runtime.CodeAddr)
		assert.Equal(t, table, code[at:at+len(table)])
	}
}

// newLayout lays f out for p in either memory model, with no prompt.
func newLayout(t *testing.T, p *ir.Program, f *lir.Func, pieces []byte, segmented bool, o LayoutOptions) *Layout {
	t.Helper()
	var l *Layout
	var err error
	if segmented {
		l, err = NewSegmentedLayout(p, f, pieces, nil, o)
	} else {
		l, err = NewLayout(p, f, pieces, nil, o)
	}
	require.NoError(t, err)
	return l
}

// lowered is the program at path, lowered, and its piece table.
func lowered(t *testing.T, path string) (*ir.Program, *lir.Func, []byte) {
	t.Helper()
	p, err := frontend.LoadFile(path, ir.Options{})
	require.NoError(t, err)
	f, err := lir.Lower(p)
	require.NoError(t, err)
	return p, f, runtime.PieceConsole(true, PiecesAddr(false), p.Tokenizer).PieceTable(p.Tokenizer)
}

// The layer loop steps a slot in the narrowest window that no carry
// leaves and whose bytes below the stride's are 0, and ends it on the
// narrowest where no layer before the last leaves what the last does.
func TestLayerWindows(t *testing.T) {
	for _, c := range []struct {
		name                  string
		step                  bool // stepWindow, else endWindow
		start, stride, layers int64
		want                  window
	}{
		{"llama2.tf's caches: add word [0x1009], 0x110", true, 0x1882b0, 0x11000, 5, window{1, 2}},
		{"a stride's low byte", true, 0x115fd0, 0x16d60, 5, window{0, 4}},
		{"a stride of 256 bytes", true, 0x115fd0, 0x16e00, 5, window{1, 2}},
		{"the third byte alone", true, 0x100000, 0x10000, 3, window{2, 1}},
		{"a carry into the fourth", true, 0xff0000, 0x10000, 3, window{2, 2}},
		{"llama2.tf's params, before 256-byte strides", false, 0x112fd0, 0x16d60, 5, window{0, 1}},
		{"the low word stays", false, 0x100000, 0x10000, 3, window{2, 1}},
		{"the second byte back at 0 after 2", false, 0, 0x8000, 4, window{2, 1}},
		{"one layer", false, 0, 0x8000, 1, window{0, 1}},
		{"the third byte alone", false, 0, 0x10000, 256, window{2, 1}},
		{"past a byte", false, 0, 0x100, 257, window{1, 2}},
	} {
		pick := endWindow
		if c.step {
			pick = stepWindow
		}
		assert.Equal(t, c.want, pick(c.start, c.stride, int(c.layers), 4), c.name)
	}
	assert.Equal(t, window{0, 2}, stepWindow(0x10cc, 0xbc6, 5, 2), "a segment")
	m, imm := window{1, 1}.at(x86.D(x86.Abs16(0x1004)), 0x128500)
	assert.Equal(t, x86.B(x86.Abs16(0x1005)), m)
	assert.Equal(t, x86.Imm(-0x7b), imm, "0x85, signed")
}
