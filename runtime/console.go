package runtime

import (
	"fmt"

	"tfc/qemu"

	. "tfc/codegen/x86_16"
)

// Console says where the console routines find their data.
type Console struct {
	Flat       bool   // read the piece table with 32-bit addresses (unreal mode)
	PiecesAddr uint32 // linear address of PieceData
}

// CheckPieces reports whether n bytes of PieceData at c.PiecesAddr are
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

// Labels of the console routines, for CALL Label(...).
const (
	Putc       = "putc"
	PrintPiece = "print_piece"
	Newline    = "newline"
	Exit       = "exit"
)

// EmitConsole appends the console routines to p, each a label and a Mark:
//
//	print_piece  AX = token, BX = previous token: prints the token's piece as
//	             llama2.c's decode + safe_printf do (see PieceData); all
//	             registers preserved
//	newline      prints '\n'; leaves AL = '\n', other registers preserved
//	putc         AL to COM1 (as is) and the screen ('\n' as "\r\n"); all
//	             registers preserved
//	exit         AL = exit code, written to the debug-exit port; then halts
//	             with interrupts off, forever
//
// They need DS = 0 (flat: with its 4 GiB limit, as the boot sector leaves
// it) and the direction flag clear.
func EmitConsole(p *Program, c Console) {
	p.Mark(PrintPiece)
	p.Label(PrintPiece)
	if c.Flat {
		emitPrintPieceFlat(p, c.PiecesAddr)
	} else {
		emitPrintPieceSeg(p, c.PiecesAddr)
	}
	p.Mark(Newline)
	p.Label(Newline)
	p.I(MOV, AL, Imm('\n')) // and on into putc
	emitPutc(p, Putc)
	p.Mark(Exit)
	p.Label(Exit)
	emitExitBody(p, Exit)
}

// emitPutc emits putc under the label (and mark) name; the boot sector has
// its own copy, under another name so that one listing can hold both.
func emitPutc(p *Program, name string) {
	p.Mark(name)
	p.Label(name)
	p.I(PUSHA)
	p.I(MOV, DX, Imm(0x3FD)) // COM1 line status
	p.I(XCHG, CX, AX)
	p.Label(name + ".wait")
	p.I(IN, AL, DX)
	p.I(TEST, AL, Imm(0x20)) // transmitter holding register empty
	p.I(JZ, Label(name+".wait"))
	p.I(XCHG, CX, AX)
	p.I(MOV, DL, Imm(0xF8))
	p.I(OUT, DX, AL)
	p.I(MOV, BX, Imm(7)) // page 0, light grey (graphics modes)
	p.I(MOV, AH, Imm(0x0E))
	p.I(CMP, AL, Imm('\n'))
	p.I(JNE, Label(name+".tty"))
	p.I(PUSH, AX)
	p.I(MOV, AL, Imm('\r'))
	p.I(INT, Imm(0x10))
	p.I(POP, AX)
	p.Label(name + ".tty")
	p.I(INT, Imm(0x10))
	p.I(POPA)
	p.I(RET)
}

// emitExitBody writes AL to the debug-exit port and halts for good (if the
// port is not there, or an NMI wakes the CPU). prefix names its label.
func emitExitBody(p *Program, prefix string) {
	p.I(OUT, Imm(qemu.DebugExitPort), AL)
	p.I(CLI)
	p.Label(prefix + ".halt")
	p.I(HLT)
	p.I(JMP, Label(prefix+".halt"))
}

// emitPrintPieceFlat: the piece table is read with 32-bit addresses.
// Region i of PieceData starts with the number of bytes to skip after BOS.
func emitPrintPieceFlat(p *Program, addr uint32) {
	p.I(PUSHAD)
	p.I(MOV, EDI, Imm(int64(addr)))
	p.I(MOVZX, ESI, AX)
	p.I(MOV, ECX, Ptr32(EDI, ESI, 4, 4)) // end of region i
	p.I(MOV, ESI, Ptr32(EDI, ESI, 4, 0)) // start
	p.I(SUB, CX, SI)                     // 1 + piece length
	p.I(ADD, ESI, EDI)
	p.I(XOR, EAX, EAX)
	p.DB(0x67) // a32 lodsb
	p.I(LODSB) // AL = bytes to skip after BOS
	p.I(DEC, CX)
	p.I(DEC, BX)
	p.I(JNZ, Label("print_piece.print"))
	p.I(ADD, ESI, EAX)
	p.I(SUB, CX, AX)
	p.Label("print_piece.print")
	p.I(JCXZ, Label("print_piece.done"))
	p.Label("print_piece.loop")
	p.DB(0x67) // a32 lodsb
	p.I(LODSB)
	p.I(CALL, Label(Putc))
	p.I(LOOP, Label("print_piece.loop"))
	p.Label("print_piece.done")
	p.I(POPAD)
	p.I(RET)
}

// emitPrintPieceSeg: the piece table is read through DS = addr>>4, so
// PieceData must fit in 64 KiB - (addr&15).
func emitPrintPieceSeg(p *Program, addr uint32) {
	base := int32(addr & 15)
	p.I(PUSHA)
	p.I(PUSH, DS)
	p.I(PUSH, Word(int64(addr>>4)))
	p.I(POP, DS)
	p.I(SHL, AX, Imm(2))
	p.I(XCHG, SI, AX)
	p.I(MOV, CX, Ptr16(SI, NoReg, base+4)) // end of region i
	p.I(MOV, SI, Ptr16(SI, NoReg, base))   // start
	p.I(SUB, CX, SI)                       // 1 + piece length
	if base != 0 {
		p.I(ADD, SI, Imm(int64(base)))
	}
	p.I(LODSB) // bytes to skip after BOS
	p.I(DEC, CX)
	p.I(DEC, BX)
	p.I(JNZ, Label("print_piece.print"))
	p.I(CBW) // PieceData keeps it below 128
	p.I(ADD, SI, AX)
	p.I(SUB, CX, AX)
	p.Label("print_piece.print")
	p.I(JCXZ, Label("print_piece.done"))
	p.Label("print_piece.loop")
	p.I(LODSB)
	p.I(CALL, Label(Putc))
	p.I(LOOP, Label("print_piece.loop"))
	p.Label("print_piece.done")
	p.I(POP, DS)
	p.I(POPA)
	p.I(RET)
}
