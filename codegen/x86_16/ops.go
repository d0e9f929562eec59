package x86_16

import "strings"

// Op is a mnemonic, optionally combined with a repeat prefix: REP|MOVSB.
type Op uint32

// Mnemonics. Groups whose members differ only in an opcode field (the ALU
// group's /digit, shift /digit, condition codes) are kept in hardware order
// so the tables can compute the encoding from the offset within the group.
const (
	BadOp Op = iota

	// ALU group: digit = op - ADD, opcode base = digit*8.
	ADD
	OR
	ADC
	SBB
	AND
	SUB
	XOR
	CMP

	// Shift group: digit = op - ROL (6 is unused, SAL is an alias of SHL).
	ROL
	ROR
	RCL
	RCR
	SHL
	SHR
	shiftUnused
	SAR

	// Conditional groups: condition code = op - JO (resp. CMOVO, SETO).
	JO
	JNO
	JB
	JAE
	JE
	JNE
	JBE
	JA
	JS
	JNS
	JP
	JNP
	JL
	JGE
	JLE
	JG

	CMOVO
	CMOVNO
	CMOVB
	CMOVAE
	CMOVE
	CMOVNE
	CMOVBE
	CMOVA
	CMOVS
	CMOVNS
	CMOVP
	CMOVNP
	CMOVL
	CMOVGE
	CMOVLE
	CMOVG

	SETO
	SETNO
	SETB
	SETAE
	SETE
	SETNE
	SETBE
	SETA
	SETS
	SETNS
	SETP
	SETNP
	SETL
	SETGE
	SETLE
	SETG

	MOV
	MOVZX
	MOVSX
	LEA
	XCHG
	TEST
	NEG
	NOT
	INC
	DEC
	MUL
	IMUL
	DIV
	IDIV
	SHLD
	SHRD
	BT
	BTS
	BTR
	BTC
	BSF
	BSR
	CBW
	CWDE
	CWD
	CDQ
	PUSH
	POP
	PUSHA
	POPA
	PUSHAD
	POPAD
	PUSHF
	POPF
	PUSHFD
	POPFD
	LODSB
	LODSW
	LODSD
	STOSB
	STOSW
	STOSD
	MOVSB
	MOVSW
	MOVSD
	SCASB
	SCASW
	SCASD
	CMPSB
	CMPSW
	CMPSD
	JMP
	CALL
	RET
	RETF
	IRET
	LOOP
	LOOPE
	LOOPNE
	JCXZ
	JECXZ
	INT
	INT3
	IN
	OUT
	HLT
	CLI
	STI
	CLD
	STD
	CLC
	STC
	CMC
	NOP
	LGDT
	LIDT
	RDTSC
	CPUID
	XLATB
	LEAVE
	UD2

	// SSE2 (ops_sse.go), after UD2 so that tables bounded by UD2 keep
	// meaning the general-purpose instructions.
	MOVDQU
	MOVDQA
	MOVD
	MOVQ
	PMADDWD
	PADDD
	PADDQ
	PSUBQ
	PXOR
	PUNPCKLWD
	PUNPCKHWD
	PUNPCKLDQ
	PUNPCKHDQ
	PUNPCKLQDQ
	PUNPCKHQDQ
	PSHUFD
	PSRAW
	PSRAD
	PSRLQ
	PSRLDQ
	PSLLQ
	PSLLD
	PCMPEQD
	PSUBD
	PACKSSDW

	opEnd
)

// Repeat prefixes, combined with a string op: REP|STOSD. REP and REPE are
// the same byte (F3); they are kept apart so that printing and validation
// follow what the programmer meant.
const (
	REP   Op = 1 << 12
	REPE  Op = 2 << 12
	REPNE Op = 3 << 12

	prefixMask Op = 3 << 12

	// A32 is the address-size prefix (0x67) on a string instruction or a
	// loop: A32|LODSD reads [esi], A32|LOOP counts ecx. Unreal-mode code
	// needs it to reach memory above 64 KiB with string instructions.
	A32 Op = 1 << 14

	// segMask holds a segment override for a string instruction's source
	// (SegOverride(FS)|LODSB is `fs lodsb`): the register's index from ES,
	// plus one.
	segMask Op = 7 << 16
)

// SegOverride is the flag for a segment override prefix on a string
// instruction that reads through DS (lods, movs, cmps).
func SegOverride(r Reg) Op { return Op(r-ES+1) << 16 }

