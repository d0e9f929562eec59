package regalloc

import (
	x86 "tfc/codegen/x86_16"
)

// Aligned answers, for k in physical registers, whether the low two bits
// of general register r are 0 before item i on every path that reaches
// it: a pointer that a dword string instruction may then read through
// without crossing the end of a 64 KiB segment (scasd at di 0xfffe
// faults in real mode). Nothing is known at the kernel's entry; an
// instruction's result is known aligned where it is a multiple of 4 by
// its form (mov of such a constant, a clear, a shift by 2 or more, an
// add of aligned values, a dword string instruction's step) or by its
// item (Item.Aligned: a proc's argument that every call passes so), a
// pop's where its push's was (the words pushed are followed), and not
// otherwise. A label is answered false.
func Aligned(k *Kernel, o Options) (func(i int, r x86.Reg) bool, error) {
	a, err := analyze(k, &o)
	if err != nil {
		return nil, err
	}
	ni := len(a.item)
	preds := make([][]int, ni)
	for p, succ := range a.succ {
		for _, s := range succ {
			if s != exitPos {
				preds[s] = append(preds[s], p)
			}
		}
	}
	// in[j]: what is aligned before position j; from no path yet (the
	// meet is an and) but at the entry, to a fixed point.
	in := make([]alignState, ni)
	for j := range in {
		in[j] = alignState{depth: noPath}
	}
	for changed := true; changed; {
		changed = false
		for j := range in {
			v := alignState{depth: noPath}
			if j == 0 {
				v = alignState{}
			}
			for _, p := range preds[j] {
				v = v.meet(alignedAfter(in[p], k.Items[a.item[p]], a.eff[p]))
			}
			if v != in[j] {
				in[j], changed = v, true
			}
		}
	}
	place := a.places()
	return func(i int, r x86.Reg) bool {
		j, ok := place(i)
		f, gpr := family(r)
		return ok && gpr && in[j].depth != noPath && in[j].regs&(1<<f) != 0
	}, nil
}

// alignState is what Aligned knows at a position: a bit a register
// family, aligned, and a bit each of the last words or dwords pushed (the
// last in bit 0; wide: a dword), depth of them followed (at most 8; those
// below, unknown).
type alignState struct {
	regs, stack, wide uint8
	depth             int
}

// noPath is the depth of a position that no path has reached yet.
const noPath = -1

// meet is what is known on both paths: where they leave the stack at
// different depths, none of its words.
func (s alignState) meet(t alignState) alignState {
	switch {
	case s.depth == noPath:
		return t
	case t.depth == noPath:
		return s
	case s.depth != t.depth || (s.wide^t.wide)&(1<<s.depth-1) != 0:
		return alignState{regs: s.regs & t.regs}
	}
	return alignState{regs: s.regs & t.regs, stack: s.stack & t.stack, wide: s.wide, depth: s.depth}
}

// push is s with a word (or a dword: wide) pushed, aligned or not.
func (s alignState) push(aligned, wide bool) alignState {
	s.stack <<= 1
	s.wide <<= 1
	if aligned {
		s.stack |= 1
	}
	if wide {
		s.wide |= 1
	}
	s.depth = min(s.depth+1, 8)
	return s
}

// pop is s with its last word (or dword: wide) popped, and whether it
// was aligned (false where it is not followed, or was pushed in the
// other width: then nothing below it is).
func (s alignState) pop(wide bool) (alignState, bool) {
	if s.depth == 0 || (s.wide&1 != 0) != wide {
		return s.forget(), false
	}
	aligned := s.stack&1 != 0
	s.stack >>= 1
	s.wide >>= 1
	s.depth--
	return s, aligned
}

// forget is s with none of the stack's words followed.
func (s alignState) forget() alignState {
	s.stack, s.wide, s.depth = 0, 0, 0
	return s
}

// familyBit is r's family's bit in a set of families (0 for a register
// that is not a general one).
func familyBit(r x86.Reg) uint8 {
	if f, gpr := family(r); gpr {
		return 1 << f
	}
	return 0
}

// alignedOperand: a is a register of a family in regs, or an immediate
// multiple of 4.
func alignedOperand(a x86.Operand, regs uint8) bool {
	switch a := a.(type) {
	case x86.Reg:
		return regs&familyBit(a) != 0
	case x86.Imm:
		return a%4 == 0
	}
	return false
}

