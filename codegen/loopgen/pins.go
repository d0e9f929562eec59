package loopgen

import (
	"fmt"
	"slices"

	x86 "tfc/codegen/x86_16"
	"tfc/lir"
)

// pinRegs are the segment registers that may stand for a layer slot of
// the segmented model (pinSlots): FS the layer's params, GS its caches.
var pinRegs = []struct {
	reg  x86.Reg
	slot uint16
}{{x86.FS, addrLayerW}, {x86.GS, addrLayerC}}

// pinSlots decides which layer slots a segment register holds instead
// of their low-memory words, from the layer loop's start to forward's
// end: those that a kernel there, or any proc, reaches. For size only:
// at -O2 the step through ax ran more instructions a token than the
// loads it saves (llama2-int8.tf: 1,628,653 against 1,628,641, `tfc run
// -O2 --steps 248 --bench --icount`). The layer loop
// sets and steps the register itself (push imm16; pop fs: 5 bytes, and
// mov ax, fs; add ax, imm16; mov fs, ax: 7, where the word's mov and add
// take 6 each), and no kernel loads it: each proc's mov fs, [0x1004],
// and each op's that reaches a layer's params or caches, is gone. No
// kernel there, and no proc, may then take that register for another
// group: where one needs it, Select fails with a PinError, and the build
// selects again with that slot in memory (Options.Unpinned).
//
// The caches' slot takes ES instead of GS (esFree) where ES is not the
// activations' there: no kernel under the pins reaches that group (an
// OpSeg or OpAddr of one of its buffers is a constant, its segment or its
// offset there, which needs no register), and the code after forward does
// not read it through ES (esAfter: afterForward's token). The loop sets ES (push imm16; pop es: 4 bytes)
// and forward sets it again at its entry. A store into the cache through
// di is then stos: llama2-int8.tf's store of k and v, `mov [gs:di], al;
// inc di` becoming stosb, 6 bytes fewer in all.
func pinSlots(f *lir.Func, l *Layout, pass map[*lir.Proc]*passing, unpinned []uint16, esAfter bool) map[uint16]x86.Reg {
	if !l.Segmented {
		return nil
	}
	reached := map[uint16]bool{}
	esFree := !esAfter
	note := func(nodes []*lir.Node) {
		lir.Walk(nodes, func(n *lir.Node) {
			if n.Kind == lir.NInst && n.Inst.Mem.Buf != nil {
				gr := l.Group[n.Inst.Mem.Buf]
				reached[gr.Slot] = true
				esFree = esFree && (gr != activations || n.Inst.Op == lir.OpSeg || n.Inst.Op == lir.OpAddr)
			}
		})
	}
	forOps(f, func(op *lir.Node, where place) {
		if where != beforeLayers {
			note(op.Body)
		}
	})
	based := map[uint16]bool{} // a proc adds the word to an offset (addSlot)
	for _, pr := range f.Procs {
		note(pr.Body)
		for _, a := range pass[pr].args {
			reached[a.slot], based[a.base] = true, true
		}
	}
	pins := map[uint16]x86.Reg{}
	for _, p := range pinRegs {
		if reached[p.slot] && !based[p.slot] && !slices.Contains(unpinned, p.slot) {
			pins[p.slot] = p.reg
		}
	}
	if _, ok := pins[addrLayerC]; ok && esFree {
		pins[addrLayerC] = x86.ES
	}
	return pins
}

// A PinError says that a kernel needs a segment register that a layer
// slot holds (pinSlots): the build selects again with that slot in
// memory (Options.Unpinned).
type PinError struct {
	Msg  string
	Slot uint16
}

func (e *PinError) Error() string { return e.Msg }

// pinError is the PinError of a kernel that found no segment register
// free: the first that a pin took.
func (k *kernel) pinError() *PinError {
	for _, p := range pinRegs {
		if r, ok := k.pins[p.slot]; ok {
			return &PinError{fmt.Sprintf("%s needs %s, which holds the layer slot %#x (pinSlots)", k.note, r, p.slot), p.slot}
		}
	}
	panic("BUG: loopgen: a PinError with no pins")
}

// pinned is the segment register that holds slot's word in this kernel
// (where it runs under the pins: an op's from the layer loop on, every
// proc's).
func (k *kernel) pinned(slot uint16) (x86.Reg, bool) {
	r, ok := k.pins[slot]
	return r, ok
}

// pinnedWord is the register that holds the word m, a layer slot's, in
// this kernel.
func (k *kernel) pinnedWord(m x86.Mem) (x86.Reg, bool) {
	for slot, r := range k.pins {
		if _, ok := ownSlot(m, slot, slot+1); ok && m.Size == 16 {
			return r, true
		}
	}
	return x86.NoReg, false
}

// free are the segment registers a kernel may load.
func (k *kernel) free() []x86.Reg {
	return slices.DeleteFunc(slices.Clone(segRegs), func(r x86.Reg) bool {
		for _, p := range k.pins {
			if p == r {
				return true
			}
		}
		return false
	})
}

// checkPins: no instruction reads or writes a pinned slot's word, which
// nothing sets under the pins.
func (g *gen) checkPins() error {
	for _, in := range g.prog.Insts() {
		for _, a := range in.Args {
			m, isMem := a.(x86.Mem)
			m.Addr32 = false // an absolute address either way
			for slot, r := range g.pins {
				if _, ok := ownSlot(m, slot, slot+1); isMem && ok {
					return fmt.Errorf("BUG: loopgen: %s reads the slot %#x, which %s holds", in, slot, r)
				}
			}
		}
	}
	return nil
}
