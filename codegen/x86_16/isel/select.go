package isel

import (
	"fmt"

	. "tfc/codegen/x86_16"
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
func Select(prog *Program, p *ir.Program, l *Layout, o SelectOptions) error {
	e := &fast{emitter: &emitter{p: prog, seg: l.Segmented, dataSeg: ES},
		subs: map[string]*kern{}, assign: map[string]map[int]Reg{}, marks: map[string]string{}, trace: o.Trace}
	e.generate(p, l, o.Steps, o.Bench)
	e.emitter.p = &Program{}
	if err := e.forward(p, l); err != nil {
		return err
	}
	e.emitter.p = prog
	e.emitSubs()
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
			e.i(MOV, low32(addrLayerW), Imm(int64(w)))
			e.i(MOV, low32(addrLayerC), Imm(int64(c)))
			e.i(MOV, low16(addrLayerN), Imm(int64(p.Layers)))
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
			e.i(ADD, low32(addrLayerW), Imm(int64(w)))
			e.i(ADD, low32(addrLayerC), Imm(int64(c)))
			e.i(DEC, low16(addrLayerN))
			e.i(JNE, Label("layer"))
		}
	}
	e.i(RET)
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
func (e *fast) generate(p *ir.Program, l *Layout, steps int, bench bool) {
	e.p.Mark("generate")
	e.p.Label("generate")
	e.i(MOV, low16(addrTok), Imm(ir.BOS))
	e.i(MOV, low16(addrPos), Imm(0))
	e.i(MOV, low32(addrBigShift), Imm(0))
	if seed := p.Gen.Seed; hasSample(p) {
		e.i(MOV, low32(addrRng), Imm(int64(int32(uint32(seed)))))
		e.i(MOV, low32(addrRng+4), Imm(int64(int32(uint32(seed>>32)))))
	}
	e.emitter.step(bench)
	prompt := e.pointData(l.Prompt)
	e.i(MOVZX, EBX, low16(addrPos))
	e.i(INC, BX)
	e.i(CMP, BX, Imm(int64(l.NPrompt)))
	e.i(JAE, Label("chosen"))
	e.i(MOV, AX, e.far(W(Ptr32(NoReg, EBX, 2, int32(prompt))), e.dataSeg))
	e.i(MOV, low16(addrNext), AX)
	e.label("chosen")
	e.emitter.advance(steps, bench, false)
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
	e.i(RDTSC)
	e.i(SUB, EAX, low32(addrClock))
	e.i(SBB, EDX, low32(addrClock+4))
	e.i(MOV, ESI, EAX)
	e.i(MOV, EBX, EDX)
	e.i(CALL, Label("bench.hex"))
	e.i(MOV, AL, Imm(' '))
	e.i(OUT, Imm(DebugconPort), AL)
	e.i(XOR, EBX, EBX)
	e.i(MOV, ESI, low32(addrSteps))
	e.i(CALL, Label("bench.hex"))
	e.i(MOV, AL, Imm('\n'))
	e.i(OUT, Imm(DebugconPort), AL)
	e.i(JMP, Label("bench.end"))
	// bench.hex writes ebx:esi as 16 hex digits.
	e.label("bench.hex")
	e.i(MOV, CX, Imm(16))
	e.label("bench.digit")
	e.i(MOV, EAX, EBX)
	e.i(SHR, EAX, Imm(28))
	e.i(SHLD, EBX, ESI, Imm(4))
	e.i(SHL, ESI, Imm(4))
	e.i(ADD, AL, Imm('0'))
	e.i(CMP, AL, Imm('9'))
	e.i(JBE, Label("bench.out"))
	e.i(ADD, AL, Imm('a'-'0'-10))
	e.label("bench.out")
	e.i(OUT, Imm(DebugconPort), AL)
	e.i(LOOP, Label("bench.digit"))
	e.i(RET)
	e.label("bench.end")
}
