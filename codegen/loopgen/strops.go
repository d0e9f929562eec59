package loopgen

import (
	"slices"

	x86 "tfc/codegen/x86_16"
	"tfc/regalloc"
)

// lodsLoads: for size, a load into eax through si (esi with 32-bit
// addressing) at no displacement, sign-extending a byte or a word or
// reading a dword, whose pointer an add of the load's width steps later,
// nothing between touching the pointer nor any label, jump, string
// instruction or call but a routine's (steppedAfter), and the add's
// flags dead after it, is lods (then cbw, cwde): it steps the pointer
// itself, DF being clear (the boot sector's cld; nothing sets it). A word through esi: `a32 lodsw; cwde`,
// 4 bytes, for `movsx eax, word [esi]` and `add esi, 2`, 9 (llama2.tf's
// matmul rows and attention's dot products). After allocation (k in
// physical registers).
func lodsLoads(k *regalloc.Kernel) {
	drop := map[int]bool{}
	with := map[int][]x86.Inst{}
	for i, it := range k.Items {
		op, width, ok := lodsOf(it)
		if !ok {
			continue
		}
		m := it.Inst.Args[1].(x86.Mem)
		if j := steppedAfter(k.Items, i, m.Base, width); j > 0 {
			if m.Seg != x86.NoReg && m.Seg != x86.DS { // lods reads DS's by default
				op |= x86.SegOverride(m.Seg)
			}
			if m.Addr32 {
				op |= x86.A32
			}
			with[i] = []x86.Inst{{Op: op}}
			switch width {
			case 1:
				with[i] = append(with[i], x86.Inst{Op: x86.CBW}, x86.Inst{Op: x86.CWDE})
			case 2:
				with[i] = append(with[i], x86.Inst{Op: x86.CWDE})
			}
			drop[j] = true
		}
	}
	if len(drop) == 0 {
		return
	}
	var out []regalloc.Item
	for i, it := range k.Items {
		switch {
		case drop[i]:
		case with[i] != nil:
			for _, in := range with[i] {
				out = append(out, regalloc.Item{Inst: in})
			}
		default:
			out = append(out, it)
		}
	}
	k.Items = out
}

// steppedAfter is the index of the add (or inc) after item i that steps
// ptr by width, where nothing between touches ptr nor is a label, jump,
// string instruction or call (but of a routine that neither reads nor
// writes ptr: rshr's), and the flags are dead after it; else 0.
func steppedAfter(items []regalloc.Item, i int, ptr x86.Reg, width int) int {
	for j := i + 1; j < len(items); j++ {
		nx := items[j]
		if nx.Label != "" || jumps(nx.Inst.Op) || nx.Inst.Op == x86.RET || stringOp(nx.Inst.Op) {
			return 0
		}
		if nx.Inst.Op == x86.CALL && (nx.Clobbers == nil || slices.ContainsFunc(append(nx.Reads, nx.Clobbers...), func(r x86.Reg) bool { return gpr(r) == gpr(ptr) })) {
			return 0 // a proc's, or a routine's that reads or writes ptr
		}
		if addsImm(nx.Inst, ptr, width) {
			if flagsDeadAfter(items, j+1, true) {
				return j
			}
			return 0
		}
		if names(nx.Inst, ptr) {
			return 0
		}
	}
	return 0
}

// lodsOf is the lods that loads what it, a load into eax through si or
// esi at no displacement, loads (before any extension), and its width.
func lodsOf(it regalloc.Item) (x86.Op, int, bool) {
	in := it.Inst
	if it.Label != "" || len(in.Args) != 2 || in.Args[0] != x86.Operand(x86.EAX) {
		return 0, 0, false
	}
	m, ok := in.Args[1].(x86.Mem)
	if !ok || !through(m, x86.SI) {
		return 0, 0, false
	}
	switch {
	case in.Op == x86.MOVSX && m.Size == 8:
		return x86.LODSB, 1, true
	case in.Op == x86.MOVSX && m.Size == 16:
		return x86.LODSW, 2, true
	case in.Op == x86.MOV && (m.Size == 32 || m.Size == 0):
		return x86.LODSD, 4, true
	}
	return 0, 0, false
}

// addsImm: in adds n to r's register (in r's width or 16 bits: the
// pointer's offset), or increments it where n is 1.
func addsImm(in x86.Inst, r x86.Reg, n int) bool {
	if in.Op == x86.INC && len(in.Args) == 1 && n == 1 {
		d, isReg := in.Args[0].(x86.Reg)
		return isReg && gpr(d) == gpr(r) && (d == r || d.Size() == 16 && r.Size() == 16)
	}
	if in.Op != x86.ADD || len(in.Args) != 2 {
		return false
	}
	d, isReg := in.Args[0].(x86.Reg)
	c, isImm := in.Args[1].(x86.Imm)
	return isReg && isImm && int(c) == n && gpr(d) == gpr(r) && (d == r || d.Size() == 16 && r.Size() == 16)
}

