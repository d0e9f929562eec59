package loopgen

import (
	"slices"

	x86 "tfc/codegen/x86_16"
	"tfc/regalloc"
)

// peephole rewrites a kernel's instructions into shorter equivalents
// before allocation, where the flags they then change differently are
// dead, that is where the code after them writes every arithmetic flag
// before anything reads one: `mov r, 0` becomes `xor r, r` (2 bytes fewer
// in 32 bits), `mov [m], 0` `and [m], 0`, `add r, 1` `inc r` and `add r, -1` `dec r` (2 fewer: they
// leave the carry alone). For size, a shift by an immediate count writes
// the flags too: at -O2 it does not, since a `mov r, 0` that becomes an
// xor costs an instruction where r then goes to memory (an xor of a
// register, then its store, for one `mov dword [m], 0`).
func peephole(items []regalloc.Item, size bool) {
	for i, it := range items {
		in := it.Inst
		if it.Label != "" || len(in.Args) != 2 {
			continue
		}
		r, isReg := in.Args[0].(x86.Reg)
		imm, isImm := in.Args[1].(x86.Imm)
		if m, isMem := in.Args[0].(x86.Mem); isMem && isImm && imm == 0 && in.Op == x86.MOV && m.Size >= 16 && flagsDeadAfter(items[i+1:], size) {
			// and [m], 0 takes an 8-bit immediate: 1 byte fewer for a
			// word, 3 for a dword.
			items[i].Inst = x86.Inst{Op: x86.AND, Args: []x86.Operand{m, x86.Imm(0)}}
			continue
		}
		if !isReg || !isImm {
			continue
		}
		if !flagsDeadAfter(items[i+1:], size) {
			continue
		}
		switch {
		case in.Op == x86.MOV && imm == 0:
			items[i].Inst = x86.Inst{Op: x86.XOR, Args: []x86.Operand{r, r}}
		case in.Op == x86.ADD && imm == 1 && regalloc.Bits(r) == 32:
			items[i].Inst = x86.Inst{Op: x86.INC, Args: []x86.Operand{r}}
		case in.Op == x86.ADD && imm == -1 && regalloc.Bits(r) == 32:
			items[i].Inst = x86.Inst{Op: x86.DEC, Args: []x86.Operand{r}}
		}
	}
}

// deadCode removes, before allocation, the instructions that compute
// what nothing reads, where the flags they write are dead too: the high
// dword of an i64 op whose low dword alone is read (the store of a
// quantized byte after a rounding shift by cl), until none is left.
func deadCode(k *regalloc.Kernel) {
	for {
		dead, err := regalloc.DeadWrites(k, allocOptions())
		if err != nil {
			return // the allocator will say what is wrong
		}
		drop := map[int]bool{}
		for _, i := range dead {
			if !regalloc.WritesFlags(k.Items[i].Inst.Op) || flagsDeadAfter(k.Items[i+1:], true) {
				drop[i] = true
			}
		}
		if len(drop) == 0 {
			return
		}
		items := k.Items[:0]
		for i, it := range k.Items {
			if !drop[i] {
				items = append(items, it)
			}
		}
		k.Items = items
	}
}

// allocated rewrites a kernel after allocation, where a virtual that is
// still named has a register (as gives it): `cmp r, 0` becomes `test r,
// r` (1 byte fewer), which sets every flag a jump reads as the cmp does
// (AF aside). Before allocation it would cost an instruction where r goes
// to memory (cmp takes memory; test r, r names r twice). `lea r, [s+d]`
// where s got r's register becomes `add r, d` where the flags are dead (2
// bytes fewer: no 0x67 prefix, and an 8-bit d where it fits). An offset
// in a segment (the segmented model's, the flat model's low activations)
// whose registers got bx or bp and si or di, unscaled, becomes a 16-bit
// address (addr16Of).
func allocated(items []regalloc.Item, as map[int]x86.Reg) {
	same := func(a, b x86.Reg) bool {
		pa, err1 := regalloc.Assigned(a, as)
		pb, err2 := regalloc.Assigned(b, as)
		return err1 == nil && err2 == nil && pa == pb
	}
	for i, it := range items {
		in := it.Inst
		for j, a := range in.Args {
			if m, ok := a.(x86.Mem); ok {
				if m16, ok := addr16Of(m, as); ok {
					in.Args = slices.Clone(in.Args)
					in.Args[j] = m16
					items[i].Inst = in
				}
			}
		}
		if it.Label != "" || len(in.Args) != 2 {
			continue
		}
		r, isReg := in.Args[0].(x86.Reg)
		switch in.Op {
		case x86.CMP:
			if imm, ok := in.Args[1].(x86.Imm); isReg && ok && imm == 0 {
				items[i].Inst = x86.Inst{Op: x86.TEST, Args: []x86.Operand{r, r}}
			}
		case x86.LEA:
			m := in.Args[1].(x86.Mem)
			if isReg && regalloc.Bits(r) == 32 && m.Base != x86.NoReg && m.Index == x86.NoReg && m.Label == "" &&
				same(r, m.Base) && flagsDeadAfter(items[i+1:], true) {
				items[i].Inst = x86.Inst{Op: x86.ADD, Args: []x86.Operand{r, x86.Imm(int64(m.Disp))}}
			}
		}
	}
}

