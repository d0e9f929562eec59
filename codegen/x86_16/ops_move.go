package x86_16

// Data movement, stack, string and port instructions.

func init() {
	// moffs forms first: NASM uses A0-A3 for a plain [disp] with the
	// accumulator, one byte shorter than the ModRM form.
	def(MOV,
		fm("A0", kAL, kMoffs8),
		fm("A1", kAcc, kMoffs),
		fm("A2", kMoffs8, kAL),
		fm("A3", kMoffs, kAcc),
		fm("88 /r", kRM8, kR8),
		fm("89 /r", kRM, kR),
		fm("8A /r", kR8, kRM8),
		fm("8B /r", kR, kRM),
		fm("8C /r", kRMFromSeg, kSreg),
		fm("8E /r", kSregDst, kRMSrcSeg),
		fm("B0", kZ8, kIB),
		fm("B8", kZ, kI),
		fm("C6 /0", kRM8, kIB),
		fm("C7 /0", kRM, kI),
		fm("0F 20 /r", kR32RM, kCR),
		fm("0F 22 /r", kCR, kR32RM),
	)
	def(MOVZX, fm("0F B6 /r", kR, kRM8), fm("0F B7 /r", kR, kRM16).with(fOnly32))
	def(MOVSX, fm("0F BE /r", kR, kRM8), fm("0F BF /r", kR, kRM16).with(fOnly32))
	def(LEA, fm("8D /r", kR, kM))

	// For two registers NASM puts the first operand in ModRM.reg.
	def(XCHG,
		fm("90", kAcc, kZ),
		fm("90", kZ, kAcc),
		fm("86 /r", kR8, kRM8),
		fm("86 /r", kRM8, kR8),
		fm("87 /r", kR, kRM),
		fm("87 /r", kRM, kR),
	)

	def(PUSH,
		fm("50", kZ),
		fm("FF /6", kRM),
		fm("6A", kI8s).with(fDefault16),
		fm("68", kI).with(fDefault16),
		fm("06", kES), fm("0E", kCS), fm("16", kSS), fm("1E", kDS),
		fm("0F A0", kFS), fm("0F A8", kGS),
	)
	def(POP,
		fm("58", kZ),
		fm("8F /0", kRM),
		fm("07", kES), fm("17", kSS), fm("1F", kDS),
		fm("0F A1", kFS), fm("0F A9", kGS),
	)
	for op, enc := range map[Op]string{
		PUSHA: "60", POPA: "61", PUSHAD: "o32 60", POPAD: "o32 61",
		PUSHF: "9C", POPF: "9D", PUSHFD: "o32 9C", POPFD: "o32 9D",
		LODSB: "AC", LODSW: "AD", LODSD: "o32 AD",
		STOSB: "AA", STOSW: "AB", STOSD: "o32 AB",
		MOVSB: "A4", MOVSW: "A5", MOVSD: "o32 A5",
		SCASB: "AE", SCASW: "AF", SCASD: "o32 AF",
		CMPSB: "A6", CMPSW: "A7", CMPSD: "o32 A7",
		XLATB: "D7",
	} {
		def(op, fm(enc))
	}

	def(IN,
		fm("E4", kAL, kU8),
		fm("E5", kAcc, kU8),
		fm("EC", kAL, kDX),
		fm("ED", kAcc, kDX),
	)
	def(OUT,
		fm("E6", kU8, kAL),
		fm("E7", kU8, kAcc),
		fm("EE", kDX, kAL),
		fm("EF", kDX, kAcc),
	)
}
