package x86_16

import "fmt"

// Arithmetic, logic, shift and bit instructions.

func op1(b byte) string          { return fmt.Sprintf("%02X", b) }
func op2(b byte) string          { return fmt.Sprintf("0F %02X", b) }
func digit(b byte, d int) string { return fmt.Sprintf("%s /%d", op1(b), d) }

func init() {
	// The eight classic ALU ops share one layout: opcode base n*8 and /n.
	// NASM prefers the 83 (imm8 sign-extended) form over the accumulator
	// short form when both apply; they are the same length for 16 bits.
	for op := ADD; op <= CMP; op++ {
		n := int(op - ADD)
		base := byte(n * 8)
		def(op,
			fm(op1(base+0), kRM8, kR8),
			fm(op1(base+1), kRM, kR),
			fm(op1(base+2), kR8, kRM8),
			fm(op1(base+3), kR, kRM),
			fm(digit(0x83, n), kRM, kI8s),
			fm(op1(base+4), kAL, kIB),
			fm(op1(base+5), kAcc, kI),
			fm(digit(0x80, n), kRM8, kIB),
			fm(digit(0x81, n), kRM, kI),
		)
	}

	// TEST has no sign-extended immediate form. The reg, r/m order is
	// accepted too (NASM does), encoded with the same opcode.
	def(TEST,
		fm("84", kRM8, kR8),
		fm("85", kRM, kR),
		fm("84", kR8, kRM8),
		fm("85", kR, kRM),
		fm("A8", kAL, kIB),
		fm("A9", kAcc, kI),
		fm("F6 /0", kRM8, kIB),
		fm("F7 /0", kRM, kI),
	)

	def(INC, fm("40", kZ), fm("FE /0", kRM8), fm("FF /0", kRM))
	def(DEC, fm("48", kZ), fm("FE /1", kRM8), fm("FF /1", kRM))

	for op, n := range map[Op]int{NOT: 2, NEG: 3, MUL: 4, DIV: 6, IDIV: 7} {
		def(op, fm(digit(0xF6, n), kRM8), fm(digit(0xF7, n), kRM))
	}
	def(IMUL,
		fm("F6 /5", kRM8),
		fm("F7 /5", kRM),
		fm("0F AF /r", kR, kRM),
		fm("6B /r", kR, kRM, kI8s),
		fm("69 /r", kR, kRM, kI),
		// imul r, imm is NASM shorthand for imul r, r, imm.
		fm("6B /r", kR, kI8s).with(fDupReg),
		fm("69 /r", kR, kI).with(fDupReg),
	)

	for op := ROL; op <= SAR; op++ {
		if op == shiftUnused {
			continue
		}
		n := int(op - ROL)
		def(op,
			fm(digit(0xD0, n), kRM8, kOne),
			fm(digit(0xD1, n), kRM, kOne),
			fm(digit(0xD2, n), kRM8, kCL),
			fm(digit(0xD3, n), kRM, kCL),
			fm(digit(0xC0, n), kRM8, kI8),
			fm(digit(0xC1, n), kRM, kI8),
		)
	}
	def(SHLD, fm("0F A4 /r", kRM, kR, kI8), fm("0F A5 /r", kRM, kR, kCL))
	def(SHRD, fm("0F AC /r", kRM, kR, kI8), fm("0F AD /r", kRM, kR, kCL))

	for op, n := range map[Op]int{BT: 4, BTS: 5, BTR: 6, BTC: 7} {
		regOp := byte(0xA3 + 8*(n-4))
		def(op, fm(op2(regOp)+" /r", kRM, kR), fm("0F BA /"+fmt.Sprint(n), kRM, kI8))
	}
	def(BSF, fm("0F BC /r", kR, kRM))
	def(BSR, fm("0F BD /r", kR, kRM))

	for c := 0; c < 16; c++ {
		def(CMOVO+Op(c), fm(op2(byte(0x40+c))+" /r", kR, kRM))
		def(SETO+Op(c), fm(op2(byte(0x90+c))+" /0", kRM8).with(fByte))
	}

	def(CBW, fm("98"))
	def(CWDE, fm("o32 98"))
	def(CWD, fm("99"))
	def(CDQ, fm("o32 99"))
}