// word is the 16-bit register that can address memory for a 32-bit one.
var word = map[x86.Reg]x86.Reg{x86.EBX: x86.BX, x86.EBP: x86.BP, x86.ESI: x86.SI, x86.EDI: x86.DI}

// addr16Of is m, a 32-bit offset in a segment, as a 16-bit one where its
// registers (as assigns them) have 16-bit forms that pair (bx or bp with
// si or di) and nothing scales the index. An offset in a segment lies in
// its 64 KiB (the segmented model's buffers, the flat model's low
// activations), where a 32-bit address and its 16-bit form (which wraps)
// add the same low words to the same offset: 1 byte fewer (0x67), a SIB
// byte fewer with two registers, and a 16-bit displacement for a 32-bit
// one. A flat address (no segment) lies anywhere.
func addr16Of(m x86.Mem, as map[int]x86.Reg) (x86.Mem, bool) {
	if !m.Addr32 || m.Seg == x86.NoReg || m.Label != "" || m.Scale > 1 || m.Base == x86.NoReg && m.Index == x86.NoReg {
		return m, false
	}
	if d := int64(m.Disp); d < -0x8000 || d > 0xFFFF {
		return m, false
	}
	var pair [2]x86.Reg // {bx|bp, si|di}
	for _, r := range []x86.Reg{m.Base, m.Index} {
		if r == x86.NoReg {
			continue
		}
		p, err := regalloc.Assigned(r, as)
		w, ok := word[p]
		if err != nil || !ok {
			return m, false
		}
		slot := 1
		if w == x86.BX || w == x86.BP {
			slot = 0
		}
		if pair[slot] != x86.NoReg {
			return m, false
		}
		pair[slot] = w
	}
	m.Base, m.Index, m.Scale, m.Addr32 = pair[0], pair[1], 0, false
	return m, true
}

// flagsDeadAfter scans the straight-line code of items: true when an
// instruction that writes all the arithmetic flags comes before one that
// reads any (or before control leaves the straight line); shifts counts
// a shift by an immediate count among those, and looks past one by cl.
func flagsDeadAfter(items []regalloc.Item, shifts bool) bool {
	for _, it := range items {
		if it.Label != "" {
			continue // what falls through here matters, as before it
		}
		switch in := it.Inst; in.Op {
		case x86.MOV, x86.MOVZX, x86.MOVSX, x86.LEA, x86.LODSB, x86.LODSW, x86.LODSD, x86.PUSH, x86.POP:
			continue // nor read nor write a flag (pop: a register's, not popf)
		case x86.CMP, x86.TEST, x86.ADD, x86.SUB, x86.AND, x86.OR, x86.XOR, x86.NEG, x86.MUL, x86.IMUL, x86.DIV:
			// mul, one-operand imul and div leave some flags undefined:
			// nothing may read those after them either.
			return true
		case x86.INC, x86.DEC:
			continue // they write every flag but CF, which stays as dead as it was
		case x86.CALL:
			// No procedure (a kernel's or the runtime's) reads the flags
			// it is called with.
			return true
		case x86.SHL, x86.SHR, x86.SAR, x86.SHLD, x86.SHRD:
			// A count of 0 leaves the flags alone; an immediate one
			// that is not 0 writes them (or leaves them undefined). By
			// cl, either: no flag is read, so what comes after decides.
			c, ok := in.Args[len(in.Args)-1].(x86.Imm)
			if !ok && shifts {
				continue
			}
			return shifts && ok && c&31 != 0
		}
		return false
	}
	return false
}

// storeLast computes in the register what a store puts in a low-memory
// slot and the next instruction then changes in place, where nothing
// reads the register after: `mov [m], eax; shl dword [m], 3` becomes
// `shl eax, 3; mov [m], eax`, 2 bytes fewer (3 for an inc or a dec),
// with the flags as the change in memory left them. After allocation
// and narrowing (k in physical registers).
func storeLast(k *regalloc.Kernel) {
	live, err := regalloc.LiveOut(k, allocOptions())
	if err != nil {
		return
	}
	items := k.Items
	for i := 0; i+1 < len(items); i++ {
		st, op := items[i].Inst, items[i+1].Inst
		if items[i].Label != "" || items[i+1].Label != "" || st.Op != x86.MOV || len(st.Args) != 2 {
			continue
		}
		m, isMem := st.Args[0].(x86.Mem)
		r, isReg := st.Args[1].(x86.Reg)
		if !isMem || !isReg || m.Base != x86.NoReg || m.Index != x86.NoReg || m.Label != "" || r.Size() != m.Size {
			continue
		}
		switch op.Op {
		case x86.ADD, x86.SUB, x86.AND, x86.OR, x86.XOR, x86.SHL, x86.SHR, x86.SAR, x86.INC, x86.DEC, x86.NEG, x86.NOT:
		default:
			continue
		}
		if len(op.Args) == 0 || op.Args[0] != x86.Operand(m) || live(i+1, r) {
			continue
		}
		if len(op.Args) == 2 {
			if _, inMem := op.Args[1].(x86.Mem); inMem {
				continue
			}
		}
		args := slices.Clone(op.Args)
		args[0] = r
		items[i].Inst = x86.Inst{Op: op.Op, Args: args}
		items[i+1].Inst = x86.Inst{Op: x86.MOV, Args: []x86.Operand{m, r}}
		i++
	}
}
