package loopgen

import (
	"encoding/binary"
	"fmt"
	"maps"

	x86 "tfc/codegen/x86_16"
	"tfc/ir"
	"tfc/lir"
	"tfc/regalloc"
	"tfc/runtime"
)

// Options control Select.
type Options struct {
	Steps int
	// Trace writes, after every forward pass, the logits (4·vocab bytes)
	// and the chosen token (2 bytes) to QEMU's debug console.
	Trace bool
	// Bench reports the time stamp counter's advance over the generation
	// and the number of forward passes on the debug console.
	Bench bool
	// Profile (with Bench) also counts the time stamp counter's advance
	// over each op's call, and reports the counts after Bench's line, one
	// a line in hex, in the order of Select's ProfileNames.
	Profile bool
	// Typed: the prompt is typed (generate { prompt = typed }): each
	// generation starts with the runtime's read_prompt (and the sampler
	// seeded anew) and takes the prompt's tokens from its prompt_next,
	// and the loop asks again instead of exiting.
	Typed bool
	// SelfTest: the image runs the runtime's self-test (runtime.SelfTest)
	// before its first generation; forward calls its check before the
	// final op.
	SelfTest bool
	// Finish: the console has the boot sector's finish
	// (runtime.Console.BootFinish), which ends the generation.
	Finish bool
	// Size: the size policy's build, where the peephole trades an
	// instruction for bytes (peephole).
	Size bool
	// Cache, where set, keeps the kernels this Select allocates, and
	// gives back those that another allocated (the size policy's two
	// builds of one model).
	Cache *Cache
	// Unpinned: the layer slots that no segment register stands for
	// (pinSlots), where a kernel needs the register for another group.
	Unpinned []uint16
}

// DebugconPort is QEMU's debug console.
const DebugconPort = 0xE9

// Select appends the code of f: the generation loop "generate", the
// function "forward" (the layer loop and a call of each op's kernel), and
// the kernels. The console (print_piece, putc, exit) comes from the
// runtime.
//
// With o.Profile, it returns the names of the ops whose counts the image
// reports, in order.
func Select(prog *x86.Program, p *ir.Program, f *lir.Func, l *Layout, o Options) ([]string, error) {
	o.Bench = o.Bench || o.Profile
	g := &gen{prog: prog, p: p, f: f, l: l, o: o, keeps: map[*lir.Proc]bool{}, lookups: map[lookupRoutine]bool{}, mac2s: map[mac2Routine]bool{}, rshrShifts: map[int64]bool{}}
	l.esOffsets = esOffsets(f, l)
	g.pass = planPassing(f, l, p.Layers)
	g.returns = g.returnsNext()
	g.chains = g.chainCalls()
	if o.Size {
		// generate reads the chosen token through ES (afterForward)
		// where forward does not return it.
		esAfter := g.returns == nil && l.Segmented && l.Group[l.next] == activations
		g.pins = pinSlots(f, l, g.pass, o.Unpinned, esAfter)
	}
	g.generate()
	if err := g.forward(); err != nil {
		return nil, err
	}
	if err := g.checkPins(); err != nil {
		return nil, err
	}
	g.dropUnreadSegs()
	if o.Profile {
		g.prog.Equ("profile.end", uint32(addrProf+8*len(g.profiled)))
	}
	return g.profiled, nil
}

type gen struct {
	prog *x86.Program
	p    *ir.Program
	f    *lir.Func
	l    *Layout
	o    Options
	ops  int
	pass map[*lir.Proc]*passing // how each proc is passed its arguments
	// returns: the store of the next token that ends forward, which
	// returns it in ax instead (returnsNext).
	returns *lir.Inst
	// keeps: procs that keep their callers' segment registers (a caller
	// holds FS or GS across a call); others load theirs over them.
	keeps map[*lir.Proc]bool
	// profiled are the ops Profile counts, by their region names.
	profiled []string
	// rshrShifts: the counts whose entries of the rshr routine some
	// kernel calls (0: the routine itself, by cl), emitted after the
	// procs.
	rshrShifts map[int64]bool
	// lookups: the lookup routines the kernels call, emitted after rshr;
	// mac2s: the mac2 routines, before it.
	lookups map[lookupRoutine]bool
	mac2s   map[mac2Routine]bool
	chains  chains
	// held: the segment registers that forward's code holds a group's
	// segment in where it has come to, by the word each was loaded from
	// (heldAfter): an op's kernel that reaches the group takes it there,
	// with no load.
	held map[x86.Reg]uint16
	// pins: the layer slots whose segments a register holds from the
	// layer loop's start on (pinSlots); underPins: forward has come there.
	pins      map[uint16]x86.Reg
	underPins bool
}