// stringOp: op is a string instruction (it reads or steps si or di).
func stringOp(op x86.Op) bool {
	switch op.Base() {
	case x86.LODSB, x86.LODSW, x86.LODSD, x86.STOSB, x86.STOSW, x86.STOSD, x86.MOVSB, x86.MOVSW, x86.MOVSD, x86.CMPSB, x86.CMPSW, x86.CMPSD, x86.PUSHA, x86.POPA:
		return true
	}
	return false
}

// stosStores: for size, a store of eax, ax or al through di (edi with
// 32-bit addressing) at no displacement, in ES's segment (named, or DS's
// where esIsDS: the flat model's activations in segment 0, where ES is 0
// as the boot hands it over), whose pointer an add of the store's width steps later,
// as lodsLoads's, is stos: `mov dword [di], eax` and `add di, 4`, 6
// bytes, become `stosd`, 2 (llama2.tf's matmul rows).
func stosStores(k *regalloc.Kernel, esIsDS bool) {
	drop := map[int]bool{}
	for i, it := range k.Items {
		op, m, ok := stosOf(it, esIsDS)
		if !ok {
			continue
		}
		if j := steppedAfter(k.Items, i, m.Base, m.Size/8); j > 0 {
			if m.Addr32 {
				op |= x86.A32
			}
			k.Items[i].Inst = x86.Inst{Op: op}
			drop[j] = true
		}
	}
	dropItems(k, drop)
}

// stosOf is the stos that stores what it stores, and its memory operand.
func stosOf(it regalloc.Item, esIsDS bool) (x86.Op, x86.Mem, bool) {
	in := it.Inst
	if it.Label != "" || in.Op != x86.MOV || len(in.Args) != 2 {
		return 0, x86.Mem{}, false
	}
	m, ok := in.Args[0].(x86.Mem)
	if !ok || !through(m, x86.DI) || !(m.Seg == x86.ES || (m.Seg == x86.NoReg || m.Seg == x86.DS) && esIsDS) {
		return 0, x86.Mem{}, false
	}
	switch in.Args[1] {
	case x86.Operand(x86.EAX):
		m.Size = 32
		return x86.STOSD, m, true
	case x86.Operand(x86.AX):
		m.Size = 16
		return x86.STOSW, m, true
	case x86.Operand(x86.AL):
		m.Size = 8
		return x86.STOSB, m, true
	}
	return 0, x86.Mem{}, false
}

// through: m is the address in r alone, its base (si or di; esi or edi
// with 32-bit addressing). Not as the index, which the selection gives a
// lone register too (the embedding's row, [es:si]): lods there made the
// allocations of llama2-int8.tf 3 bytes larger, others 1 to 3 smaller
// (`tfc size --gen loop`).
func through(m x86.Mem, r x86.Reg) bool {
	if m.Disp != 0 || m.Label != "" || m.Index != x86.NoReg {
		return false
	}
	p := m.Base
	return p == r && !m.Addr32 || p == sized(r, 32) && m.Addr32
}

// stepStrings: for size, a 16-bit pointer's step by 4 or 2 where nothing
// reads the flags after is a string instruction's: di by scasd or scasw
// (2 or 1 byte, where the add takes 3), which compares eax with es:[di];
// si by lodsd or lodsw where nothing reads eax after. The flat model's
// 4 GiB limits let them read wherever the pointer points; segmented
// (flat false), the pointer is a multiple of 4 there (regalloc.Aligned),
// so that the read ends in its 64 KiB segment (scasd at di 0xfffe
// faults in real mode).
func stepStrings(k *regalloc.Kernel, flat bool) {
	// The steps first: most kernels have none, and need no liveness.
	var steps []int
	for i, it := range k.Items {
		in := it.Inst
		if it.Label != "" || in.Op != x86.ADD || len(in.Args) != 2 {
			continue
		}
		n, isImm := in.Args[1].(x86.Imm)
		if isImm && (n == 2 || n == 4) && stepOps[in.Args[0]][0] != 0 && flagsDeadAfter(k.Items, i+1, true) {
			steps = append(steps, i)
		}
	}
	if len(steps) == 0 {
		return
	}
	o := allocOptions()
	live, err := regalloc.LiveOut(k, o)
	if err != nil {
		return
	}
	aligned := func(int, x86.Reg) bool { return true }
	if !flat {
		if aligned, err = regalloc.Aligned(k, o); err != nil {
			return
		}
	}
	for _, i := range steps {
		in := k.Items[i].Inst
		p := in.Args[0].(x86.Reg)
		if p == x86.SI && live(i, x86.EAX) || !aligned(i, p) {
			continue
		}
		k.Items[i].Inst = x86.Inst{Op: stepOps[p][in.Args[1].(x86.Imm)/4]}
	}
}

// stepOps are the string instructions that step di or si by 2 and by 4.
var stepOps = map[x86.Operand][2]x86.Op{x86.DI: {x86.SCASW, x86.SCASD}, x86.SI: {x86.LODSW, x86.LODSD}}
