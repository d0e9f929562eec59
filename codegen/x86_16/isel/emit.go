package isel

import (
	"fmt"

	"tfc/checkpoint"
	x86 "tfc/codegen/x86_16"
	"tfc/runtime"
)

// emitter appends instructions to a program and makes fresh labels.
type emitter struct {
	p      *x86.Program
	labels int
	// seg: the segmented model. Data, weights and caches are then reached
	// through ES (weights, tables, prompt) and FS (the cache), with 16-bit
	// offsets in 32-bit registers; vars through DS = 0 as in the flat model.
	seg bool
	// dataSeg is the segment register for data (segmented): FS, since
	// the small kernels keep ES = 0 for stosd.
	dataSeg x86.Reg
	// tok: the tokenizer, whose tokens end a generation.
	tok *checkpoint.Tokenizer
}

// setSeg loads a segment register from an immediate or a word in memory
// (through AX).
func (e *emitter) setSeg(s x86.Reg, from x86.Operand) {
	e.i(x86.MOV, x86.AX, from)
	e.i(x86.MOV, s, x86.AX)
}

func (e *emitter) i(op x86.Op, args ...x86.Operand) { e.p.I(op, args...) }

// fresh returns a new local label name.
func (e *emitter) fresh(what string) string {
	e.labels++
	return fmt.Sprintf(".%s%d", what, e.labels)
}

func (e *emitter) label(name string) { e.p.Label(name) }

// low16/low32 are scalars in low memory, reached with 16-bit addressing.
func low16(addr uint16) x86.Mem { return x86.W(x86.Abs16(addr)) }
func low32(addr uint16) x86.Mem { return x86.D(x86.Abs16(addr)) }

// step starts the generation loop: the label "step" and the call of
// forward (bench builds: the time stamp first, and a count of the passes).
func (e *emitter) step(bench bool) {
	if bench {
		e.i(x86.RDTSC)
		e.i(x86.MOV, low32(addrClock), x86.EAX)
		e.i(x86.MOV, low32(addrClock+4), x86.EDX)
		e.i(x86.MOV, low32(addrSteps), x86.Imm(0))
	}
	e.label("step")
	e.i(x86.CALL, x86.Label("forward"))
	if bench {
		e.i(x86.INC, low32(addrSteps))
	}
}

// advance ends the generation loop (ir.Generate) once next (or, with inAX,
// AX) holds the chosen token: stop at BOS or EOS, print it after the
// current token, make it current, loop while positions remain; then '\n'
// through putc and exit 0, or, with typed, back to generate for the next
// line.
func (e *emitter) advance(steps int, bench, inAX, typed bool) {
	if !inAX {
		e.i(x86.MOV, x86.AX, low16(addrNext))
	}
	runtime.EmitEndCheck(e.p, e.tok, "done")
	e.i(x86.MOV, x86.BX, low16(addrTok))
	e.i(x86.CALL, x86.Label("print_piece"))
	e.i(x86.MOV, low16(addrTok), x86.AX)
	e.i(x86.INC, low16(addrPos))
	if steps <= 0xFF {
		// pos <= steps: its high byte is 0, and a byte takes an imm8.
		e.i(x86.CMP, x86.B(x86.Abs16(addrPos)), x86.Imm(int64(steps)))
	} else {
		e.i(x86.CMP, low16(addrPos), x86.Imm(int64(steps)))
	}
	e.i(x86.JB, x86.Label("step"))
	e.label("done")
	if bench {
		e.benchReport()
	}
	e.i(x86.MOV, x86.AL, x86.Imm('\n'))
	e.i(x86.CALL, x86.Label("putc"))
	if typed {
		e.i(x86.JMP, x86.Label("generate"))
		return
	}
	e.i(x86.MOV, x86.AL, x86.Imm(0))
	e.i(x86.JMP, x86.Label("exit"))
}