func (g *gen) i(op x86.Op, args ...x86.Operand) { g.prog.I(op, args...) }

func low16(a uint16) x86.Mem { return x86.W(x86.Abs16(a)) }
func low32(a uint16) x86.Mem { return x86.D(x86.Abs16(a)) }

// global is size bits at offset off of global buffer b: flat, at its
// linear address; segmented, in the globals' segment, which it loads in
// es first (a kernel may have changed es).
func (g *gen) global(b *lir.Buf, off uint32, size int) x86.Mem {
	a, _ := g.l.base(b)
	return g.globalAt(b, a+off, size, x86.NoReg, 0)
}

// globalAt is global's operand for an address (or offset) a in b, with an
// index register scaled.
func (g *gen) globalAt(b *lir.Buf, a uint32, size int, index x86.Reg, scale int) x86.Mem {
	return g.groupAt(g.l.Group[b], a, size, index, scale)
}

// groupAt is globalAt's operand in group gr (segmented; flat, a linear
// address).
func (g *gen) groupAt(gr Group, a uint32, size int, index x86.Reg, scale int) x86.Mem {
	m := x86.Mem{Size: size, Disp: int32(a), Index: index, Scale: scale, Addr32: true}
	if g.l.Segmented && gr == zeroGroup {
		m.Seg = x86.DS
		return plainDS(addr16(m))
	}
	if g.l.Segmented {
		if gr.Add != 0 {
			panic("BUG: loopgen: a layer's buffer outside a kernel")
		}
		if gr == activations {
			g.i(x86.PUSH, x86.Imm(int64(g.l.activationsSeg())))
			g.i(x86.POP, x86.ES)
		} else {
			g.i(x86.MOV, x86.ES, low16(gr.Slot))
		}
		m.Seg = x86.ES
	}
	return addr16(m)
}

// afterForward is global's operand for b right after forward returns,
// which leaves ES at the activations' segment (segRegs), segmented or
// flat (Low): a buffer there needs no load of ES, and an offset in it
// takes 16 bits.
func (g *gen) afterForward(b *lir.Buf, size int) x86.Mem {
	if (g.l.Segmented || g.l.Low) && (g.l.Group[b] == activations || g.l.Group[b] == zeroGroup) {
		a, _ := g.l.base(b)
		seg := x86.ES
		if g.l.Group[b] == zeroGroup {
			seg = x86.DS
		}
		if !g.l.Segmented {
			a, seg = a-g.l.LowBase, g.l.lowReg()
		}
		return plainDS(addr16(x86.Mem{Size: size, Disp: int32(a), Seg: seg, Addr32: true}))
	}
	return g.global(b, 0, size)
}

// addr16 is m with a 16-bit address where an offset in a segment alone
// makes it: [es:0xe110] takes no 0x67 prefix and two bytes of
// displacement fewer than [es:dword 0xe110]. Only with a segment: a
// 16-bit address from ds is the low-memory slots' form.
func addr16(m x86.Mem) x86.Mem {
	if m.Seg != x86.NoReg && m.Base == x86.NoReg && m.Index == x86.NoReg && m.Disp >= 0 && m.Disp < 0x10000 {
		m.Addr32 = false
	}
	return m
}

// storeSegs stores the global groups' segments in their slots, which the
// kernels read (not the activations', a constant: activationsSeg).
func (g *gen) storeSegs() {
	for _, s := range g.l.Segs {
		if s.Slot != activations.Slot {
			g.i(x86.MOV, low16(s.Slot), x86.Imm(int64(s.Seg)))
		}
	}
}

