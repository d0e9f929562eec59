package x86_16

// SSE2 instructions for exact int16 dot products: pmaddwd multiplies and
// pairs int16 lanes into int32 sums, the unpacks and arithmetic shifts
// widen those to 64 bits, and paddq accumulates without overflow.
//
// The 66 or F3 at the start of each opcode is the mandatory prefix that
// selects the SSE instruction, not an operand-size prefix: the SSE kinds are
// not class V, so emit adds no second 0x66 for a 32-bit operand, and the
// mandatory prefix lands after segment and 0x67 prefixes, where NASM puts it.

func init() {
	// For xmm, xmm NASM takes the load form (6F, 7E); the store forms only
	// decide for a memory destination.
	def(MOVDQU, fm("F3 0F 6F /r", kX, kXM128), fm("F3 0F 7F /r", kXM128, kX))
	def(MOVDQA, fm("66 0F 6F /r", kX, kXM128), fm("66 0F 7F /r", kXM128, kX))
	def(MOVD, fm("66 0F 6E /r", kX, kRM32), fm("66 0F 7E /r", kRM32, kX))
	def(MOVQ, fm("F3 0F 7E /r", kX, kXM64), fm("66 0F D6 /r", kM64, kX))

	for op, code := range map[Op]byte{
		PMADDWD: 0xF5, PADDD: 0xFE, PADDQ: 0xD4, PSUBQ: 0xFB, PXOR: 0xEF,
		PUNPCKLWD: 0x61, PUNPCKHWD: 0x69, PUNPCKLDQ: 0x62, PUNPCKHDQ: 0x6A,
		PUNPCKLQDQ: 0x6C, PUNPCKHQDQ: 0x6D, PCMPEQD: 0x76, PSUBD: 0xFA, PACKSSDW: 0x6B,
	} {
		def(op, fm("66 "+op2(code)+" /r", kX, kXM128))
	}
	def(PSHUFD, fm("66 0F 70 /r", kX, kXM128, kU8))

	// Shifts by an immediate: one opcode per element width, the shift kind
	// in ModRM.reg, so the register goes in ModRM.rm.
	for op, enc := range map[Op]string{
		PSRAW: "66 0F 71 /4", PSRAD: "66 0F 72 /4", PSLLD: "66 0F 72 /6",
		PSRLQ: "66 0F 73 /2", PSRLDQ: "66 0F 73 /3", PSLLQ: "66 0F 73 /6",
	} {
		def(op, fm(enc, kXR, kU8))
	}
}