// segOverride is the overriding register, or NoReg.
func (op Op) segOverride() Reg {
	if n := op & segMask >> 16; n != 0 {
		return ES + Reg(n-1)
	}
	return NoReg
}

// Common aliases.
const (
	JZ    = JE
	JNZ   = JNE
	JC    = JB
	JNC   = JAE
	SAL   = SHL
	REPZ  = REPE
	REPNZ = REPNE
)

var opNames = func() [opEnd]string {
	var n [opEnd]string
	set := func(first Op, names string) {
		for i, s := range strings.Fields(names) {
			n[first+Op(i)] = s
		}
	}
	set(ADD, "add or adc sbb and sub xor cmp")
	set(ROL, "rol ror rcl rcr shl shr - sar")
	cc := strings.Fields("o no b ae e ne be a s ns p np l ge le g")
	for i, c := range cc {
		n[JO+Op(i)] = "j" + c
		n[CMOVO+Op(i)] = "cmov" + c
		n[SETO+Op(i)] = "set" + c
	}
	set(MOV, `mov movzx movsx lea xchg test neg not inc dec mul imul div idiv
		shld shrd bt bts btr btc bsf bsr cbw cwde cwd cdq
		push pop pusha popa pushad popad pushf popf pushfd popfd
		lodsb lodsw lodsd stosb stosw stosd movsb movsw movsd
		scasb scasw scasd cmpsb cmpsw cmpsd
		jmp call ret retf iret loop loope loopne jcxz jecxz int int3 in out
		hlt cli sti cld std clc stc cmc nop lgdt lidt rdtsc cpuid xlatb leave ud2`)
	set(MOVDQU, `movdqu movdqa movd movq pmaddwd paddd paddq psubq pxor
		punpcklwd punpckhwd punpckldq punpckhdq punpcklqdq punpckhqdq
		pshufd psraw psrad psrlq psrldq psllq pslld pcmpeqd psubd packssdw`)
	return n
}()

// Base is op without its prefixes (repeat, address size, segment).
func (op Op) Base() Op   { return op &^ (prefixMask | A32 | segMask) }
func (op Op) prefix() Op { return op & prefixMask }

// Unprefixed is op without its address-size and segment prefixes (a32
// lodsw is lodsw), its repeat prefix kept: what it does to the flags and
// registers but the address's size and segment.
func (op Op) Unprefixed() Op { return op &^ (A32 | segMask) }

func (op Op) String() string {
	b := op.Base()
	name := "op?"
	if b > BadOp && b < opEnd && opNames[b] != "-" {
		name = opNames[b]
	}
	if r := op.segOverride(); r != NoReg {
		return r.String() + " " + (op &^ segMask).String()
	}
	if op&A32 != 0 {
		name = "a32 " + (op &^ A32).String()
		return name
	}
	switch op.prefix() {
	case REP:
		return "rep " + name
	case REPE:
		return "repe " + name
	case REPNE:
		return "repne " + name
	}
	return name
}

// IsJcc reports whether op is a conditional jump.
func (op Op) IsJcc() bool { return op >= JO && op <= JG }

// Negate returns the opposite condition of a jcc, cmovcc or setcc (JE ->
// JNE); condition codes come in pairs differing in the low bit.
func (op Op) Negate() Op {
	switch {
	case op >= JO && op <= JG:
		return JO + ((op - JO) ^ 1)
	case op >= CMOVO && op <= CMOVG:
		return CMOVO + ((op - CMOVO) ^ 1)
	case op >= SETO && op <= SETG:
		return SETO + ((op - SETO) ^ 1)
	}
	return op
}

// OpByName looks a mnemonic up by its NASM name (lower case, without
// prefixes); it is how tables written as text reach the generic API.
func OpByName(name string) (Op, bool) {
	op, ok := opByName[strings.ToLower(name)]
	return op, ok
}

var opByName = func() map[string]Op {
	m := map[string]Op{}
	for op := ADD; op < opEnd; op++ {
		if opNames[op] != "-" {
			m[opNames[op]] = op
		}
	}
	for k, v := range map[string]Op{"jz": JE, "jnz": JNE, "jc": JB, "jnc": JAE, "sal": SHL,
		"cmovz": CMOVE, "cmovnz": CMOVNE, "setz": SETE, "setnz": SETNE, "xlat": XLATB} {
		m[k] = v
	}
	return m
}()
