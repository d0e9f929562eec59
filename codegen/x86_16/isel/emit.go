package isel

import (
	"fmt"

	. "tfc/codegen/x86_16"
)

// emitter appends instructions to a program and makes fresh labels.
type emitter struct {
	p      *Program
	labels int
}

func (e *emitter) i(op Op, args ...Operand) { e.p.I(op, args...) }

// fresh returns a new local label name.
func (e *emitter) fresh(what string) string {
	e.labels++
	return fmt.Sprintf(".%s%d", what, e.labels)
}

func (e *emitter) label(name string) { e.p.Label(name) }

// m32 is a dword at [base+index*scale+disp] with 32-bit addressing.
func m32(base, index Reg, scale int, disp uint32) Mem {
	return D(Ptr32(base, index, scale, int32(disp)))
}

// abs is a dword at an absolute linear address.
func abs(addr uint32) Mem { return D(Abs32(addr)) }

// low16/low32 are scalars in low memory, reached with 16-bit addressing.
func low16(addr uint16) Mem { return W(Abs16(addr)) }
func low32(addr uint16) Mem { return D(Abs16(addr)) }

// rshr64 rounds edx:eax right by n into eax (ir.Rshr).
func (e *emitter) rshr64(n uint) {
	if n == 0 {
		return
	}
	e.i(ADD, EAX, Imm(1<<(n-1)))
	e.i(ADC, EDX, Imm(0))
	e.i(SHRD, EAX, EDX, Imm(n))
}

// rshrPair rounds hi:lo right by n into lo.
func (e *emitter) rshrPair(lo, hi Reg, n uint) {
	if n == 0 {
		return
	}
	e.i(ADD, lo, Imm(1<<(n-1)))
	e.i(ADC, hi, Imm(0))
	e.i(SHRD, lo, hi, Imm(n))
}

// loadAddr sets r to a param's address: absolute, or for a per-layer
// param relative to this layer's region.
func (e *emitter) loadAddr(r Reg, loc *ParamLoc, add uint32) {
	if loc.PerLayer {
		e.i(MOV, r, low32(addrLayerW))
		if a := loc.Addr + add; a != 0 {
			e.i(ADD, r, Imm(int64(a)))
		}
		return
	}
	e.i(MOV, r, Imm(int64(loc.Addr+add)))
}

// loop decrements cx and jumps back to top while it is not zero, with a
// near jump when the body is too long for the loop instruction.
func (e *emitter) loop(top string) {
	e.i(DEC, CX)
	e.i(JNE, Label(top))
}