// dropUnreadSegs drops storeSegs' stores to the slots that no code reads:
// a group whose segment a register holds wherever it is reached (pinned,
// held) or that a call passes as an immediate. untied-random's classifier
// is such a group, 6 bytes. Every read of a slot is absolute (its word in
// low memory, or a dword or byte over it); an immediate equal to the slot
// (its address in a register) keeps it too.
func (g *gen) dropUnreadSegs() {
	isStore := func(in x86.Inst) (uint16, bool) {
		if in.Op != x86.MOV || len(in.Args) != 2 {
			return 0, false
		}
		m, ok := in.Args[0].(x86.Mem)
		_, imm := in.Args[1].(x86.Imm)
		if !ok || !imm || m != low16(uint16(m.Disp)) {
			return 0, false
		}
		for _, s := range g.l.Segs {
			if s.Slot == uint16(m.Disp) && s.Slot != activations.Slot {
				return s.Slot, true
			}
		}
		return 0, false
	}
	read := map[uint16]bool{}
	for _, in := range g.prog.Insts() {
		if _, st := isStore(in); st {
			continue
		}
		for _, a := range in.Args {
			switch a := a.(type) {
			case x86.Mem:
				if a.Base != x86.NoReg || a.Index != x86.NoReg || a.Label != "" {
					continue
				}
				n := max(a.Size/8, 1)
				for _, s := range g.l.Segs {
					if a.Disp < int32(s.Slot)+2 && a.Disp+int32(n) > int32(s.Slot) {
						read[s.Slot] = true
					}
				}
			case x86.Imm:
				if a >= 0 && a < 0x10000 {
					read[uint16(a)] = true
				}
			}
		}
	}
	g.prog.Expand(func(in x86.Inst) []x86.Inst {
		if s, st := isStore(in); st && !read[s] {
			return []x86.Inst{}
		}
		return nil
	})
}

