package runtime

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	x86 "tfc/codegen/x86_16"
)

// SelfTest is what a self-test image (tfc build --selftest) checks before
// its story: for its first steps, the token the compiler's simulator fed
// the model and a checksum (SelfTestSum) of the logits it computed. The
// image runs those steps itself, silently, and compares; a user on real
// hardware learns whether the machine computes what the compiler did.
type SelfTest struct {
	Tokens []int    // the token at each step: BOS, the prompt's, the model's choices
	Sums   []uint32 // SelfTestSum of the logits at each step
	// The code generator's low-memory words for the token and its
	// position, and the linear address of the logits (N dwords), read
	// where the generator calls SelfTestCheck: before the final op, which
	// may change them.
	TokAddr, PosAddr uint16
	Logits           uint32
	N                int
	// Rng, when not 0, is the linear address of the sampler's 8-byte state,
	// which the self-test's steps advance: it is put back after them.
	Rng uint32
}

// Labels of the self-test's routines. The image calls SelfTestRun once,
// before its first generation; forward calls SelfTestCheck before its
// final op (all registers and DS kept). The code generator's forward must
// be the label "forward".
const (
	SelfTestRun   = "selftest"
	SelfTestCheck = "selftest.check"
)

// SelfTestSum is the logits' checksum: s = rol(s, 5) + logit, from 0.
func SelfTestSum(logits []int32) uint32 {
	var s uint32
	for _, v := range logits {
		s = bits.RotateLeft32(s, 5) + uint32(v)
	}
	return s
}

