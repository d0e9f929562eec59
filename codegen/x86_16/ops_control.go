package x86_16

// Control transfer and system instructions.

func init() {
	// A jump to a Label is tried in its short form first; the layout
	// switches it to the near form (encCtx.long) when rel8 cannot reach.
	def(JMP,
		fm("EB", kRelShort),
		fm("E9", kRelNear),
		fm("FF /4", kRM).with(fDefault16),
		fm("EA", kFar),
	)
	for c := 0; c < 16; c++ {
		def(JO+Op(c), fm(op1(byte(0x70+c)), kRelShort), fm(op2(byte(0x80+c)), kRelNear))
	}
	def(CALL,
		fm("E8", kRel16),
		fm("FF /2", kRM).with(fDefault16),
		fm("9A", kFar),
	)
	def(LOOP, fm("E2", kRel8))
	def(LOOPE, fm("E1", kRel8))
	def(LOOPNE, fm("E0", kRel8))
	def(JCXZ, fm("E3", kRel8))
	def(JECXZ, fm("67 E3", kRel8))

	def(RET, fm("C3"), fm("C2", kU16))
	def(RETF, fm("CB"), fm("CA", kU16))
	def(INT, fm("CD", kU8))
	def(LGDT, fm("0F 01 /2", kM))
	def(LIDT, fm("0F 01 /3", kM))

	for op, enc := range map[Op]string{
		IRET: "CF", INT3: "CC", HLT: "F4", CLI: "FA", STI: "FB", CLD: "FC", STD: "FD",
		CLC: "F8", STC: "F9", CMC: "F5", NOP: "90", RDTSC: "0F 31", CPUID: "0F A2",
		LEAVE: "C9", UD2: "0F 0B",
	} {
		def(op, fm(enc))
	}
}
