package loopgen

import (
	x86 "tfc/codegen/x86_16"
	"tfc/regalloc"
)

// bitIndex: a loop that steps a running bit down from the top, with which
// it sets a bit of a register and clears it again (a norm's square root,
// lir's isqrt: mov ebp, 0x80000000; L: or edi, ebp; … xor edi, ebp; …
// shr ebp, 1; jne L) counts the bit's index down instead (mov bp, 31; L:
// bts edi, ebp; … btr edi, ebp; … dec bp; jns L): 14 bytes where 17, as
// many instructions. It does so where nothing reads the flags that the or
// and the xor set (bts and btr set CF alone, dec all but CF); where the
// xor clears the bit that the or set in the same pass (no label between
// them, nothing there writes the register); where the loop is left only
// at its end, and nothing reads the bit's register after it (it ends at
// -1, not 0); and where the bit's register is ebx or ebp, which no
// instruction writes but by naming it.
func bitIndex(k *regalloc.Kernel) {
	items := k.Items
	for i, it := range items {
		r, ok := topBit(it.Inst)
		if !ok {
			continue
		}
		top := i + 1
		for top < len(items) && items[top].Label == "" && !names(items[top].Inst, r) && !jumps(items[top].Inst.Op) {
			top++
		}
		if top == len(items) || items[top].Label == "" {
			continue
		}
		or, xor, shr, ok := bitUses(items, top, r)
		if !ok {
			continue
		}
		x := items[or].Inst.Args[0].(x86.Reg)
		if !readsOnlyBetween(items, or+1, xor, x) || !flagsDeadAfter(items, or+1, true) || !flagsDeadAfter(items, xor+1, true) ||
			!flagsDeadAfter(items, shr+2, true) {
			continue
		}
		// After the loop: what the first instruction after the jne reads,
		// and what is live past it (live past the jne itself includes
		// the loop's top).
		live, err := regalloc.LiveOut(k, allocOptions())
		after := shr + 2
		for after < len(items) && items[after].Label != "" {
			after++
		}
		if err != nil || after == len(items) || live(after, r) || names(items[after].Inst, r) {
			continue
		}
		r16 := sized(r, 16)
		items[i].Inst = x86.Inst{Op: x86.MOV, Args: []x86.Operand{r16, x86.Imm(31)}}
		items[or].Inst = x86.Inst{Op: x86.BTS, Args: []x86.Operand{x, r}}
		items[xor].Inst = x86.Inst{Op: x86.BTR, Args: []x86.Operand{x, r}}
		items[shr].Inst = x86.Inst{Op: x86.DEC, Args: []x86.Operand{r16}}
		items[shr+1].Inst.Op = x86.JNS
		return
	}
}

// topBit is the register in sets to the top bit (mov r, 0x80000000),
// where it is ebx or ebp.
func topBit(in x86.Inst) (x86.Reg, bool) {
	if in.Op != x86.MOV || len(in.Args) != 2 {
		return x86.NoReg, false
	}
	r, isReg := in.Args[0].(x86.Reg)
	imm, isImm := in.Args[1].(x86.Imm)
	return r, isReg && isImm && uint32(imm) == 1<<31 && (r == x86.EBX || r == x86.EBP)
}

// bitUses finds, in the loop from the label at top to the jne back to it,
// the or and the xor of one register with r and r's shift right by 1
// before the jne: r's only uses, the loop's only way out its end, no
// call in it.
func bitUses(items []regalloc.Item, top int, r x86.Reg) (or, xor, shr int, ok bool) {
	or, xor, shr = -1, -1, -1
	labels := map[string]bool{items[top].Label: true}
	for j := top + 1; j < len(items); j++ {
		it := items[j]
		if it.Label != "" {
			labels[it.Label] = true
			continue
		}
		in := it.Inst
		switch {
		case in.Op == x86.JNE && shr == j-1 && target(in) == items[top].Label:
			return or, xor, shr, or >= 0 && xor > or
		case in.Op == x86.CALL || in.Op == x86.RET:
			return 0, 0, 0, false
		case jumps(in.Op):
			// Forward, within the loop: a label not seen yet, which the
			// scan must meet before the loop's end.
			if labels[target(in)] || !labelAhead(items, j, target(in)) {
				return 0, 0, 0, false
			}
		case !names(in, r):
		case in.Op == x86.OR && or < 0 && len(in.Args) == 2 && in.Args[1] == r && isGPR32(in.Args[0], r):
			or = j
		case in.Op == x86.XOR && or >= 0 && xor < 0 && len(in.Args) == 2 && in.Args[1] == r && in.Args[0] == items[or].Inst.Args[0]:
			xor = j
		case in.Op == x86.SHR && shr < 0 && len(in.Args) == 2 && in.Args[0] == r && in.Args[1] == x86.Imm(1):
			shr = j
		default:
			return 0, 0, 0, false
		}
	}
	return 0, 0, 0, false
}

