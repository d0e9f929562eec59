package runtime

import (
	"fmt"

	"tfc/checkpoint"
	x86 "tfc/codegen/x86_16"
	"tfc/runtime/ioport"
)

// Console says where the console routines find their data, and whether
// they share the boot sector's putc and exit.
type Console struct {
	Flat       bool   // unreal mode, A20 on
	PiecesAddr uint32 // linear address of the piece table (PieceTable)
	// Narrow: the piece table lies within segment 0, where print_piece
	// reads it through DS as it is, or (flat) within the HMA (0x100000 to
	// 0x10FFEF, segment FFFFh), which it loads in DS; either with 16-bit
	// offsets, in fewer bytes of code. Else segmented, through the table's
	// own segment, and flat with 32-bit addresses. PieceConsole decides.
	Narrow bool

	// BootPutc and BootExit, when not 0, are the addresses of the boot
	// sector's putc and exit (SharedRoutines of the BootConfig the image
	// is linked with): the console calls them and carries no copies.
	BootPutc, BootExit uint32
	// BootFinish, when not 0, is the address of the boot sector's finish
	// (BootRoutines), which EmitEnd's code then jumps to.
	BootFinish uint32
}

// Shared reports whether c uses the boot sector's routines.
func (c Console) Shared() bool { return c.BootPutc != 0 }

// CheckPieces reports whether n bytes of piece table at c.PiecesAddr are
// within reach of print_piece: segmented, one segment from PiecesAddr&^15
// and below ConventionalTop.
func (c Console) CheckPieces(n int) error {
	end := uint64(c.PiecesAddr) + uint64(n)
	switch {
	case c.Flat && end > 1<<32:
		return fmt.Errorf("piece table of %d bytes at %#x ends beyond 4 GiB", n, c.PiecesAddr)
	case c.Flat:
		return nil
	case end > ConventionalTop:
		return fmt.Errorf("piece table of %d bytes at %#x ends beyond %#x", n, c.PiecesAddr, ConventionalTop)
	case uint64(c.PiecesAddr&15)+uint64(n) > 0x10000:
		return fmt.Errorf("piece table of %d bytes at %#x does not fit in one segment (%d bytes)",
			n, c.PiecesAddr, 0x10000-c.PiecesAddr&15)
	}
	return nil
}

// hmaTop is the end of the memory that segment FFFFh reaches (A20 on).
const hmaTop = 0xFFFF0 + 0x10000

// PieceConsole returns the console for t's piece table at addr: Narrow
// when that table lies within segment 0 or (flat) the HMA.
func PieceConsole(flat bool, addr uint32, t *checkpoint.Tokenizer) Console {
	c := Console{Flat: flat, PiecesAddr: addr}
	end := uint64(addr) + uint64(len(pieceTable(t, 2, 0)))
	switch {
	case end <= 0x10000:
		c.Narrow = true
	case flat && addr >= 1<<20:
		c.Narrow = end <= hmaTop
	}
	return c
}

// pieceSeg is the real-mode segment through which print_piece reads the
// piece table, and the table's offset in it; ok false: 32-bit addresses.
func (c Console) pieceSeg() (seg uint16, base uint32, ok bool) {
	switch {
	case c.Narrow && c.PiecesAddr < 0x10000:
		return 0, c.PiecesAddr, true
	case !c.Flat:
		return uint16(c.PiecesAddr >> 4), c.PiecesAddr & 15, true
	case c.Narrow:
		return 0xFFFF, c.PiecesAddr - 0xFFFF0, true
	}
	return 0, 0, false
}

// pieceBias is what the piece table's offsets add to a string's offset
// in the table: the table's offset in its segment, so that they are the
// segment's offsets, or its address (32-bit addresses).
func (c Console) pieceBias() uint32 {
	if _, base, ok := c.pieceSeg(); ok {
		return base
	}
	return c.PiecesAddr
}

// Labels of the console routines, for CALL Label(...).
const (
	Putc       = "putc"
	PrintPiece = "print_piece"
	Newline    = "newline"
	Exit       = "exit"
	Finish     = "finish"
)

// EmitConsole appends the console routines to p, each a label:
//
//	print_piece  AX = token, BX = previous token: prints the token's piece as
//	             llama2.c's decode + safe_printf do (see PieceTable); all
//	             registers preserved
//	newline      prints '\n'; leaves AL = '\n', other registers preserved
//	putc         AL to COM1 (as is) and the screen ('\n' as a new line);
//	             all registers preserved
//	exit         AL = exit code, written to the debug-exit port; then halts
//	             forever
//
// They need DS = 0 (flat: with its 4 GiB limit, as the boot sector leaves
// it) and the direction flag clear. Call EmitConsole after the code that
// calls them: newline and (unshared) exit are left out when nothing in p
// refers to them.
//
// With c.Shared(), putc and exit are the boot sector's routines, named by
// Equ (no code here); else they are copies of their own. Regions:
// print_piece, newline, putc (own copy only), exit (own copy only).
func EmitConsole(p *x86.Program, c Console) {
	var putc x86.Operand = x86.Label(Putc)
	if c.Shared() {
		putc = x86.Addr(c.BootPutc)
		p.Equ(Putc, c.BootPutc)
		p.Equ(Exit, c.BootExit)
		if c.BootFinish != 0 {
			p.Equ(Finish, c.BootFinish)
		}
	}
	newline, exit := p.Refers(Newline), p.Refers(Exit)
	p.Mark(PrintPiece)
	p.Label(PrintPiece)
	if seg, base, ok := c.pieceSeg(); ok {
		emitPrintPieceSeg(p, seg, base, putc)
	} else {
		emitPrintPieceFlat(p, c.PiecesAddr, putc, c.Shared())
	}
	if newline {
		p.Mark(Newline)
		p.Label(Newline)
		p.I(x86.MOV, x86.AL, x86.Imm('\n'))
		if c.Shared() {
			p.I(x86.JMP, putc)
		}
		// else on into putc
	}
	if c.Shared() {
		return
	}
	emitPutc(p, Putc, false, true)
	if exit {
		p.Mark(Exit)
		p.Label(Exit)
		emitExit(p, Exit)
	}
}

