package loopgen

import (
	x86 "tfc/codegen/x86_16"
	"tfc/ir"
	"tfc/lir"
)

// traceLogits writes the logits, 4·vocab bytes, to the debug console
// before the final op runs (the sampler may change them).
func (g *gen) traceLogits() {
	post := g.p.Blocks[ir.PostBlock]
	x := post[len(post)-1].Args[0]
	r, off := x.Root()
	var addr uint32
	var logits *lir.Buf
	for _, b := range g.f.Bufs {
		if b.Kind == lir.BufVar && b.Of == r {
			addr, _ = g.l.base(b)
			logits = b
		}
	}
	g.prog.Mark("trace")
	g.i(x86.MOV, x86.ESI, x86.Imm(int64(addr)+int64(4*off)))
	g.i(x86.MOV, x86.ECX, x86.Imm(int64(4*x.Len)))
	m := g.globalAt(logits, 0, 8, x86.NoReg, 0)
	m.Base = x86.ESI
	g.prog.Label("trace.byte")
	g.i(x86.MOV, x86.AL, m)
	g.i(x86.OUT, x86.Imm(DebugconPort), x86.AL)
	g.i(x86.INC, x86.ESI)
	g.i(x86.LOOP|x86.A32, x86.Label("trace.byte"))
}

// benchReport writes "CYCLES STEPS\n" in hex to the debug console.
func (g *gen) benchReport() {
	g.i(x86.RDTSC)
	g.i(x86.SUB, x86.EAX, low32(addrClock))
	g.i(x86.SBB, x86.EDX, low32(addrClock+4))
	g.i(x86.MOV, x86.ESI, x86.EAX)
	g.i(x86.MOV, x86.EBX, x86.EDX)
	g.i(x86.CALL, x86.Label("bench.hex"))
	g.i(x86.MOV, x86.AL, x86.Imm(' '))
	g.i(x86.OUT, x86.Imm(DebugconPort), x86.AL)
	g.i(x86.XOR, x86.EBX, x86.EBX)
	g.i(x86.MOV, x86.ESI, low32(addrSteps))
	g.i(x86.CALL, x86.Label("bench.hex"))
	g.i(x86.MOV, x86.AL, x86.Imm('\n'))
	g.i(x86.OUT, x86.Imm(DebugconPort), x86.AL)
	if g.o.Profile {
		// The counters, one a line.
		g.i(x86.MOV, x86.DI, x86.Imm(addrProf))
		g.prog.Label("profile.next")
		g.i(x86.MOV, x86.ESI, x86.D(x86.Mem{Base: x86.DI}))
		g.i(x86.MOV, x86.EBX, x86.D(x86.Mem{Base: x86.DI, Disp: 4}))
		g.i(x86.CALL, x86.Label("bench.hex"))
		g.i(x86.MOV, x86.AL, x86.Imm('\n'))
		g.i(x86.OUT, x86.Imm(DebugconPort), x86.AL)
		g.i(x86.ADD, x86.DI, x86.Imm(8))
		g.i(x86.CMP, x86.DI, x86.ImmLabel{Name: "profile.end"}) // forward's ops are counted later
		g.i(x86.JB, x86.Label("profile.next"))
	}
	g.i(x86.JMP, x86.Label("bench.end"))
	g.prog.Label("bench.hex") // ebx:esi as 16 hex digits
	g.i(x86.MOV, x86.CX, x86.Imm(16))
	g.prog.Label("bench.digit")
	g.i(x86.MOV, x86.EAX, x86.EBX)
	g.i(x86.SHR, x86.EAX, x86.Imm(28))
	g.i(x86.SHLD, x86.EBX, x86.ESI, x86.Imm(4))
	g.i(x86.SHL, x86.ESI, x86.Imm(4))
	g.i(x86.ADD, x86.AL, x86.Imm('0'))
	g.i(x86.CMP, x86.AL, x86.Imm('9'))
	g.i(x86.JBE, x86.Label("bench.out"))
	g.i(x86.ADD, x86.AL, x86.Imm('a'-'0'-10))
	g.prog.Label("bench.out")
	g.i(x86.OUT, x86.Imm(DebugconPort), x86.AL)
	g.i(x86.LOOP, x86.Label("bench.digit"))
	g.i(x86.RET)
	g.prog.Label("bench.end")
}
