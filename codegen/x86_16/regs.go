// Package x86_16 encodes x86 instructions for a 16-bit code segment (real
// mode and unreal mode). Instructions are built as values (Op + Operands),
// collected in a Program together with labels and data, and assembled to
// bytes that match what NASM produces for the same source text, so every
// encoding can be checked against NASM and a Program can be dumped as a
// NASM listing.
package x86_16

// Reg is a register. The zero value means "no register", so an unset
// Mem.Base/Index/Seg field needs no special marker.
type Reg uint16

// Registers. Within each group the order is the hardware encoding order, so
// num() is a subtraction.
const (
	NoReg Reg = iota

	AL
	CL
	DL
	BL
	AH
	CH
	DH
	BH

	AX
	CX
	DX
	BX
	SP
	BP
	SI
	DI

	EAX
	ECX
	EDX
	EBX
	ESP
	EBP
	ESI
	EDI

	ES
	CS
	SS
	DS
	FS
	GS

	CR0
	CR4

	// SSE registers, for the int16 dot products that pmaddwd does in one
	// instruction where the GPR code needs a multiply per element.
	XMM0
	XMM1
	XMM2
	XMM3
	XMM4
	XMM5
	XMM6
	XMM7

	regEnd
)

var regNames = [regEnd]string{
	"", "al", "cl", "dl", "bl", "ah", "ch", "dh", "bh",
	"ax", "cx", "dx", "bx", "sp", "bp", "si", "di",
	"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
	"es", "cs", "ss", "ds", "fs", "gs", "cr0", "cr4",
	"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
}

func (r Reg) String() string {
	if r < regEnd {
		return regNames[r]
	}
	return "reg?"
}

func (r Reg) isGPR8() bool  { return r >= AL && r <= BH }
func (r Reg) isGPR16() bool { return r >= AX && r <= DI }
func (r Reg) isGPR32() bool { return r >= EAX && r <= EDI }
func (r Reg) isGPR() bool   { return r >= AL && r <= EDI }
func (r Reg) isCR() bool    { return r == CR0 || r == CR4 }
func (r Reg) isXMM() bool   { return r >= XMM0 && r <= XMM7 }

// IsSeg: r is a segment register.
func (r Reg) IsSeg() bool { return r >= ES && r <= GS }

// Size is the register width in bits (segment registers count as 16).
func (r Reg) Size() int {
	switch {
	case r.isGPR8():
		return 8
	case r.isGPR16(), r.IsSeg():
		return 16
	case r.isGPR32(), r.isCR():
		return 32
	case r.isXMM():
		return 128
	}
	return 0
}

// num is the 3-bit hardware number used in ModRM, SIB and opcode+r forms.
func (r Reg) num() byte {
	switch {
	case r.isGPR8():
		return byte(r - AL)
	case r.isGPR16():
		return byte(r - AX)
	case r.isGPR32():
		return byte(r - EAX)
	case r.IsSeg():
		return byte(r - ES)
	case r == CR0:
		return 0
	case r == CR4:
		return 4
	case r.isXMM():
		return byte(r - XMM0)
	}
	panic("BUG: num of invalid register " + r.String())
}

// segPrefix is the segment-override prefix byte for a segment register.
func segPrefix(r Reg) byte {
	return [...]byte{0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65}[r-ES]
}
