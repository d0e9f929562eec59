package isel

import (
	x86 "tfc/codegen/x86_16"
)

// SelectOptions say what an image does besides generating.
type SelectOptions struct {
	Steps int // positions to generate, prompt included
	// Bench: report the time stamp counter's advance and the forward
	// passes run on the debug console (benchReport).
	Bench bool
	// Trace: write every forward pass's logits and chosen token to the
	// debug console (trace.go), for tests against the simulator.
	Trace bool
	// Typed: the prompt is typed (generate { prompt = typed }): each
	// generation starts with the runtime's read_prompt and takes the
	// prompt's tokens from its prompt_next, and the loop asks again
	// instead of exiting.
	Typed bool
	// SelfTest: the image runs the runtime's self-test (runtime.SelfTest)
	// before its first generation; forward calls its check before the
	// final op.
	SelfTest bool
}

// DebugconPort is QEMU's debug console: bench builds write their counts
// there, away from the story on COM1.
const DebugconPort = 0xE9

// benchReport writes "CYCLES STEPS\n" in hex to the debug console: the
// time stamp counter's advance over the generation (under QEMU's -icount
// shift=0, the guest instructions executed) and the forward passes run.
func (e *emitter) benchReport() {
	e.i(x86.RDTSC)
	e.i(x86.SUB, x86.EAX, low32(addrClock))
	e.i(x86.SBB, x86.EDX, low32(addrClock+4))
	e.i(x86.MOV, x86.ESI, x86.EAX)
	e.i(x86.MOV, x86.EBX, x86.EDX)
	e.i(x86.CALL, x86.Label("bench.hex"))
	e.i(x86.MOV, x86.AL, x86.Imm(' '))
	e.i(x86.OUT, x86.Imm(DebugconPort), x86.AL)
	e.i(x86.XOR, x86.EBX, x86.EBX)
	e.i(x86.MOV, x86.ESI, low32(addrSteps))
	e.i(x86.CALL, x86.Label("bench.hex"))
	e.i(x86.MOV, x86.AL, x86.Imm('\n'))
	e.i(x86.OUT, x86.Imm(DebugconPort), x86.AL)
	e.i(x86.JMP, x86.Label("bench.end"))
	// bench.hex writes ebx:esi as 16 hex digits.
	e.label("bench.hex")
	e.i(x86.MOV, x86.CX, x86.Imm(16))
	e.label("bench.digit")
	e.i(x86.MOV, x86.EAX, x86.EBX)
	e.i(x86.SHR, x86.EAX, x86.Imm(28))
	e.i(x86.SHLD, x86.EBX, x86.ESI, x86.Imm(4))
	e.i(x86.SHL, x86.ESI, x86.Imm(4))
	e.i(x86.ADD, x86.AL, x86.Imm('0'))
	e.i(x86.CMP, x86.AL, x86.Imm('9'))
	e.i(x86.JBE, x86.Label("bench.out"))
	e.i(x86.ADD, x86.AL, x86.Imm('a'-'0'-10))
	e.label("bench.out")
	e.i(x86.OUT, x86.Imm(DebugconPort), x86.AL)
	e.i(x86.LOOP, x86.Label("bench.digit"))
	e.i(x86.RET)
	e.label("bench.end")
}