// EmitEnd ends the generation: '\n', then exit code 0. With finish (the
// console has the boot sector's, Console.BootFinish), one jump to it
// with both in AX: 6 bytes where putc and exit take 10.
func EmitEnd(p *x86.Program, finish bool) {
	if finish {
		p.I(x86.MOV, x86.AX, x86.Imm('\n'))
		p.I(x86.JMP, x86.Label(Finish))
		return
	}
	p.I(x86.MOV, x86.AL, x86.Imm('\n'))
	p.I(x86.CALL, x86.Label(Putc))
	p.I(x86.MOV, x86.AL, x86.Imm(0))
	p.I(x86.JMP, x86.Label(Exit))
}

// emitExit writes AL to the debug-exit port and halts for good (if the
// port is not there): an interrupt wakes the CPU only to halt it again.
// name is its label's prefix.
func emitExit(p *x86.Program, name string) {
	p.I(x86.OUT, x86.Imm(ioport.DebugExit), x86.AL)
	p.Label(name + ".halt")
	p.I(x86.HLT)
	p.I(x86.JMP, x86.Label(name+".halt"))
}

// print_piece finds where the piece starts in the table's entries for
// token i (2i, or 2i+1 after BOS) and prints bytes up to the NUL that ends
// it (PieceTable).

// emitPrintPieceFlat: the piece table is read with 32-bit addresses.
// With keep32, putc may change the top halves of 32-bit registers (the
// boot sectors' copies keep 16 bits), so the loop keeps ESI around it.
func emitPrintPieceFlat(p *x86.Program, addr uint32, putc x86.Operand, keep32 bool) {
	p.I(x86.PUSHAD)
	p.I(x86.MOVZX, x86.EAX, x86.AX)
	p.I(x86.ADD, x86.EAX, x86.EAX)
	p.I(x86.DEC, x86.BX)
	p.I(x86.JNZ, x86.Label("print_piece.entry"))
	p.I(x86.INC, x86.AX) // EAX is even
	p.Label("print_piece.entry")
	p.I(x86.MOV, x86.ESI, x86.Ptr32(x86.NoReg, x86.EAX, 4, int32(addr)))
	emitPrintLoop(p, putc, true, keep32)
	p.I(x86.POPAD)
	p.I(x86.RET)
}

// emitPrintPieceSeg: the piece table is read through DS = seg (0: DS as
// it is), at offset base, so PieceTable must fit in 64 KiB - base. In
// unreal mode, loading DS in real mode sets its base and keeps its 4 GiB
// limit.
func emitPrintPieceSeg(p *x86.Program, seg uint16, base uint32, putc x86.Operand) {
	p.I(x86.PUSHA)
	if seg != 0 {
		p.I(x86.PUSH, x86.DS)
		p.I(x86.PUSH, x86.Word(int64(seg)))
		p.I(x86.POP, x86.DS)
	}
	p.I(x86.IMUL, x86.SI, x86.AX, x86.Imm(4))
	p.I(x86.DEC, x86.BX)
	p.I(x86.JNZ, x86.Label("print_piece.entry"))
	p.I(x86.LODSW) // on to the entry after BOS
	p.Label("print_piece.entry")
	// The offsets are the segment's (pieceBias).
	p.I(x86.MOV, x86.SI, x86.Ptr16(x86.SI, x86.NoReg, int32(base)))
	emitPrintLoop(p, putc, false, false)
	if seg != 0 {
		p.I(x86.POP, x86.DS)
	}
	p.I(x86.POPA)
	p.I(x86.RET)
}

// emitPrintLoop prints the bytes at DS:SI (a32: DS:ESI) up to a NUL,
// keeping the 32-bit registers around putc with keep32.
func emitPrintLoop(p *x86.Program, putc x86.Operand, a32, keep32 bool) {
	p.Label("print_piece.print")
	if a32 {
		p.DB(0x67) // a32 lodsb
	}
	p.I(x86.LODSB)
	p.I(x86.TEST, x86.AL, x86.AL)
	p.I(x86.JZ, x86.Label("print_piece.done"))
	if keep32 {
		p.I(x86.PUSHAD)
		p.I(x86.CALL, putc)
		p.I(x86.POPAD)
	} else {
		p.I(x86.CALL, putc)
	}
	p.I(x86.JMP, x86.Label("print_piece.print"))
	p.Label("print_piece.done")
}