// generate is llama2.c's loop (ir.Generate): forward, the prompt's next
// token forced while there is one, stop at BOS or EOS, print, advance.
func (g *gen) generate() {
	if g.o.SelfTest {
		// Its forward passes need the segments.
		g.prog.Mark("selftest")
		g.storeSegs()
		g.i(x86.CALL, x86.Label(runtime.SelfTestRun))
	}
	g.prog.Mark("generate")
	g.prog.Label("generate")
	if g.o.Typed {
		g.i(x86.CALL, x86.Label("read_prompt"))
	}
	g.storeSegs()
	for _, b := range g.f.Bufs {
		if b.Kind != lir.BufState {
			continue
		}
		switch {
		case b.Kind == lir.BufState && b.Name == "rng" && g.p.Gen.SeedClock:
			// seed clock: the BIOS's ticks since midnight (INT 1Ah) in
			// the low half, 1 in the high one (never 0, which xorshift
			// keeps).
			g.i(x86.MOV, x86.AH, x86.Imm(0))
			g.i(x86.INT, x86.Imm(0x1A))
			g.i(x86.MOV, g.global(b, 0, 16), x86.DX)
			g.i(x86.MOV, g.global(b, 2, 16), x86.CX)
			g.i(x86.MOV, g.global(b, 4, 32), x86.Imm(1))
		case b.Kind == lir.BufState && b.Name == "rng" && g.o.Typed:
			// Its initial value again for each line (the sampler's seed).
			for k := 0; k+4 <= len(b.Init); k += 4 {
				v := binary.LittleEndian.Uint32(b.Init[k:])
				g.i(x86.MOV, g.global(b, uint32(k), 32), x86.Imm(int64(int32(v))))
			}
		}
	}
	if start := g.p.Tokenizer.Start(); start >= 0 && start < 0x100 {
		// 9 bytes for BOS (10 for another byte) where two movs of
		// immediates take 11.
		g.i(x86.XOR, x86.AX, x86.AX)
		g.i(x86.MOV, low16(addrPos), x86.AX)
		if start == 1 {
			g.i(x86.INC, x86.AX)
		} else if start != 0 {
			g.i(x86.MOV, x86.AL, x86.Imm(int64(start)))
		}
		g.i(x86.MOV, low16(addrTok), x86.AX)
	} else {
		g.i(x86.MOV, low16(addrTok), x86.Imm(int64(start)))
		g.i(x86.AND, low16(addrPos), x86.Imm(0)) // mov's word of 0 is a byte longer
	}
	if g.o.Profile {
		// Low memory holds what the BIOS and the loader left: the
		// counters start at 0.
		g.i(x86.XOR, x86.EAX, x86.EAX)
		g.i(x86.MOV, x86.DI, x86.Imm(addrProf))
		g.i(x86.MOV, x86.CX, x86.Imm((addrProfEnd-addrProf)/4))
		g.i(x86.REP | x86.STOSD)
	}
	if g.o.Bench {
		g.i(x86.RDTSC)
		g.i(x86.MOV, low32(addrClock), x86.EAX)
		g.i(x86.MOV, low32(addrClock+4), x86.EDX)
		g.i(x86.MOV, low32(addrSteps), x86.Imm(0))
	}
	g.prog.Label("step")
	g.i(x86.CALL, x86.Label("forward"))
	if g.o.Bench {
		g.i(x86.INC, low32(addrSteps))
	}
	if g.returns == nil {
		g.i(x86.MOV, x86.AX, g.afterForward(g.l.next, 16))
	}
	if g.o.Typed {
		g.i(x86.MOV, x86.BX, low16(addrPos))
		g.i(x86.CALL, x86.Label("prompt_next"))
	}
	if g.l.NPrompt > 1 {
		g.i(x86.MOVZX, x86.EBX, low16(addrPos))
		g.i(x86.INC, x86.BX)
		g.i(x86.CMP, x86.BX, x86.Imm(int64(g.l.NPrompt)))
		g.i(x86.JAE, x86.Label("chosen"))
		g.i(x86.MOV, x86.AX, g.groupAt(activations, g.l.Prompt, 16, x86.EBX, 2)) // the prompt is in the activations' group
		g.prog.Label("chosen")
	}
	runtime.EmitEndCheck(g.prog, g.p.Tokenizer, "done")
	// The chosen token takes the current one's place, which print_piece
	// gets as the previous (BX): an exchange, a byte fewer than a load
	// before the call and a store after it.
	g.i(x86.MOV, x86.BX, x86.AX)
	g.i(x86.XCHG, x86.BX, low16(addrTok))
	g.i(x86.CALL, x86.Label("print_piece"))
	g.i(x86.INC, low16(addrPos))
	if g.o.Steps < 0x100 {
		// The position stays below 256: its low byte compares as it
		// does (a byte fewer).
		g.i(x86.CMP, x86.B(x86.Abs16(addrPos)), x86.Imm(int64(g.o.Steps)))
	} else if h, ok := highPart(low16(addrPos), x86.Imm(int64(g.o.Steps))); ok {
		// A multiple of 256 (llama2-typed.tf's 256 steps): the
		// high byte alone, as cmpHigh compares it.
		g.i(x86.CMP, h.at, h.imm)
	} else {
		g.i(x86.CMP, low16(addrPos), x86.Imm(int64(g.o.Steps)))
	}
	g.i(x86.JB, x86.Label("step"))
	g.prog.Label("done")
	if g.o.Bench {
		g.benchReport()
	}
	if g.o.Typed {
		g.i(x86.MOV, x86.AL, x86.Imm('\n'))
		g.i(x86.CALL, x86.Label("putc"))
		g.i(x86.JMP, x86.Label("generate"))
		return
	}
	runtime.EmitEnd(g.prog, g.o.Finish)
}

// returnsNext is the store of the next token that ends forward's last
// op, where forward may return the token in ax instead (its kernel's
// last instructions: mov ax, v; ret), which the generation loop reads
// where it read the buffer (a store and a load fewer, 10 bytes where the
// move and the kernel's ret take 1 to 3). Not where anything after the
// op reads the buffer or ax: the logits' trace, the profile's counters,
// the self-test.
func (g *gen) returnsNext() *lir.Inst {
	if g.o.Trace || g.o.Profile || g.o.SelfTest || len(g.f.Body) == 0 {
		return nil
	}
	op := g.f.Body[len(g.f.Body)-1]
	if op.Kind != lir.NOp || len(op.Body) == 0 {
		return nil
	}
	last := op.Body[len(op.Body)-1]
	if last.Kind != lir.NInst || last.Inst.Op != lir.OpStore {
		return nil
	}
	m := last.Inst.Mem
	if m.Buf != g.l.next || m.Base != lir.NoReg || m.Index != lir.NoReg || m.Disp != 0 || m.Width != 4 {
		return nil
	}
	return &last.Inst
}

