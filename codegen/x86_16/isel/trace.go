package isel

import (
	x86 "tfc/codegen/x86_16"
	"tfc/ir"
)

// Trace builds (SelectOptions.Trace) write, per forward pass, the logits
// (4·vocab bytes, Q16.16 little-endian) and then the token the final op
// chose (2 bytes, little-endian) to the debug console. Both generators write
// the same bytes, so that one parser (codegen.ParseTrace) reads either.

// finalOp is the op that chooses the token (argmax or sample): the last
// of the post-layer block. Its input is the logits.
func finalOp(p *ir.Program) *ir.Op {
	post := p.Blocks[ir.PostBlock]
	return post[len(post)-1]
}

// traceLogits writes the n dwords at x (low memory) to the debug
// console. It runs before the final op, as the loop generator's trace
// does (the small sampler overwrites the logits in place). It clobbers AL, ESI and the flags, which the final op sets before
// it reads them.
func (e *emitter) traceLogits(x uint32, n int) {
	e.p.Mark("trace")
	e.i(x86.MOV, x86.ESI, x86.Imm(int64(x)))
	top := e.fresh("trace")
	e.label(top)
	e.i(x86.MOV, x86.AL, x86.B(x86.Ptr32(x86.ESI, x86.NoReg, 1, 0)))
	e.i(x86.OUT, x86.Imm(DebugconPort), x86.AL)
	e.i(x86.INC, x86.ESI)
	e.i(x86.CMP, x86.ESI, x86.Imm(int64(x)+int64(4*n)))
	e.i(x86.JB, x86.Label(top))
}

// traceToken writes the chosen token to the debug console, low byte
// first: from AX with inAX (the small argmax's result, which its generation
// loop takes from AX: AX and the flags are left as they were), else from
// next, through AX. A byte at a time:
// QEMU's debug console is a one-byte port. The code after it (forward's
// ret) goes back to region, the final op's, as in a build without trace.
func (e *emitter) traceToken(inAX bool, region string) {
	e.p.Mark("trace")
	if !inAX {
		e.i(x86.MOV, x86.AX, low16(addrNext))
	}
	e.i(x86.OUT, x86.Imm(DebugconPort), x86.AL)
	e.i(x86.XCHG, x86.AL, x86.AH)
	e.i(x86.OUT, x86.Imm(DebugconPort), x86.AL)
	e.i(x86.XCHG, x86.AL, x86.AH)
	e.p.Mark(region)
}
