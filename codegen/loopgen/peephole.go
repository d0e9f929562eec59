package loopgen

import (
	"fmt"
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
		if m, isMem := in.Args[0].(x86.Mem); isMem && isImm && imm == 0 && in.Op == x86.MOV && m.Size >= 16 && flagsDeadAfter(items, i+1, size) {
			// and [m], 0 takes an 8-bit immediate: 1 byte fewer for a
			// word, 3 for a dword.
			items[i].Inst = x86.Inst{Op: x86.AND, Args: []x86.Operand{m, x86.Imm(0)}}
			continue
		}
		if !isReg || !isImm {
			continue
		}
		if !flagsDeadAfter(items, i+1, size) {
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
			if !regalloc.WritesFlags(k.Items[i].Inst.Op) || flagsDeadAfter(k.Items, i+1, true) {
				drop[i] = true
			}
		}
		if len(drop) == 0 {
			return
		}
		dropItems(k, drop)
	}
}

// dropItems removes the items of k that drop names, by their place.
func dropItems(k *regalloc.Kernel, drop map[int]bool) {
	items := k.Items[:0]
	for i, it := range k.Items {
		if !drop[i] {
			items = append(items, it)
		}
	}
	k.Items = items
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
				m16, ok := addr16Of(m, as)
				if in.Op == x86.LEA && m16.Seg != x86.NoReg {
					// A lea's segment said only where the offset lies
					// (addr16Of): the lea reads no memory.
					m16.Seg, ok = x86.NoReg, true
				}
				if ok {
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
				same(r, m.Base) && flagsDeadAfter(items, i+1, true) {
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

// flagsDeadAfter: no arithmetic flag that items[from-1] writes is read
// after it, on any path through items: each path reaches, flag by flag,
// an instruction that writes it before one that reads it (or a call: no
// procedure, a kernel's or the runtime's, reads the flags it is called
// with). A jump within items is followed to its label; one out of items
// (or a form flagEffects does not know) keeps the flags live. shifts
// counts a shift by an immediate count as a write of every flag, and
// looks past one by cl; without it, the scan stops at either.
func flagsDeadAfter(items []regalloc.Item, from int, shifts bool) bool {
	return flagsDead(items, from, shifts, allFlags)
}

// flagsDead is flagsDeadAfter for the flags in which.
func flagsDead(items []regalloc.Item, from int, shifts bool, which flagSet) bool {
	return flagsDeadTo(items, from, shifts, which, false)
}

// flagsDeadTo is flagsDead; where atEnd is set, the flags are dead at the
// kernel's end too: an op's (the code after it, the next op's or
// forward's, writes the flags before it reads them), not a jump out.
func flagsDeadTo(items []regalloc.Item, from int, shifts bool, which flagSet, atEnd bool) bool {
	var labels map[string]int // where each label is, found at the first jump
	// seen: the flags a scan has looked for from each label; a path that
	// comes back with no others adds nothing (a loop reads none of them
	// unless a path out of it does).
	seen := map[int]flagSet{}
	var dead func(i int, live flagSet) bool
	dead = func(i int, live flagSet) bool {
		for ; i < len(items); i++ {
			if items[i].Label != "" {
				if live&^seen[i] == 0 {
					return true
				}
				seen[i] |= live
				continue
			}
			in := items[i].Inst
			if in.Op == x86.CALL || in.Op == x86.RET {
				// No caller reads the flags a call leaves (the
				// scan's own calls return them clobbered).
				return true
			}
			reads, writes, ok := flagEffects(in, shifts)
			if !ok || reads&live != 0 {
				return false
			}
			if live &^= writes; live == 0 {
				return true
			}
			if in.Op == x86.JMP || in.Op.IsJcc() {
				if labels == nil {
					labels = map[string]int{}
					for i, it := range items {
						if it.Label != "" {
							labels[it.Label] = i
						}
					}
				}
				l, isLabel := in.Args[0].(x86.Label)
				t, inside := labels[string(l)]
				if !isLabel || !inside || !dead(t, live) {
					return false
				}
				if in.Op == x86.JMP {
					return true
				}
			}
		}
		return atEnd // the kernel's end: what comes after may read them
	}
	return dead(from, which)
}

// flagSet is a set of the arithmetic flags.
type flagSet uint8

const (
	cf flagSet = 1 << iota
	pf
	af
	zf
	sf
	of
	allFlags = cf | pf | af | zf | sf | of
)

// ccFlags are the flags each condition code reads, in JO's order (o, no,
// b, ae, e, ne, be, a, s, ns, p, np, l, ge, le, g).
var ccFlags = [16]flagSet{of, of, cf, cf, zf, zf, cf | zf, cf | zf, sf, sf, pf, pf, sf | of, sf | of, zf | sf | of, zf | sf | of}

// flagEffects are the arithmetic flags in reads and writes (with mul, one-
// operand imul and div, those it leaves undefined, which nothing may
// read after it either); ok false for a form it does not know.
func flagEffects(in x86.Inst, shifts bool) (reads, writes flagSet, ok bool) {
	in.Op = in.Op.Unprefixed() // a32 lodsw, fs lodsb: lodsw's, lodsb's
	switch op := in.Op; {
	case op.IsJcc():
		return ccFlags[op-x86.JO], 0, true
	case op >= x86.SETO && op <= x86.SETG:
		return ccFlags[op-x86.SETO], 0, true
	case op >= x86.CMOVO && op <= x86.CMOVG:
		return ccFlags[op-x86.CMOVO], 0, true
	}
	switch in.Op {
	case x86.MOV, x86.MOVZX, x86.MOVSX, x86.LEA, x86.LODSB, x86.LODSW, x86.LODSD, x86.PUSH, x86.POP,
		x86.STOSB, x86.STOSW, x86.STOSD, x86.REP | x86.STOSB, x86.REP | x86.STOSW, x86.REP | x86.STOSD,
		x86.MOVSB, x86.MOVSW, x86.MOVSD, x86.CDQ, x86.CWD, x86.CBW, x86.CWDE, x86.NOT, x86.XCHG, x86.JMP, x86.STD, x86.CLD:
		return 0, 0, true // pop: a register's, not popf
	case x86.CMP, x86.TEST, x86.ADD, x86.SUB, x86.AND, x86.OR, x86.XOR, x86.NEG, x86.MUL, x86.IMUL, x86.DIV,
		x86.SCASB, x86.SCASW, x86.SCASD, x86.CMPSB, x86.CMPSW, x86.CMPSD:
		return 0, allFlags, true
	case x86.ADC, x86.SBB:
		return cf, allFlags, true
	case x86.INC, x86.DEC:
		return 0, allFlags &^ cf, true
	case x86.CLC, x86.STC:
		return 0, cf, true
	case x86.SHL, x86.SHR, x86.SAR, x86.SHLD, x86.SHRD:
		// A count of 0 leaves the flags alone; an immediate one that
		// is not 0 writes them (or leaves them undefined). By cl,
		// either, so a flag is as live after it as before.
		c, imm := in.Args[len(in.Args)-1].(x86.Imm)
		switch {
		case !shifts:
			return 0, 0, false
		case imm && c&31 != 0:
			return 0, allFlags, true
		}
		return 0, 0, true
	}
	return 0, 0, false
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

// movAdd computes a copy and the add (or subtract) of a constant or a
// register that follows it as one lea where the flags are dead after
// them (lea writes none): `mov edx, edi; sub edx, -0x100000` becomes
// `lea edx, [edi+0x100000]`, 2 bytes fewer (1 for a register's add in 32
// bits). A 16-bit copy takes a 16-bit address where its registers make
// one, else a 32-bit address of their 32-bit registers, whose sum has
// the same low word. After allocation (k in physical registers), where
// smaller.
func movAdd(k *regalloc.Kernel) {
	items := k.Items
	out := items[:0]
	for i := 0; i < len(items); i++ {
		if i+1 < len(items) {
			if lea, ok := movAddLea(items[i], items[i+1]); ok && flagsDeadAfter(items, i+2, true) {
				if n := instBytes(lea); n > 0 && n < instBytes(items[i].Inst, items[i+1].Inst) {
					out = append(out, regalloc.Item{Inst: lea})
					i++
					continue
				}
			}
		}
		out = append(out, items[i])
	}
	k.Items = out
}

// movAddLea is the lea that computes what mov d, s; add d, x (or sub d,
// imm) do to d.
func movAddLea(mv, add regalloc.Item) (x86.Inst, bool) {
	if mv.Label != "" || add.Label != "" || mv.Inst.Op != x86.MOV || len(mv.Inst.Args) != 2 || len(add.Inst.Args) != 2 ||
		(add.Inst.Op != x86.ADD && add.Inst.Op != x86.SUB) {
		return x86.Inst{}, false
	}
	d, ok1 := mv.Inst.Args[0].(x86.Reg)
	s, ok2 := mv.Inst.Args[1].(x86.Reg)
	if !ok1 || !ok2 || d == s || d.Size() != s.Size() || d.Size() < 16 || add.Inst.Args[0] != x86.Operand(d) || s.IsSeg() {
		return x86.Inst{}, false
	}
	m := x86.Mem{Base: s}
	switch x := add.Inst.Args[1].(type) {
	case x86.Imm:
		if add.Inst.Op == x86.SUB {
			x = -x
		}
		m.Disp = int32(x)
	case x86.Reg:
		if add.Inst.Op != x86.ADD || x.Size() != d.Size() || x == d {
			return x86.Inst{}, false
		}
		m.Index = x
	default:
		return x86.Inst{}, false
	}
	if d.Size() == 16 {
		if lea := (x86.Inst{Op: x86.LEA, Args: []x86.Operand{d, m}}); instBytes(lea) > 0 {
			return lea, true // a 16-bit address
		}
		m.Base, m.Disp = sized(m.Base, 32), int32(int16(m.Disp))
		if m.Index != x86.NoReg {
			m.Index = sized(m.Index, 32)
		}
	}
	if m.Index != x86.NoReg {
		m.Scale = 1
	}
	m.Addr32 = true
	return x86.Inst{Op: x86.LEA, Args: []x86.Operand{d, m}}, true
}

// instBytes is the size of ins, 0 where one does not encode.
func instBytes(ins ...x86.Inst) int {
	var p x86.Program
	for _, in := range ins {
		p.Add(in)
	}
	n, err := p.Size(0)
	if err != nil {
		return 0
	}
	return n
}

// zeroStore stores a register that the next instruction clears where an
// `and [m], 0` clears memory first: `and dword [m], 0; xor ebp, ebp`
// becomes `xor ebp, ebp; mov dword [m], ebp`, a byte fewer (2 for eax,
// whose store to an address has a short form). Both leave the flags of a
// result of 0. After allocation (k in physical registers).
func zeroStore(k *regalloc.Kernel) {
	items := k.Items
	for i := 0; i+1 < len(items); i++ {
		and, xor := items[i].Inst, items[i+1].Inst
		if items[i].Label != "" || items[i+1].Label != "" || and.Op != x86.AND || xor.Op != x86.XOR || len(and.Args) != 2 || len(xor.Args) != 2 {
			continue
		}
		m, isMem := and.Args[0].(x86.Mem)
		imm, isImm := and.Args[1].(x86.Imm)
		r, isReg := xor.Args[0].(x86.Reg)
		if !isMem || !isImm || imm != 0 || !isReg || xor.Args[1] != x86.Operand(r) || m.Base != x86.NoReg || m.Index != x86.NoReg || m.Size != r.Size() {
			continue
		}
		items[i].Inst = xor
		items[i+1].Inst = x86.Inst{Op: x86.MOV, Args: []x86.Operand{m, r}}
		i++
	}
}

// storeEarly stores a copy's source where the copy is made, when the
// copy's register only carries the value to a store in a low-memory
// slot further on: `mov cx, ax; lodsw; …; mov [m], cx` becomes `mov [m],
// ax; lodsw; …` (the copy, then unread, goes with deadCode). Between the
// two, only instructions whose registers are their operands (and
// lodsb/w/d's ax and si) that name neither the register nor memory in
// ds outside a segment override, nor any label or jump. After allocation
// (k in physical registers), before deadCode.
func storeEarly(k *regalloc.Kernel) {
	live, err := regalloc.LiveOut(k, allocOptions())
	if err != nil {
		return
	}
	items := k.Items
	for j := range items {
		m, r, ok := slotStore(items[j])
		if !ok || live(j, r) {
			continue
		}
		i := j - 1
		for ; i >= 0 && items[i].Label == "" && !names(items[i].Inst, r) && simple(items[i].Inst, r, m); i-- {
		}
		if i < 0 || items[i].Label != "" || !names(items[i].Inst, r) {
			continue
		}
		cp := items[i].Inst
		d, isReg := cp.Args[0].(x86.Reg)
		s, srcReg := x86.Reg(0), false
		if cp.Op == x86.MOV && len(cp.Args) == 2 && isReg {
			s, srcReg = cp.Args[1].(x86.Reg)
		}
		if !srcReg || gpr(d) != gpr(r) || d.Size() < r.Size() || s.Size() != d.Size() || gpr(s) < 0 || gpr(s) == gpr(r) {
			continue
		}
		copy(items[i+2:j+1], items[i+1:j])
		items[i+1] = regalloc.Item{Inst: x86.Inst{Op: x86.MOV, Args: []x86.Operand{m, sized(s, r.Size())}}}
	}
}

// slotStore: in is mov [m], r, m a low-memory slot (an absolute address
// in ds) and r a 16- or 32-bit general register of its size.
func slotStore(it regalloc.Item) (x86.Mem, x86.Reg, bool) {
	in := it.Inst
	if it.Label != "" || in.Op != x86.MOV || len(in.Args) != 2 {
		return x86.Mem{}, 0, false
	}
	m, isMem := in.Args[0].(x86.Mem)
	r, isReg := in.Args[1].(x86.Reg)
	ok := isMem && isReg && m.Base == x86.NoReg && m.Index == x86.NoReg && m.Seg == x86.NoReg && m.Label == "" &&
		gpr(r) >= 0 && r.Size() == m.Size && r.Size() >= 16
	return m, r, ok
}

// gpr is r's general register's number (regalloc.Family), -1 for any
// other register.
func gpr(r x86.Reg) int {
	if f, ok := regalloc.Family(r); ok {
		return f
	}
	return -1
}

// sized is general register r's register of the given width (32 or 16:
// regalloc.View).
func sized(r x86.Reg, bits int) x86.Reg {
	v, ok := regalloc.View(gpr(r), bits)
	if !ok {
		panic(fmt.Sprintf("BUG: loopgen: %s has no %d-bit register", r, bits))
	}
	return v
}

// names: in names r's general register among its operands (an address's
// too).
func names(in x86.Inst, r x86.Reg) bool {
	for _, a := range in.Args {
		switch a := a.(type) {
		case x86.Reg:
			if gpr(a) == gpr(r) {
				return true
			}
		case x86.Mem:
			if gpr(a.Base) == gpr(r) || gpr(a.Index) == gpr(r) { // r is one: gpr(NoReg) is -1
				return true
			}
		}
	}
	return false
}

// simple: in touches no register but its operands (lods: ax and si too,
// which r must not be) and no memory in ds but absolute slots other than
// m.
func simple(in x86.Inst, r x86.Reg, m x86.Mem) bool {
	switch in.Op {
	case x86.MOV, x86.MOVZX, x86.MOVSX, x86.LEA, x86.ADD, x86.SUB, x86.AND, x86.OR, x86.XOR, x86.INC, x86.DEC,
		x86.NEG, x86.NOT, x86.CMP, x86.TEST, x86.SHL, x86.SHR, x86.SAR, x86.PUSH:
	case x86.LODSB, x86.LODSW, x86.LODSD:
		return gpr(r) != gpr(x86.EAX) && gpr(r) != gpr(x86.ESI)
	default:
		return false
	}
	for _, a := range in.Args {
		x, isMem := a.(x86.Mem)
		if !isMem || in.Op == x86.LEA || x.Seg != x86.NoReg {
			continue
		}
		if x.Base != x86.NoReg || x.Index != x86.NoReg || x.Label != "" ||
			x.Disp < m.Disp+int32(m.Size/8) && m.Disp < x.Disp+int32(max(x.Size, 8)/8) {
			return false
		}
	}
	return true
}

// loadFold reads memory in the instruction after a load into a register
// that nothing reads after it: `mov ax, [0x1000]; imul si, ax, 0x44`
// becomes `imul si, [0x1000], 0x44`, and `mov eax, [m]; add ecx, eax`
// becomes `add ecx, [m]` (1 or 2 bytes fewer, an instruction fewer).
// After allocation and narrowing (k in physical registers): the load
// and its reader are adjacent, so the address's registers are unchanged.
func loadFold(k *regalloc.Kernel) {
	live, err := regalloc.LiveOut(k, allocOptions())
	if err != nil {
		return
	}
	items := k.Items
	out := items[:0]
	for i := 0; i < len(items); i++ {
		if i+1 < len(items) {
			if in, ok := foldedLoad(items[i], items[i+1], func(r x86.Reg) bool { return live(i+1, r) }); ok {
				it := items[i+1]
				it.Inst = in
				out = append(out, it)
				i++
				continue
			}
		}
		out = append(out, items[i])
	}
	k.Items = out
}

// foldedLoad is use reading ld's memory in place of ld's register, where
// ld loads a register of the operand's size that use reads last (as
// the source of an ALU op into a register, or the multiplicand of a
// three-operand imul) and nothing reads after (live), unless use writes
// it.
func foldedLoad(ld, use regalloc.Item, live func(r x86.Reg) bool) (x86.Inst, bool) {
	if ld.Label != "" || use.Label != "" || ld.Inst.Op != x86.MOV || len(ld.Inst.Args) != 2 || len(use.Inst.Args) < 2 {
		return x86.Inst{}, false
	}
	r, isReg := ld.Inst.Args[0].(x86.Reg)
	m, isMem := ld.Inst.Args[1].(x86.Mem)
	if !isReg || !isMem || m.Label != "" || r.Size() != m.Size || r.Size() < 16 {
		return x86.Inst{}, false
	}
	args := use.Inst.Args
	d, dReg := args[0].(x86.Reg)
	switch use.Inst.Op {
	case x86.IMUL:
		if _, imm := args[len(args)-1].(x86.Imm); len(args) != 3 || !imm || args[1] != x86.Operand(r) {
			return x86.Inst{}, false
		}
	case x86.ADD, x86.SUB, x86.AND, x86.OR, x86.XOR, x86.ADC, x86.SBB, x86.CMP:
		if len(args) != 2 || args[1] != x86.Operand(r) {
			return x86.Inst{}, false
		}
	default:
		return x86.Inst{}, false
	}
	if !dReg || d.Size() != r.Size() {
		return x86.Inst{}, false
	}
	// An imul that writes r itself leaves nothing of the load to read;
	// an ALU op into r would add the load to itself, not to r's value.
	writesR := use.Inst.Op == x86.IMUL && d == r
	if gpr(d) == gpr(r) && !writesR || live(r) && !writesR {
		return x86.Inst{}, false
	}
	folded := slices.Clone(args)
	folded[1] = m
	return x86.Inst{Op: use.Inst.Op, Args: folded}, true
}

// cdqByte sets edx to a byte's value after a right shift of eax, which
// clears eax's sign, as cdq (edx = 0) and a mov to dl: `shr eax, 1; mov
// edx, 0x40` becomes `shr eax, 1; cdq; mov dl, 0x40`, 3 bytes fewer (the
// norm's division). For size: an instruction more. After allocation
// (k in physical registers); neither writes the flags.
func cdqByte(k *regalloc.Kernel) {
	items := k.Items
	out := make([]regalloc.Item, 0, len(items)+1)
	for i, it := range items {
		in := it.Inst
		if i > 0 && it.Label == "" && in.Op == x86.MOV && len(in.Args) == 2 && in.Args[0] == x86.Operand(x86.EDX) {
			v, isImm := in.Args[1].(x86.Imm)
			if isImm && v >= 0 && v < 0x100 && shiftsEAXRight(items[i-1].Inst) {
				out = append(out, regalloc.Item{Inst: x86.Inst{Op: x86.CDQ}})
				it.Inst = x86.Inst{Op: x86.MOV, Args: []x86.Operand{x86.DL, v}}
			}
		}
		out = append(out, it)
	}
	k.Items = out
}

// xchgMoves exchanges a copy between (e)ax and another register of its
// width, where nothing reads the source after it: `mov bx, ax` becomes
// `xchg ax, bx`, 1 byte (2 in 32 bits) where the mov takes 2 (3). The
// source gets the destination's old value, which nothing reads; neither
// writes the flags. For size. After allocation (k in physical
// registers).
func xchgMoves(k *regalloc.Kernel) {
	live, err := regalloc.LiveOut(k, allocOptions())
	if err != nil {
		return
	}
	for i, it := range k.Items {
		in := it.Inst
		if it.Label != "" || in.Op != x86.MOV || len(in.Args) != 2 {
			continue
		}
		d, ok1 := in.Args[0].(x86.Reg)
		s, ok2 := in.Args[1].(x86.Reg)
		if !ok1 || !ok2 || gpr(d) < 0 || gpr(s) < 0 || d.Size() != s.Size() || d.Size() == 8 || d == s ||
			gpr(d) != gpr(x86.EAX) && gpr(s) != gpr(x86.EAX) || live(i, sized(s, 32)) {
			continue
		}
		k.Items[i].Inst = x86.Inst{Op: x86.XCHG, Args: []x86.Operand{d, s}}
	}
}

// byteLoads loads a byte into a register's low byte alone where nothing
// reads the rest of the register after (a shift's count in cl):
// `movzx cx, byte [m]` becomes `mov cl, [m]`, 1 byte fewer. For size.
// After allocation (k in physical registers).
func byteLoads(k *regalloc.Kernel) {
	above, err := regalloc.LiveAboveLowByte(k, allocOptions())
	if err != nil {
		return
	}
	for i, it := range k.Items {
		in := it.Inst
		if it.Label != "" || in.Op != x86.MOVZX || len(in.Args) != 2 {
			continue
		}
		r, isReg := in.Args[0].(x86.Reg)
		m, isMem := in.Args[1].(x86.Mem)
		if !isReg || !isMem || m.Size != 8 || gpr(r) < 0 || above(i, r) {
			continue
		}
		lo, ok := regalloc.View(gpr(r), 8)
		if !ok {
			continue // si, di, bp: no low byte
		}
		k.Items[i].Inst = x86.Inst{Op: x86.MOV, Args: []x86.Operand{lo, m}}
	}
}

// incTwice steps a 16-bit register by 2 with two incs (or decs), where
// nothing reads the carry, auxiliary or overflow flag after: `add si, 2`
// takes 3 bytes, `inc si; inc si` 2, and their result's zero, sign and
// parity flags are add's. For size. After allocation (k in physical
// registers).
func incTwice(k *regalloc.Kernel) {
	out := make([]regalloc.Item, 0, len(k.Items))
	for i, it := range k.Items {
		if step := twoSteps(it.Inst); step != 0 && flagsDead(k.Items, i+1, true, cf|af|of) {
			it.Inst = x86.Inst{Op: step, Args: it.Inst.Args[:1]}
			out = append(out, it, regalloc.Item{Inst: it.Inst})
			continue
		}
		out = append(out, it)
	}
	k.Items = out
}

// twoSteps is inc where in adds 2 to a 16-bit general register, dec
// where it subtracts 2, else 0.
func twoSteps(in x86.Inst) x86.Op {
	if len(in.Args) != 2 || in.Op != x86.ADD && in.Op != x86.SUB {
		return 0
	}
	r, isReg := in.Args[0].(x86.Reg)
	n, isImm := in.Args[1].(x86.Imm)
	if !isReg || !isImm || gpr(r) < 0 || r.Size() != 16 {
		return 0
	}
	if in.Op == x86.SUB {
		n = -n
	}
	switch n {
	case 2:
		return x86.INC
	case -2:
		return x86.DEC
	}
	return 0
}

// shiftsEAXRight: in is shr eax by an immediate of 1 or more.
func shiftsEAXRight(in x86.Inst) bool {
	if in.Op != x86.SHR || len(in.Args) != 2 || in.Args[0] != x86.Operand(x86.EAX) {
		return false
	}
	n, ok := in.Args[1].(x86.Imm)
	return ok && n >= 1
}
