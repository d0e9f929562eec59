package isel

import (
	"fmt"

	. "tfc/codegen/x86_16"
	"tfc/ir"
)

// emitter appends instructions to a program and makes fresh labels.
type emitter struct {
	p      *Program
	labels int
	// seg: the segmented model. Data, weights and caches are then reached
	// through ES (weights, tables, prompt) and FS (the cache), with 16-bit
	// offsets in 32-bit registers; vars through DS = 0 as in the flat model.
	seg bool
	// dataSeg is the segment register pointData sets (segmented): ES for
	// the fast kernels, FS for the small ones, which keep ES = 0 for stosd.
	dataSeg Reg
}

// far puts m in segment s in the segmented model.
func (e *emitter) far(m Mem, s Reg) Mem {
	if e.seg {
		m.Seg = s
	}
	return m
}

// setSeg loads a segment register from an immediate or a word in memory
// (through AX).
func (e *emitter) setSeg(s Reg, from Operand) {
	e.i(MOV, AX, from)
	e.i(MOV, s, AX)
}

func (e *emitter) i(op Op, args ...Operand) { e.p.I(op, args...) }

// fresh returns a new local label name.
func (e *emitter) fresh(what string) string {
	e.labels++
	return fmt.Sprintf(".%s%d", what, e.labels)
}

func (e *emitter) label(name string) { e.p.Label(name) }

// low16/low32 are scalars in low memory, reached with 16-bit addressing.
func low16(addr uint16) Mem { return W(Abs16(addr)) }
func low32(addr uint16) Mem { return D(Abs16(addr)) }

// pointParam sets r to a param's address plus add: linear (flat, for a
// per-layer param relative to this layer's region), or an offset in ES
// (segmented). It clobbers AX.
func (e *emitter) pointParam(r Reg, loc *ParamLoc, add uint32) {
	if e.seg {
		off := add
		if loc.PerLayer {
			e.setSeg(ES, low16(addrLayerW))
			off += loc.Addr
		} else {
			e.setSeg(ES, Imm(int64(loc.Addr>>4)))
			off += loc.Addr & 15
		}
		e.i(MOV, r, Imm(int64(off)))
		return
	}
	if loc.PerLayer {
		e.i(MOV, r, low32(addrLayerW))
		if a := loc.Addr + add; a != 0 {
			e.i(ADD, r, Imm(int64(a)))
		}
		return
	}
	e.i(MOV, r, Imm(int64(loc.Addr+add)))
}

// pointData makes the data at linear address a reachable: it returns a in
// the flat model, and in the segmented model sets ES to a's segment and
// returns the offset. It clobbers AX.
func (e *emitter) pointData(a uint32) uint32 {
	if !e.seg {
		return a
	}
	e.setSeg(e.dataSeg, Imm(int64(a>>4)))
	return a & 15
}

// pointCache makes this layer's cache reachable: segmented, FS is its
// segment. It clobbers AX.
func (e *emitter) pointCache() {
	if e.seg {
		e.setSeg(FS, low16(addrLayerC))
	}
}

// step starts the generation loop: the label "step" and the call of
// forward (bench builds: the time stamp first, and a count of the passes).
func (e *emitter) step(bench bool) {
	if bench {
		e.i(RDTSC)
		e.i(MOV, low32(addrClock), EAX)
		e.i(MOV, low32(addrClock+4), EDX)
		e.i(MOV, low32(addrSteps), Imm(0))
	}
	e.label("step")
	e.i(CALL, Label("forward"))
	if bench {
		e.i(INC, low32(addrSteps))
	}
}

// advance ends the generation loop (ir.Generate) once next (or, with inAX,
// AX) holds the chosen token: stop at BOS or EOS, print it after the
// current token, make it current, loop while positions remain; then '\n'
// through putc and exit 0.
func (e *emitter) advance(steps int, bench, inAX bool) {
	if !inAX {
		e.i(MOV, AX, low16(addrNext))
	}
	// BOS (1) or EOS (2): ax-1 is then 0 or 1.
	e.i(DEC, AX)
	e.i(CMP, AX, Imm(ir.EOS-1))
	e.i(JBE, Label("done"))
	e.i(INC, AX)
	e.i(MOV, BX, low16(addrTok))
	e.i(CALL, Label("print_piece"))
	e.i(MOV, low16(addrTok), AX)
	e.i(INC, low16(addrPos))
	if steps <= 0xFF {
		// pos <= steps: its high byte is 0, and a byte takes an imm8.
		e.i(CMP, B(Abs16(addrPos)), Imm(int64(steps)))
	} else {
		e.i(CMP, low16(addrPos), Imm(int64(steps)))
	}
	e.i(JB, Label("step"))
	e.label("done")
	if bench {
		e.benchReport()
	}
	e.i(MOV, AL, Imm('\n'))
	e.i(CALL, Label("putc"))
	e.i(MOV, AL, Imm(0))
	e.i(JMP, Label("exit"))
}