// forward runs each op's kernel in order, the layer block's once per
// layer with the layer pointers advanced between.
func (g *gen) forward() error {
	g.prog.Mark("forward")
	g.prog.Label("forward")
	switch {
	case g.l.Segmented:
		g.i(x86.PUSH, x86.Imm(int64(g.l.activationsSeg()))) // the kernels' activations (segRegs)
		g.i(x86.POP, x86.ES)
	case g.l.Low && g.l.lowSeg() != 0:
		g.i(x86.PUSH, x86.Imm(int64(g.l.lowSeg())))
		g.i(x86.POP, x86.ES)
	case g.l.Low:
		// Zero placement: ES is 0 as DS (rep stosd's fill writes ES:DI),
		// as the boot hands over (runtime.BootConfig) and the runtime's
		// routines leave it.
	}
	final := len(g.f.Body) - 1
	for i, n := range g.f.Body {
		switch n.Kind {
		case lir.NOp:
			if i == final && g.o.SelfTest {
				g.i(x86.CALL, x86.Label(runtime.SelfTestCheck))
				g.held = nil
			}
			if i == final && g.o.Trace {
				g.traceLogits()
			}
			if err := g.callOp(n); err != nil {
				return err
			}
		case lir.NLayers:
			g.prog.Mark("layer loop")
			// Segmented, the slots hold segments, which only words read.
			slot := low32
			if g.l.Segmented {
				slot = low16
			}
			g.layerStarts(slot)
			g.underPins = true
			// The loop ends where a region's slot that steps reaches
			// its value after the last layer (a compare, where setting
			// a count and counting it down take more), or on a count of
			// the layers left where neither steps.
			ends := uint16(0)
			switch {
			case g.l.StrideW != 0:
				ends = addrLayerW
			case g.l.StrideC != 0:
				ends = addrLayerC
			default:
				g.i(x86.MOV, low16(addrLayerN), x86.Imm(int64(g.p.Layers)))
			}
			g.prog.Label("layer")
			g.held = nil // the layer's slots step, and the loop comes back
			for _, op := range n.Body {
				if err := g.callOp(op); err != nil {
					return err
				}
			}
			g.prog.Mark("layer loop")
			g.layerSteps(slot, ends)
			if ends == 0 {
				g.i(x86.DEC, low16(addrLayerN))
			}
			g.i(x86.JNE, x86.Label("layer"))
			g.held = nil
		default:
			return fmt.Errorf("BUG: loopgen: node kind %d at the top of the function", n.Kind)
		}
	}
	if g.o.Trace {
		g.prog.Mark("trace")
		g.i(x86.MOV, x86.AX, g.global(g.l.next, 0, 16))
		g.i(x86.OUT, x86.Imm(DebugconPort), x86.AL)
		g.i(x86.MOV, x86.AL, x86.AH)
		g.i(x86.OUT, x86.Imm(DebugconPort), x86.AL)
	}
	if g.returns == nil {
		g.i(x86.RET)
	}
	// A proc's calls of procs: its segments are not known before it is
	// selected, and it may come after its callees.
	for _, p := range g.f.Procs {
		lir.Walk(p.Body, func(n *lir.Node) {
			if n.Kind == lir.NCall {
				g.keeps[n.Proc] = true
			}
		})
	}
	for _, p := range g.chains.order(g.f.Procs) {
		if err := g.emitProc(p); err != nil {
			return err
		}
	}
	g.mac2Routines()
	g.rshrEntries()
	g.lookupRoutines()
	return nil
}

// emitProc appends a proc: its params loaded from the argument slots, its
// body, ret.
func (g *gen) emitProc(p *lir.Proc) error {
	return g.finish(func(v variant) *kernel {
		k := g.newKernel(p.Name, p.Body, p)
		k.pins = g.pins // a proc's calls may come under them
		k.note = "proc " + p.Name
		k.fallsInto = g.chains.next[p] != nil
		k.variant = v
		k.nodes(p.Body)
		return k
	}, p.Name, fmt.Sprintf("proc %s (%d calls)", p.Name, p.Calls), procSpillBase, true)
}