// EmitSelfTest appends the self-test's routines and tables to p. The run
// prints "self-test ok" and a newline when every step matches; the check
// prints "self-test: step N differs" and exits with code 2 at the first
// that does not. Its flag and step tables sit in the code (written twice,
// at the start and the end of the run).
func EmitSelfTest(p *x86.Program, s SelfTest) error {
	if len(s.Tokens) == 0 || len(s.Tokens) != len(s.Sums) || s.N <= 0 {
		return fmt.Errorf("BUG: runtime: a self-test of %d tokens, %d sums, %d logits", len(s.Tokens), len(s.Sums), s.N)
	}
	i := p.I
	lbl := func(n string) x86.Label { return x86.Label("selftest." + n) }
	flag := x86.B(x86.Mem{Label: "selftest.on"})
	p.Mark("selftest")
	p.Label(SelfTestRun)
	// rng does op (push or pop) on the sampler's state's two dwords,
	// the high one first to push, through DS, then sets DS back to 0.
	rngSeg, rngOff := segOff(s.Rng)
	rng := func(op x86.Op, offs ...uint32) {
		if s.Rng == 0 {
			return
		}
		i(x86.PUSH, x86.Word(int64(rngSeg)))
		i(x86.POP, x86.DS)
		for _, k := range offs {
			i(op, x86.D(x86.Ptr32(x86.NoReg, x86.NoReg, 1, int32(rngOff+k))))
		}
		i(x86.PUSH, x86.Word(0))
		i(x86.POP, x86.DS)
	}
	rng(x86.PUSH, 4, 0)
	i(x86.MOV, flag, x86.Imm(1))
	i(x86.XOR, x86.SI, x86.SI)
	p.Label("selftest.step")
	i(x86.MOV, x86.AX, x86.W(x86.Mem{Base: x86.SI, Label: "selftest.tokens"}))
	i(x86.MOV, x86.W(x86.Abs16(s.TokAddr)), x86.AX)
	i(x86.MOV, x86.AX, x86.SI)
	i(x86.SHR, x86.AX, x86.Imm(1))
	i(x86.MOV, x86.W(x86.Abs16(s.PosAddr)), x86.AX)
	i(x86.PUSH, x86.SI)
	i(x86.CALL, x86.Label("forward"))
	i(x86.POP, x86.SI)
	i(x86.INC, x86.SI)
	i(x86.INC, x86.SI)
	i(x86.CMP, x86.SI, x86.Imm(int64(2*len(s.Tokens))))
	i(x86.JB, lbl("step"))
	i(x86.MOV, flag, x86.Imm(0))
	rng(x86.POP, 0, 4)
	i(x86.MOV, x86.SI, x86.ImmLabel{Name: "selftest.ok"})
	i(x86.JMP, lbl("print"))

	p.Label(SelfTestCheck)
	i(x86.CMP, flag, x86.Imm(0))
	i(x86.JNE, lbl("sum"))
	i(x86.RET)
	p.Label("selftest.sum")
	i(x86.PUSHF)
	i(x86.PUSHAD)
	i(x86.PUSH, x86.DS)
	seg, off := segOff(s.Logits)
	i(x86.PUSH, x86.Word(int64(seg)))
	i(x86.POP, x86.DS)
	i(x86.MOV, x86.ESI, x86.Imm(int64(off)))
	i(x86.MOV, x86.ECX, x86.Imm(int64(s.N)))
	i(x86.XOR, x86.EBX, x86.EBX)
	p.Label("selftest.add")
	i(x86.ROL, x86.EBX, x86.Imm(5))
	i(x86.ADD, x86.EBX, x86.D(x86.Ptr32(x86.ESI, x86.NoReg, 1, 0)))
	i(x86.ADD, x86.ESI, x86.Imm(4))
	i(x86.LOOP|x86.A32, lbl("add"))
	i(x86.POP, x86.DS)
	i(x86.MOV, x86.DI, x86.W(x86.Abs16(s.PosAddr)))
	i(x86.SHL, x86.DI, x86.Imm(2))
	i(x86.CMP, x86.EBX, x86.D(x86.Mem{Base: x86.DI, Label: "selftest.sums"}))
	i(x86.JNE, lbl("fail"))
	i(x86.POPAD)
	i(x86.POPF)
	i(x86.RET)
	// The step in decimal after the message, then exit 2.
	p.Label("selftest.fail")
	i(x86.MOV, x86.SI, x86.ImmLabel{Name: "selftest.differs"})
	i(x86.CALL, lbl("print"))
	i(x86.MOV, x86.AX, x86.W(x86.Abs16(s.PosAddr)))
	i(x86.MOV, x86.BX, x86.Imm(10))
	i(x86.XOR, x86.CX, x86.CX)
	p.Label("selftest.div")
	i(x86.XOR, x86.DX, x86.DX)
	i(x86.DIV, x86.BX)
	i(x86.PUSH, x86.DX)
	i(x86.INC, x86.CX)
	i(x86.TEST, x86.AX, x86.AX)
	i(x86.JNZ, lbl("div"))
	p.Label("selftest.digit")
	i(x86.POP, x86.AX)
	i(x86.ADD, x86.AL, x86.Imm('0'))
	i(x86.CALL, x86.Label(Putc))
	i(x86.LOOP, lbl("digit"))
	i(x86.MOV, x86.SI, x86.ImmLabel{Name: "selftest.tail"})
	i(x86.CALL, lbl("print"))
	i(x86.MOV, x86.AL, x86.Imm(2))
	i(x86.JMP, x86.Label(Exit))
	// print writes the zero-ended string at SI.
	p.Label("selftest.print")
	i(x86.LODSB)
	i(x86.TEST, x86.AL, x86.AL)
	i(x86.JZ, lbl("ret"))
	i(x86.CALL, x86.Label(Putc))
	i(x86.JMP, lbl("print"))
	p.Label("selftest.ret")
	i(x86.RET)

	p.Mark("data: selftest")
	p.Label("selftest.on")
	p.DB(0)
	p.Label("selftest.ok")
	p.DB([]byte("self-test ok\n\x00")...)
	p.Label("selftest.differs")
	p.DB([]byte("self-test: step \x00")...)
	p.Label("selftest.tail")
	p.DB([]byte(" differs\n\x00")...)
	p.Label("selftest.tokens")
	var b []byte
	for _, t := range s.Tokens {
		b = binary.LittleEndian.AppendUint16(b, uint16(t))
	}
	p.DB(b...)
	p.Label("selftest.sums")
	b = b[:0]
	for _, v := range s.Sums {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	p.DB(b...)
	return nil
}

// segOff reaches linear address a: below 1 MiB through its own segment
// (plain real mode), above it through DS = 0 with a 32-bit offset (unreal
// mode, the flat model).
func segOff(a uint32) (seg uint16, off uint32) {
	if a >= 0x100000 {
		return 0, a
	}
	return uint16(a >> 4), a & 15
}