// labelAhead: label l comes after item j, before the loop's jne back.
func labelAhead(items []regalloc.Item, j int, l string) bool {
	for _, it := range items[j+1:] {
		if it.Label == l {
			return true
		}
		if it.Inst.Op == x86.JNE || it.Inst.Op == x86.RET {
			break
		}
	}
	return false
}

// isGPR32: a is a 32-bit general register, not r.
func isGPR32(a x86.Operand, r x86.Reg) bool {
	x, ok := a.(x86.Reg)
	return ok && x.Size() == 32 && gpr(x) >= 0 && gpr(x) != gpr(r)
}

// target is the label a jump names ("" for none).
func target(in x86.Inst) string {
	if len(in.Args) != 1 {
		return ""
	}
	if l, ok := in.Args[0].(x86.Label); ok {
		return string(l)
	}
	return ""
}

// readsOnlyBetween: the items from i up to j write nothing of x's
// register, and none is a label (one pass runs them all after the or: a
// label is none of the forms below).
func readsOnlyBetween(items []regalloc.Item, i, j int, x x86.Reg) bool {
	for _, it := range items[i:j] {
		in := it.Inst
		if it.Label == "" && in.Op.IsJcc() {
			continue
		}
		switch in.Op {
		case x86.CMP, x86.TEST:
		case x86.MOV, x86.ADD, x86.SUB, x86.ADC, x86.SBB, x86.AND:
			if d, ok := in.Args[0].(x86.Reg); ok && gpr(d) == gpr(x) {
				return false
			}
		case x86.MUL:
			if gpr(x) == gpr(x86.EAX) || gpr(x) == gpr(x86.EDX) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// loopCX: for size, `dec cx; jne L` is `loop L` (2 bytes where 3), where
// nothing reads the flags that dec set, after the loop nor at L (loop
// sets none), and L lies within loop's reach (a byte's displacement)
// with no jump between it and the jne. After allocation (k in physical
// registers).
func loopCX(k *regalloc.Kernel) {
	at := map[string]int{}
	for i, it := range k.Items {
		if it.Label != "" {
			at[it.Label] = i
		}
	}
	drop := map[int]bool{}
	for i := 0; i+1 < len(k.Items); i++ {
		dec, jne := k.Items[i], k.Items[i+1]
		if dec.Label != "" || dec.Inst.Op != x86.DEC || dec.Inst.Args[0] != x86.Operand(x86.CX) && dec.Inst.Args[0] != x86.Operand(x86.ECX) || jne.Label != "" || jne.Inst.Op != x86.JNE {
			continue
		}
		op := x86.LOOP
		if dec.Inst.Args[0] == x86.Operand(x86.ECX) {
			op |= x86.A32 // a32 loop: ecx, 3 bytes where 4
		}
		l, isLabel := jne.Inst.Args[0].(x86.Label)
		top, inside := at[string(l)]
		if !isLabel || !inside || top > i || !flagsDeadAfter(k.Items, i+2, true) || !flagsDeadAfter(k.Items, top, true) {
			continue
		}
		// loop's displacement counts from its end: the body and its 2
		// bytes. A body that jumps outside itself stays.
		if n := itemBytes(k.Items[top:i]); n == 0 || n+2 > 128 {
			continue
		}
		k.Items[i+1].Inst = x86.Inst{Op: op, Args: jne.Inst.Args}
		drop[i] = true
	}
	dropItems(k, drop)
}

// itemBytes is the size of items, labels and jumps among them, or 0
// where they do not assemble alone (a jump to a label outside them).
func itemBytes(items []regalloc.Item) int {
	var p x86.Program
	for _, it := range items {
		if it.Label != "" {
			p.Label(it.Label)
		} else {
			p.Add(it.Inst)
		}
	}
	n, err := p.Size(0)
	if err != nil {
		return 0
	}
	return n
}

// stepTest drops a test of a register that the instruction before it
// has just stepped (dec, inc, add, sub of the same register), where
// what reads the flags after it reads only the zero and sign flags,
// which the step set as the test would: `dec cx; test cx, cx; jne L`
// is `dec cx; jne L` (2 bytes fewer), and loopCX's after it. After
// allocation (k in physical registers).
func stepTest(k *regalloc.Kernel) {
	drop := map[int]bool{}
	for i := 1; i < len(k.Items); i++ {
		step, test := k.Items[i-1], k.Items[i]
		if test.Label != "" || step.Label != "" || test.Inst.Op != x86.TEST || len(test.Inst.Args) != 2 || test.Inst.Args[0] != test.Inst.Args[1] {
			continue
		}
		r, isReg := test.Inst.Args[0].(x86.Reg)
		switch step.Inst.Op {
		case x86.DEC, x86.INC, x86.ADD, x86.SUB:
		default:
			continue
		}
		if !isReg || step.Inst.Args[0] != x86.Operand(r) || !flagsDead(k.Items, i+1, true, allFlags&^(zf|sf)) {
			continue
		}
		drop[i] = true
	}
	dropItems(k, drop)
}