// newKernel starts the kernel of nodes: an op's, or proc's body (its
// params loaded first, so that bound knows their bounds).
func (g *gen) newKernel(name string, nodes []*lir.Node, proc *lir.Proc) *kernel {
	k := newKernel(g.f, g.l, name, nodes)
	k.pass = g.pass
	k.returns = g.returns
	k.short = g.o.Size
	k.cache = g.o.Cache
	if proc != nil {
		k.proc = proc
		k.params(proc)
	}
	k.bound(nodes, int64(g.o.Steps))
	k.passedSegments(nodes)
	return k
}

// variant is how a kernel selects what the size policy selects two ways
// (finish keeps the smaller).
type variant struct {
	// cdq: sign extensions to 64 bits take cdq (1 byte where a copy and
	// a shift take 7, but it fixes eax and edx).
	cdq bool
	// rshrCall: a rounding shift of an i64 to its low dword by a
	// constant calls the shared routine rshrRoutine (mov cl, n; call:
	// 5 bytes where shrd, adc take 9, but it fixes eax, edx and ecx).
	rshrCall bool
	// toZero: a loop whose index only addresses memory counts up to 0
	// (countToZero: 2 or 3 bytes fewer a loop, but its addresses are
	// 16-bit, which pairs their registers).
	toZero bool
	// mac2Call: an OpMac2 calls its shared routine (mac2Routine: a lea
	// and a call, where inline it takes about 30 bytes, but it fixes
	// eax, ecx, edx and bx).
	mac2Call bool
	// rebase: a region's pointer is added into the offsets that address
	// through it (rebase: a byte fewer an address, and a register free,
	// but an add a definition).
	rebase bool
}

// recolorReach is how many bytes behind a kernel may be before its
// registers are traded (polish) and still be compared with the chosen
// one's, traded: of every example's kernels, those that won were 1 to 4
// bytes behind, and the largest gain of a trade was 10 bytes
// (llama2-int8's attention, 16 behind, then still 6). A trade of a far
// larger kernel (attention's) is the build's slowest step.
const recolorReach = 8

// finish selects a kernel (build), allocates it with spill slots from
// spill, and appends it as region mark: a subroutine (ret: it returns),
// or code that falls through to what follows. The size policy selects it
// with cdq and without, keeps the smaller, and then that with its
// rounding shifts as calls, and then with its loops counting up to 0,
// each where smaller again; then it trades the chosen kernel's registers
// where smaller (polish), and those of the one without loops counting up
// to 0.
func (g *gen) finish(build func(v variant) *kernel, name, mark string, spill int, ret bool) error {
	k := build(variant{})
	a, err := g.allocateKernel(k, name, mark, spill, ret)
	if err != nil {
		return err
	}
	if g.o.Size {
		// within: k2's allocation b is smaller than the kept one by
		// more than reach bytes (with the routines each would be the
		// first to call).
		within := func(b allocation, k2 *kernel, reach int) bool {
			return b.bytes()+g.newMac2Bytes(k2) < a.bytes()+g.newMac2Bytes(k)+reach
		}
		// try keeps v's kernel where it is smaller; it reports whether.
		try := func(v variant, k2 *kernel) bool {
			b, err := g.allocateKernel(k2, name, mark, spill, ret)
			if err == nil && within(b, k2, 0) {
				a, k = b, k2
				return true
			}
			return false
		}
		v := variant{cdq: true}
		v.cdq = try(v, build(v))
		v.rshrCall = true
		if k3 := build(v); len(k3.rshrShifts) == 0 || !try(v, k3) {
			v.rshrCall = false
		}
		v.toZero = true
		if k4 := build(v); len(k4.bias) > 0 && !try(v, k4) { // a loop counts up to 0
			v.toZero = false
		}
		v.mac2Call = true
		if k5 := build(v); len(k5.mac2s) == 0 || !try(v, k5) {
			v.mac2Call = false
		}
		v.rebase = true
		if k6 := build(v); len(k6.region) > 0 && !try(v, k6) {
			v.rebase = false
		}
		a = polish(k, a, spill)
		// Traded registers can make the loops that count up to 0 the
		// larger after all (rmsnorm's procedure steps si with lodsd
		// counting up from 0, where it steps di with add counting to
		// 0): the kernel without them is polished too, unless it is
		// too far behind for that to close (recolorReach).
		if len(k.bias) > 0 {
			v.toZero = false
			k2 := build(v)
			b, err := g.allocateKernel(k2, name, mark, spill, ret)
			if err == nil && within(b, k2, recolorReach) {
				if b = polish(k2, b, spill); within(b, k2, 0) {
					a, k = b, k2
				}
			}
		}
	}
	maps.Copy(g.rshrShifts, k.rshrShifts)
	maps.Copy(g.lookups, k.lookups)
	for r := range k.mac2s {
		g.mac2s[r], g.rshrShifts[r.bits] = true, true
	}
	if spill+4*a.slots > spillEnd || (spill == spillBase && spill+4*a.slots > procSpillBase) {
		return fmt.Errorf("%s: %d spill slots, more than low memory holds", mark, a.slots)
	}
	g.prog.Mark(mark)
	g.prog.Label(name)
	return regalloc.Rewrite(a.k, a.as, g.prog)
}