// alignedAfter is what is aligned after item it, given state s before.
func alignedAfter(s alignState, it Item, e effects) alignState {
	in := it.Inst
	regs := alignedRegs(s.regs, in, e)
	if it.Aligned {
		regs |= familyBit(x86.EAX)
	}
	switch in.Op {
	case x86.PUSH:
		s = s.push(alignedOperand(in.Args[0], s.regs), opSize(in.Args[0]) == 32)
	case x86.POP:
		var aligned bool
		if s, aligned = s.pop(opSize(in.Args[0]) == 32); aligned {
			if r, isReg := in.Args[0].(x86.Reg); isReg {
				regs |= familyBit(r)
			}
		}
	case x86.PUSHF, x86.PUSHFD:
		s = s.push(false, in.Op == x86.PUSHFD)
	case x86.POPF, x86.POPFD:
		s, _ = s.pop(in.Op == x86.POPFD)
	case x86.PUSHA, x86.PUSHAD, x86.POPA, x86.POPAD:
		s = s.forget()
	case x86.CALL, x86.INT:
		// The callee leaves the stack as it found it.
	default:
		sp, _ := family(x86.SP)
		for _, ac := range e.acc {
			if f, _ := family(ac.reg); ac.write && f == sp {
				s = s.forget() // an add to sp, a mov
			}
		}
	}
	s.regs = regs
	return s
}

// alignedRegs is the families aligned after in, given those before, by
// its form.
func alignedRegs(before uint8, in x86.Inst, e effects) uint8 {
	has := func(a x86.Operand) bool { _, isReg := a.(x86.Reg); return isReg && alignedOperand(a, before) }
	imm4 := func(a x86.Operand) bool { _, isImm := a.(x86.Imm); return isImm && alignedOperand(a, before) }
	after := before
	for _, ac := range e.acc {
		if ac.write {
			after &^= familyBit(ac.reg)
		}
	}
	set := func(a x86.Operand, aligned bool) {
		if aligned {
			after |= familyBit(a.(x86.Reg))
		}
	}
	switch in.Op &^ (x86.REP | x86.A32) {
	case x86.LODSD, x86.STOSD, x86.SCASD, x86.MOVSD, x86.CMPSD:
		// The pointers it writes step by 4 (rep: by 4 a pass); a
		// rep's count ends at 0.
		si, _ := family(x86.SI)
		di, _ := family(x86.DI)
		for _, ac := range e.acc {
			if f, _ := family(ac.reg); ac.write && (f == si || f == di) {
				after |= before & (1 << f)
			}
		}
		if in.Op&x86.REP != 0 {
			set(x86.CX, true)
		}
		return after
	}
	if len(in.Args) == 0 {
		return after
	}
	d, isReg := in.Args[0].(x86.Reg)
	if _, gpr := family(d); !isReg || !gpr {
		return after
	}
	var src x86.Operand
	if len(in.Args) > 1 {
		src = in.Args[1]
	}
	switch in.Op {
	case x86.MOV, x86.MOVZX, x86.MOVSX:
		set(d, imm4(src) || has(src))
	case x86.XCHG:
		if s, ok := src.(x86.Reg); ok {
			set(d, has(s))
			set(s, has(d))
		}
	case x86.XOR, x86.SUB:
		set(d, src == x86.Operand(d) || has(d) && (imm4(src) || has(src)))
	case x86.ADD, x86.OR:
		set(d, has(d) && (imm4(src) || has(src)))
	case x86.AND:
		set(d, has(d) || imm4(src) || has(src))
	case x86.SHL:
		c, ok := src.(x86.Imm)
		set(d, ok && (c&31 >= 2 || has(d)))
	case x86.IMUL:
		switch len(in.Args) {
		case 2:
			set(d, has(d) || imm4(src) || has(src))
		case 3:
			set(d, imm4(in.Args[2]) || has(src))
		}
	case x86.LEA:
		m := src.(x86.Mem)
		set(d, m.Label == "" && m.Disp%4 == 0 && (m.Base == x86.NoReg || has(m.Base)) &&
			(m.Index == x86.NoReg || has(m.Index) || m.Scale >= 4))
	}
	return after
}
