package isel

import (
	"fmt"

	x86 "tfc/codegen/x86_16"
	"tfc/ir"
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
}

// Select appends the code of every op of p, as the function "forward"
// (token and pos in low memory in, next out), and the generation loop
// "generate" that calls it and prints each token through the runtime's
// print_piece, putc and exit routines. Each op's code is a marked region
// named after it, for size reports.
//
// The kernels are subroutines that forward calls; they come between
// generate and forward, placed in pages by emitSubs. A first pass over the
// ops builds them (its glue thrown away), the second emits forward.
func Select(prog *x86.Program, p *ir.Program, l *Layout, o SelectOptions) error {
	e := &fast{emitter: &emitter{p: prog, seg: l.Segmented, dataSeg: x86.ES},
		subs: map[string]*kern{}, assign: map[string]map[int]x86.Reg{}, marks: map[string]string{}, trace: o.Trace,
		sampling: o.Typed && hasSample(p)}
	e.generate(p, l, o)
	e.emitter.p = &x86.Program{}
	if err := e.forward(p, l); err != nil {
		return err
	}
	e.emitter.p = prog
	if err := e.emitSubs(); err != nil {
		return err
	}
	return e.forward(p, l)
}

// forward emits the function forward: the layer loop and the glue that
// points registers and segments at each op's operands and calls its
// kernel.
func (e *fast) forward(p *ir.Program, l *Layout) error {
	prog := e.emitter.p
	prog.Mark("forward")
	prog.Label("forward")
	e.opNum = 0
	for b, ops := range p.Blocks {
		if b == ir.LayerBlock {
			prog.Mark("layer loop")
			w, _ := l.layerW()
			c, _ := l.layerC()
			e.i(x86.MOV, low32(addrLayerW), x86.Imm(int64(w)))
			e.i(x86.MOV, low32(addrLayerC), x86.Imm(int64(c)))
			e.i(x86.MOV, low16(addrLayerN), x86.Imm(int64(p.Layers)))
			e.label("layer")
		}
		for _, op := range ops {
			e.opNum++
			e.opRegion = RegionName(op)
			final := e.trace && op == finalOp(p)
			if final {
				// Before the op's glue, which sets the sampler's ES.
				e.traceLogits(l.VarAddr(op.Args[0]), op.Args[0].Len)
			}
			prog.Mark(e.opRegion)
			if op.Kind == ir.Sample {
				if err := e.sample(op, p, l); err != nil {
					return err
				}
			} else {
				e.op(op, l)
			}
			if final {
				e.traceToken(false, e.opRegion)
			}
		}
		if b == ir.LayerBlock {
			prog.Mark("layer loop")
			_, w := l.layerW()
			_, c := l.layerC()
			e.i(x86.ADD, low32(addrLayerW), x86.Imm(int64(w)))
			e.i(x86.ADD, low32(addrLayerC), x86.Imm(int64(c)))
			e.i(x86.DEC, low16(addrLayerN))
			e.i(x86.JNE, x86.Label("layer"))
		}
	}
	e.i(x86.RET)
	return nil
}

func opName(op *ir.Op) string {
	if op.Dst != nil {
		return op.Dst.Name
	}
	if op.Cache != nil {
		return op.Cache.Name
	}
	return "next"
}

func (e *fast) op(op *ir.Op, l *Layout) {
	switch op.Kind {
	case ir.Embed:
		e.embed(op, l)
	case ir.RMSNorm:
		e.rmsnorm(op, l)
	case ir.MatMul:
		e.matmul(op, l)
	case ir.RoPE:
		e.rope(op, l)
	case ir.Store:
		e.store(op, l)
	case ir.Attention:
		e.attention(op, l)
	case ir.Gate:
		e.gate(op, l)
	case ir.Mul:
		e.mul(op, l)
	case ir.Add:
		e.add(op, l)
	case ir.Argmax:
		e.argmax(op, l)
	default:
		panic(fmt.Sprintf("BUG: isel: op %v", op.Kind))
	}
}

// generate is llama2.c's loop (ir.Generate): forward, the prompt's next
// token forced while there is one, stop at BOS or EOS, print, advance.
func (e *fast) generate(p *ir.Program, l *Layout, o SelectOptions) {
	steps, bench := o.Steps, o.Bench
	if e.sampling {
		// The sampler's parameters, once: parameter lines change them.
		e.p.Mark("sampling")
		s := ir.SamplingOf(p.Gen)
		e.i(x86.MOV, low32(addrInvT), x86.Imm(s.InvT))
		e.i(x86.MOV, low32(addrTopP), x86.Imm(s.TopP))
	}
	e.p.Mark("generate")
	e.p.Label("generate")
	if o.Typed {
		e.i(x86.CALL, x86.Label("read_prompt"))
	}
	e.i(x86.MOV, low16(addrTok), x86.Imm(ir.BOS))
	e.i(x86.MOV, low16(addrPos), x86.Imm(0))
	e.i(x86.MOV, low32(addrBigShift), x86.Imm(0))
	if seed := p.Gen.Seed; hasSample(p) && p.Gen.SeedClock {
		// seed clock: the BIOS's ticks since midnight (INT 1Ah) in the
		// low half, 1 in the high one (never 0, which xorshift keeps).
		e.i(x86.MOV, x86.AH, x86.Imm(0))
		e.i(x86.INT, x86.Imm(0x1A))
		e.i(x86.MOV, low16(addrRng), x86.DX)
		e.i(x86.MOV, low16(addrRng+2), x86.CX)
		e.i(x86.MOV, low32(addrRng+4), x86.Imm(1))
	} else if hasSample(p) {
		e.i(x86.MOV, low32(addrRng), x86.Imm(int64(int32(uint32(seed)))))
		e.i(x86.MOV, low32(addrRng+4), x86.Imm(int64(int32(uint32(seed>>32)))))
	}
	e.emitter.step(bench)
	if o.Typed {
		e.i(x86.MOV, x86.AX, low16(addrNext))
		e.i(x86.MOV, x86.BX, low16(addrPos))
		e.i(x86.CALL, x86.Label("prompt_next"))
		e.emitter.advance(steps, bench, true, true)
		return
	}
	prompt := e.pointData(l.Prompt)
	e.i(x86.MOVZX, x86.EBX, low16(addrPos))
	e.i(x86.INC, x86.BX)
	e.i(x86.CMP, x86.BX, x86.Imm(int64(l.NPrompt)))
	e.i(x86.JAE, x86.Label("chosen"))
	e.i(x86.MOV, x86.AX, e.far(x86.W(x86.Ptr32(x86.NoReg, x86.EBX, 2, int32(prompt))), e.dataSeg))
	e.i(x86.MOV, low16(addrNext), x86.AX)
	e.label("chosen")
	e.emitter.advance(steps, bench, false, false)
}

func hasSample(p *ir.Program) bool {
	found := false
	p.Ops(func(_ int, op *ir.Op) { found = found || op.Kind == ir.Sample })
	return found
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