// polish trades the registers of k's allocation a where smaller.
func polish(k *kernel, a allocation, spill int) allocation {
	if b, err := recolored(k, a.o, spill, false); err == nil && b.bytes() < a.bytes() {
		a = b
	}
	// Where it loads through a lone index that it steps: traded
	// again with that register its base, so that lods take loads
	// through si (indexBase: not before the choice;
	// steppedIndexLoad: the second Recolor costs build time).
	if k.short && steppedIndexLoad(a.k) {
		if b, err := recolored(k, a.o, spill, true); err == nil && b.bytes() < a.bytes() {
			a = b
		}
	}
	return a
}

// callOp runs an op's kernel where forward is.
func (g *gen) callOp(n *lir.Node) error {
	if n.Kind != lir.NOp {
		return fmt.Errorf("BUG: loopgen: node kind %d where an op belongs", n.Kind)
	}
	g.ops++
	name := fmt.Sprintf("op%d", g.ops)
	g.prog.Mark(n.Note)
	if g.o.Profile {
		// rdtsc before and after: the kernel and one rdtsc count
		// toward the op.
		g.i(x86.RDTSC)
		g.i(x86.MOV, low32(addrProfT), x86.EAX)
		g.i(x86.MOV, low32(addrProfT+4), x86.EDX)
	}
	emit := g.emitKernel
	if g.chains.gone[n] {
		emit = g.emitData
		g.held = nil // a call
	}
	if err := emit(name, n); err != nil {
		return err
	}
	if g.o.Profile {
		c := uint16(addrProf + 8*len(g.profiled))
		if c+8 > addrProfEnd {
			return fmt.Errorf("--profile: more ops than the profile's %d counters", (addrProfEnd-addrProf)/8)
		}
		g.i(x86.RDTSC)
		g.i(x86.SUB, x86.EAX, low32(addrProfT))
		g.i(x86.SBB, x86.EDX, low32(addrProfT+4))
		g.i(x86.ADD, low32(c), x86.EAX)
		g.i(x86.ADC, low32(c+4), x86.EDX)
		g.profiled = append(g.profiled, n.Note)
	}
	return nil
}

// emitKernel selects, allocates and appends one op's kernel where forward
// runs it: each op runs from one place, so a call and a ret would only
// cost bytes and instructions. Registers hold nothing across it, as
// across a call.
func (g *gen) emitKernel(name string, n *lir.Node) error {
	var last *kernel
	err := g.finish(func(v variant) *kernel {
		k := g.newKernel(name, n.Body, nil)
		k.held = g.held
		if g.underPins {
			k.pins = g.pins
		}
		k.note = n.Note
		k.variant = v
		k.nodes(n.Body)
		last = k
		return k
	}, name, n.Note, spillBase, false)
	if err == nil {
		g.held = g.heldAfter(last)
	}
	return err
}

// defs counts each register's definitions within nodes.
func defs(nodes []*lir.Node, n int) []int {
	d := make([]int, n)
	lir.Walk(nodes, func(x *lir.Node) {
		switch {
		case x.Kind == lir.NInst && x.Inst.Dst != lir.NoReg:
			d[x.Inst.Dst]++
		case x.Kind == lir.NLoop:
			d[x.Index]++
		}
	})
	return d
}
