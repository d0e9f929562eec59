package loopgen

import (
	"slices"

	x86 "tfc/codegen/x86_16"
	"tfc/regalloc"
)

// narrow computes in 16 bits, after allocation (k in physical
// registers), each instruction whose 32-bit result's upper half nothing
// reads after it (regalloc.UpperDead): a pointer or an offset that only
// addresses memory in 16 bits, a value read through its 16- or 8-bit
// register, or one that only feeds such values, which it then reads in
// 16 bits too (so rounds repeat until none is left). It loses its 0x66
// prefix, a movzx of a word becomes a mov (a byte fewer again), a mov of
// an immediate takes a word of it. The forms that narrow keep their
// result's low word exact from their operands' low words (mov, add, sub,
// and, or, xor, inc, dec, neg, not, shl by a constant, imul of two or
// three operands, lea, movzx, movsx); one that writes the flags narrows
// only where they are dead (flagsDeadAfter).
func narrow(k *regalloc.Kernel, from, to uint16) {
	for {
		dead, err := regalloc.UpperDead(k, allocOptions())
		if err != nil {
			return
		}
		changed := narrowSlots(k.Items, from, to)
		for _, i := range dead {
			if narrows(k.Items, i) {
				k.Items[i].Inst = narrowed(k.Items[i].Inst)
				changed = true
			}
		}
		if !changed {
			return
		}
	}
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
	case x86.ADD, x86.SUB, x86.AND, x86.OR, x86.XOR, x86.INC, x86.DEC, x86.NEG:
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
	return flagsDeadAfter(items[i+1:], true)
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

// narrowSlots stores words into the kernel's own spill slots [from, to)
// (no other kernel reads them) that only words are read from: a store of
// a dword there loses its 0x66 prefix, and reads only its register's low
// word (which narrow's next round may then compute in 16 bits).
func narrowSlots(items []regalloc.Item, from, to uint16) bool {
	slot := func(a x86.Operand) (x86.Mem, uint16, bool) {
		m, ok := a.(x86.Mem)
		if !ok || m.Base != x86.NoReg || m.Index != x86.NoReg || m.Seg != x86.NoReg || m.Addr32 || m.Label != "" {
			return m, 0, false
		}
		d := uint16(m.Disp)
		return m, d &^ 3, d >= from && d < to
	}
	wide := map[uint16]bool{} // read as a dword, or touched otherwise
	for _, it := range items {
		for j, a := range it.Inst.Args {
			m, s, ok := slot(a)
			if !ok {
				continue
			}
			store := j == 0 && it.Inst.Op == x86.MOV
			if !store && m.Size != 16 || uint16(m.Disp) != s {
				wide[s] = true
			}
		}
	}
	changed := false
	for i, it := range items {
		in := it.Inst
		if in.Op != x86.MOV || len(in.Args) != 2 {
			continue
		}
		m, s, ok := slot(in.Args[0])
		if !ok || wide[s] || m.Size != 32 {
			continue
		}
		m.Size = 16
		src := in.Args[1]
		switch a := src.(type) {
		case x86.Reg:
			if a < x86.EAX || a > x86.EDI {
				continue
			}
			src = a - x86.EAX + x86.AX
		case x86.Imm:
			src = x86.Imm(int64(int16(a)))
		default:
			continue
		}
		items[i].Inst = x86.Inst{Op: x86.MOV, Args: []x86.Operand{m, src}}
		changed = true
	}
	return changed
}
