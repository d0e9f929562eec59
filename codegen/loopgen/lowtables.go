package loopgen

import (
	"fmt"
	"strings"

	x86 "tfc/codegen/x86_16"
	"tfc/lir"
	"tfc/runtime"
)

// Tables in segment 0 (LayoutOptions.LowTables, with the Zero placement):
// the tables (the gate's, exp's, rope's) lie just below the activations,
// in the bytes the image loads with its code, where DS reaches them with
// 16-bit offsets and no prefix. Flat, above 1 MiB, their addresses took 32
// bits (a table's mov of ebx 6 bytes where bx's takes 3, a lea with a
// 32-bit displacement 8 where 4); segmented, their group's segment
// register took a prefix on each access and its load in each kernel. The
// code only reads them, so it may share their page (TCG's slow path is
// for writes to pages of code).

// lowTablesAt is where f's tables start below the activations at zeroAt,
// or ok false where f has none or they do not fit above the code's start
// (CodeFits checks its end).
func lowTablesAt(f *lir.Func, zeroAt uint32) (at uint32, ok bool) {
	n := uint32(0)
	for _, b := range f.Bufs {
		if b.Kind == lir.BufTable {
			n += uint32(globalBytes(b)) // int32s: each a multiple of 4
		}
	}
	if n == 0 || zeroAt < runtime.CodeAddr+n+16 {
		return 0, false
	}
	return (zeroAt - n) &^ 15, true
}

// tablesLow: f's tables go in segment 0 below its activations, where o
// asks and they fit.
func tablesLow(f *lir.Func, o LayoutOptions) bool {
	if !o.LowTables {
		return false
	}
	zeroAt, ok := zeroStart(f, o)
	if !ok {
		return false
	}
	_, ok = lowTablesAt(f, zeroAt)
	return ok
}

// placeLowTables places f's tables below the activations at l.zeroAt
// (tablesLow says they fit) in group gr: flat, the activations',
// segmented, zeroGroup.
func (l *Layout) placeLowTables(f *lir.Func, gr Group) {
	at, ok := lowTablesAt(f, l.zeroAt)
	if !ok {
		panic("BUG: loopgen: the tables placed in segment 0 where they do not fit")
	}
	l.tablesAt = at
	for _, b := range f.Bufs {
		if b.Kind == lir.BufTable {
			l.Addr[b], l.Group[b] = at, gr
			l.tables = append(l.tables, b)
			at += uint32(globalBytes(b))
		}
	}
}

// Pieces in segment 0 (LayoutOptions.LowPieces, with the Zero
// placement): the console's piece table just below the tables (or the
// activations), loaded with the code as they are, where print_piece
// reads it through DS as it is (runtime.Console: no segment of its own
// to load, 4 bytes of code fewer).

// lowPiecesAt is where a piece table of n bytes starts in segment 0 below
// the tables or the activations, or ok false where o does not ask for it
// or it does not fit above the code's start (CodeFits checks its end).
func lowPiecesAt(f *lir.Func, o LayoutOptions, n int) (at uint32, ok bool) {
	if !o.LowPieces || n == 0 {
		return 0, false
	}
	top, ok := zeroStart(f, o)
	if !ok {
		return 0, false
	}
	if tablesLow(f, o) {
		top, _ = lowTablesAt(f, top)
	}
	if uint64(top) < runtime.CodeAddr+uint64(n)+16 {
		return 0, false
	}
	return (top - uint32(n)) &^ 15, true
}

// LowPieces: the piece table lies in segment 0 (AppendTables puts it in
// the code's bytes).
func (l *Layout) LowPieces() bool { return l.piecesAt != 0 }

// PutPieces writes the console's piece table for the address the layout
// gave it (Pieces): in segment 0, or at the start of the data (no data
// with SizesOnly).
func (l *Layout) PutPieces(table []byte) {
	switch {
	case l.LowPieces():
		if len(table) != len(l.pieces) {
			panic(fmt.Sprintf("BUG: loopgen: a piece table of %d bytes where the layout placed %d", len(table), len(l.pieces)))
		}
		l.pieces = table
	case !l.sized:
		copy(l.Data[l.Pieces-l.DataAddr:], table)
	}
}

// AppendTables appends the piece table and the tables of segment 0 to
// main, the code (at runtime.CodeAddr), at their addresses: the image
// loads them with it.
func (l *Layout) AppendTables(main *x86.Program) {
	if l.LowPieces() {
		main.Mark(runtime.PadRegion + "up to the pieces")
		main.PadTo(int(l.piecesAt-runtime.CodeAddr), 0)
		main.Mark("data: pieces")
		main.DB(l.pieces...)
	}
	if len(l.tables) == 0 {
		return
	}
	main.Mark(runtime.PadRegion + "up to the tables")
	main.PadTo(int(l.tablesAt-runtime.CodeAddr), 0)
	for _, b := range l.tables {
		main.Mark("data: table " + strings.TrimPrefix(b.Name, "tab."))
		main.DB(tableBytes(b)...)
	}
}

// LowTables: the tables lie in segment 0 (AppendTables puts them in the
// code's bytes).
func (l *Layout) LowTables() bool { return len(l.tables) > 0 }
