package loopgen

import (
	"slices"

	x86 "tfc/codegen/x86_16"
	"tfc/regalloc"
)

// narrow computes in 16 bits, after allocation (k in physical
// registers), each instruction whose 32-bit result's upper half nothing
// demands after it (regalloc.UpperDemand): a pointer or an offset that
// only addresses memory in 16 bits, a value read through its 16- or 8-bit
// register, or one that only feeds such values, in registers or in the
// kernel's own spill slots [from, to) (no other kernel reads them), which
// are then words. It loses its 0x66 prefix, a movzx of a word becomes a
// mov (a byte fewer again), a mov of an immediate takes a word of it. The
// forms that narrow keep their result's low word exact from their
// operands' low words and the carry (mov, add, sub, adc, sbb, and, or,
// xor, inc, dec, neg, not, shl by a constant, imul of two or three
// operands, lea, movzx, movsx); one that writes the flags narrows only
// where they are dead
// (flagsDeadAfter).
func narrow(k *regalloc.Kernel, from, to uint16) {
	slot := func(m x86.Mem) (uint16, bool) { return ownSlot(m, from, to) }
	dead, err := regalloc.UpperDemand(k, allocOptions(), func(i int) bool { return narrows(k.Items, i) }, slot)
	if err != nil {
		return
	}
	// One round: a narrowed instruction keeps its register's upper half,
	// which nothing after it demands, so what comes before demands no
	// more than the analysis found.
	for _, i := range dead {
		k.Items[i].Inst = narrowed(k.Items[i].Inst)
	}
}

// ownSlot is the dword of the low-memory words [from, to) (a kernel's own
// spill slots; a layer slot, pinSlots) that m addresses with a plain
// 16-bit address (its first byte's, rounded down to 4), if it addresses
// one.
func ownSlot(m x86.Mem, from, to uint16) (uint16, bool) {
	d := uint16(m.Disp)
	own := m.Base == x86.NoReg && m.Index == x86.NoReg && m.Seg == x86.NoReg && !m.Addr32 && m.Label == "" && d >= from && d < to
	return d &^ 3, own
}

// narrows: items[i] is a form whose low word depends on its operands'
// low words alone, with the flags dead after it where it writes them.
func narrows(items []regalloc.Item, i int) bool {
	in := items[i].Inst
	for _, a := range in.Args[1:] {
		if m, isMem := a.(x86.Mem); isMem && m.Label != "" {
			return false
		}
	}
	switch in.Op {
	case x86.MOV, x86.LEA, x86.NOT, x86.MOVZX, x86.MOVSX:
		return true
	case x86.ADD, x86.SUB, x86.ADC, x86.SBB, x86.AND, x86.OR, x86.XOR, x86.INC, x86.DEC, x86.NEG:
	case x86.IMUL:
		if len(in.Args) < 2 {
			return false // edx:eax
		}
	case x86.SHL:
		if _, imm := in.Args[1].(x86.Imm); !imm {
			return false
		}
	default:
		return false
	}
	return flagsDeadAfter(items, i+1, true)
}

// narrowed is in at 16 bits: its registers' 16-bit parts, its memory
// operands' words, its immediates' low words (a shift keeps its count).
func narrowed(in x86.Inst) x86.Inst {
	args := slices.Clone(in.Args)
	for j, a := range args {
		switch a := a.(type) {
		case x86.Reg:
			if a >= x86.EAX && a <= x86.EDI {
				args[j] = a - x86.EAX + x86.AX
			}
		case x86.Mem:
			if in.Op != x86.LEA && a.Size == 32 {
				a.Size = 16
			}
			args[j] = a
		case x86.Imm:
			if in.Op != x86.SHL {
				args[j] = x86.Imm(int64(int16(a)))
			}
		}
	}
	op := in.Op
	if op == x86.MOVZX || op == x86.MOVSX {
		switch a := args[1].(type) {
		case x86.Reg:
			if a.Size() == 16 {
				op = x86.MOV
			}
		case x86.Mem:
			if a.Size == 16 {
				op = x86.MOV
			}
		}
	}
	return x86.Inst{Op: op, Args: args}
}
