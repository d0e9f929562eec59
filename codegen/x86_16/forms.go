package x86_16

import (
	"strconv"
	"strings"
)

// kind is the shape an operand slot of an encoding form accepts. Kinds
// mirror the operand columns of the Intel manual (r/m8, r16/32, imm8, ...),
// which keeps the tables in ops_*.go readable next to the manual.
type kind uint8

const (
	kR8        kind = iota + 1 // 8-bit register in ModRM.reg
	kR                         // 16/32-bit register in ModRM.reg
	kRM8                       // r/m8
	kRM                        // r/m16/32
	kRM16                      // r/m16 only (movzx/movsx source)
	kRMSrcSeg                  // source of mov sreg: r16/r32/m16, no size prefix
	kRMFromSeg                 // destination of mov from sreg: r16/r32/m16
	kM                         // memory of any size (lea, lgdt)
	kMoffs8                    // [disp] paired with al
	kMoffs                     // [disp] paired with ax/eax
	kAL                        // al
	kAcc                       // ax or eax
	kCL                        // cl (shift count)
	kDX                        // dx (port)
	kOne                       // the constant 1 (shift by one)
	kSreg                      // segment register in ModRM.reg
	kSregDst                   // segment register that may be loaded (not cs)
	kCR                        // control register in ModRM.reg
	kR32RM                     // 32-bit register in ModRM.rm (mov to/from cr)
	kZ8                        // 8-bit register in the opcode's low bits
	kZ                         // 16/32-bit register in the opcode's low bits
	kES                        // exactly es (push/pop have one opcode per sreg)
	kCS
	kSS
	kDS
	kFS
	kGS
	kIB       // immediate of an 8-bit operation: -128..255
	kI8s      // imm8 sign-extended to the operation size
	kI        // immediate of the operation size (16/32)
	kI8       // imm8 count/index of a 16/32-bit operation: -128..255
	kU8       // 0..255 (int number, port)
	kU16      // 0..65535 (ret n)
	kRel8     // branch target, rel8 only (loop, jcxz)
	kRelShort // relaxable branch target in its short form
	kRelNear  // relaxable branch target in its near form
	kRel16    // branch target, rel16 only (call)
	kFar      // seg:offset

	// SSE operands. Their operation size is fixed by the opcode, so none of
	// them is class V: a 32-bit register or address never adds 0x66 here,
	// and the 66/F3 written in an SSE form's opcode is its mandatory
	// prefix, emitted after any 0x67 as NASM does.
	kX     // xmm register in ModRM.reg
	kXR    // xmm register in ModRM.rm (shift by immediate: reg holds /digit)
	kXM128 // xmm or m128
	kXM64  // xmm or m64 (movq load)
	kM64   // m64 only (movq store)
	kRM32  // r32 or m32 (movd), 32 bits in any mode
)

func (k kind) classB() bool {
	return k == kR8 || k == kZ8 || k == kRM8 || k == kMoffs8 || k == kAL
}

func (k kind) classV() bool {
	switch k {
	case kR, kZ, kRM, kMoffs, kAcc, kRMFromSeg, kFar, kI8s, kI:
		return true
	}
	return false
}

func (k kind) isRM() bool {
	switch k {
	case kRM8, kRM, kRM16, kRMSrcSeg, kRMFromSeg, kM, kR32RM, kXR, kXM128, kXM64, kM64, kRM32:
		return true
	}
	return false
}

func (k kind) isReg() bool {
	return k == kR8 || k == kR || k == kSreg || k == kSregDst || k == kCR || k == kX
}

type fflag uint8

const (
	fDefault16 fflag = 1 << iota // no size given means 16 bits (jmp [bx])
	fOnly32                      // operation size must be 32 (movzx r32, r/m16)
	fO32                         // always 32-bit: 0x66 prefix (cwde, lodsd)
	fDupReg                      // imul r, imm: the register is also r/m
	fByte                        // r/m8 needs no size: setcc only has a byte form
)

// form is one encoding of a mnemonic, tried in table order; the tables list
// forms in NASM's order of preference so the first match is NASM's choice.
type form struct {
	args   []kind
	opcode []byte
	ext    int8 // ModRM.reg digit (/0../7), or -1
	flags  fflag
	modrm  bool
	hasB   bool
	hasV   bool
}

// fm builds a form from Intel-manual notation: "0F B6 /r", "F7 /5", "o32 98".
func fm(enc string, args ...kind) form {
	f := form{args: args, ext: -1}
	for _, t := range strings.Fields(enc) {
		switch {
		case t == "o32":
			f.flags |= fO32
		case t == "/r":
		case len(t) == 2 && t[0] == '/':
			f.ext = int8(t[1] - '0')
			f.modrm = true
		default:
			b, err := strconv.ParseUint(t, 16, 8)
			if err != nil {
				panic("BUG: bad opcode token " + t)
			}
			f.opcode = append(f.opcode, byte(b))
		}
	}
	for _, k := range args {
		f.modrm = f.modrm || k.isRM() || k.isReg()
		f.hasB = f.hasB || k.classB()
		f.hasV = f.hasV || k.classV()
	}
	return f
}

func (f form) with(fl fflag) form { f.flags |= fl; return f }

// forms holds the encodings per mnemonic; ops_*.go fill it at init.
var forms = map[Op][]form{}

func def(op Op, fs ...form) {
	if _, dup := forms[op]; dup {
		panic("BUG: forms defined twice for " + op.String())
	}
	forms[op] = fs
}
