package loopgen

import (
	"slices"

	x86 "tfc/codegen/x86_16"
	"tfc/regalloc"
)

// pointerBase: for size, a 16-bit register that a kernel only sets to
// constants, steps by constants and addresses memory through (16-bit
// addresses, which wrap at 64 KiB) holds the address of one of its
// accesses instead, D more: its constants take D, its addresses'
// displacements D less. The access at D then has none (2 bytes fewer
// where D took 16 bits, 1 where 8), and lodsLoads and stosStores may make
// it a string instruction: argmax's `mov eax, [si-0x17a8]` (its byte
// offset into the logits) becomes `lodsd`, its step gone. Every path sees
// the register D further, so it applies whatever the control flow, where
// no instruction reads it otherwise (nor its 32-bit register, nor a call,
// a string instruction or a pusha), it is not live at the kernel's entry,
// nothing jumps out of the kernel, and the flags of its steps, and of an
// xor that set it to 0 (a mov now), are dead. Of the displacements, the
// one that makes the kernel smallest, if any does. After allocation (k in
// physical registers), after countBase, before lodsLoads and stosStores.
func pointerBase(k *regalloc.Kernel, esIsDS bool) {
	own := map[x86.Label]bool{} // the kernel's labels
	for _, it := range k.Items {
		own[x86.Label(it.Label)] = it.Label != ""
	}
	for _, r := range []x86.Reg{x86.SI, x86.DI, x86.BX, x86.BP} {
		disps, ok := basedOn(k, r, own)
		if !ok {
			continue
		}
		best, was := k.Items, stringBytes(k, esIsDS)
		for _, d := range disps {
			tried := &regalloc.Kernel{Name: k.Name, Items: rebasedOn(k.Items, r, d)}
			if n := stringBytes(tried, esIsDS); n < was {
				best, was = tried.Items, n
			}
		}
		k.Items = best
	}
}

// stringBytes is k's size once lodsLoads and stosStores have run on it.
func stringBytes(k *regalloc.Kernel, esIsDS bool) int {
	c := &regalloc.Kernel{Name: k.Name, Items: slices.Clone(k.Items)}
	lodsLoads(c)
	stosStores(c, esIsDS)
	return allocation{k: c}.bytes()
}

// basedOn: r is pointerBase's register in k, whose labels are own;
// disps are the displacements of its addresses.
func basedOn(k *regalloc.Kernel, r x86.Reg, own map[x86.Label]bool) (disps []int32, ok bool) {
	sets := 0
	for i, it := range k.Items {
		in := it.Inst
		if it.Label != "" {
			continue
		}
		if l, isLabel := arg(in, 0).(x86.Label); jumps(in.Op) && (!isLabel || !own[l]) {
			return nil, false // out of the kernel: what is there may read r
		}
		if stringOp(in.Op) || callTouches(it, r) {
			return nil, false
		}
		switch {
		case setsConst(in, r):
			if in.Op == x86.XOR && !flagsDeadAfter(k.Items, i+1, true) {
				return nil, false
			}
			sets++
			continue
		case stepOf(in) != 0 && addsImm(in, r, stepOf(in)) || subtracts(in, r):
			if !flagsDeadAfter(k.Items, i+1, true) {
				return nil, false
			}
			continue
		}
		for _, a := range in.Args {
			switch a := a.(type) {
			case x86.Reg:
				if gpr(a) == gpr(r) {
					return nil, false
				}
			case x86.Mem:
				if a.Base != r && a.Index != r {
					if gpr(a.Base) == gpr(r) || gpr(a.Index) == gpr(r) {
						return nil, false
					}
					continue
				}
				if a.Addr32 {
					return nil, false
				}
				if !slices.Contains(disps, a.Disp) {
					disps = append(disps, a.Disp)
				}
			}
		}
	}
	if sets == 0 || len(disps) == 0 {
		return nil, false
	}
	// Not live where the kernel starts (a param). Nothing reads it after
	// the kernel: no register goes from one to the next but through a
	// call (its Reads, above) or forward's token in ax.
	entry := append([]regalloc.Item{{Inst: x86.Inst{Op: x86.CLC}}}, k.Items...)
	live, err := regalloc.LiveOut(&regalloc.Kernel{Name: k.Name, Items: entry}, allocOptions())
	if err != nil || live(0, r) {
		return nil, false
	}
	return disps, true
}

// setsConst: in sets r to a constant (mov r, imm; xor r, r).
func setsConst(in x86.Inst, r x86.Reg) bool {
	if len(in.Args) != 2 || in.Args[0] != x86.Operand(r) {
		return false
	}
	_, imm := in.Args[1].(x86.Imm)
	return in.Op == x86.MOV && imm || in.Op == x86.XOR && in.Args[1] == x86.Operand(r)
}

// subtracts: in subtracts a constant from r, or decrements it.
func subtracts(in x86.Inst, r x86.Reg) bool {
	if len(in.Args) == 0 || in.Args[0] != x86.Operand(r) {
		return false
	}
	if in.Op == x86.DEC && len(in.Args) == 1 {
		return true
	}
	_, imm := arg(in, 1).(x86.Imm)
	return in.Op == x86.SUB && imm
}

// rebasedOn is items with r D further (pointerBase).
func rebasedOn(items []regalloc.Item, r x86.Reg, d int32) []regalloc.Item {
	out := slices.Clone(items)
	for i, it := range out {
		in := it.Inst
		if it.Label != "" {
			continue
		}
		if setsConst(in, r) {
			v := int64(0)
			if in.Op == x86.MOV {
				v = int64(in.Args[1].(x86.Imm))
			}
			out[i].Inst = x86.Inst{Op: x86.MOV, Args: []x86.Operand{r, x86.Imm(int64(int16(v + int64(d))))}}
			continue
		}
		in.Args = slices.Clone(in.Args)
		for a, o := range in.Args {
			if m, ok := o.(x86.Mem); ok && (m.Base == r || m.Index == r) {
				m.Disp = int32(int16(m.Disp - d)) // 16-bit addresses wrap
				if m.Base == x86.NoReg && m.Scale <= 1 {
					m.Base, m.Index, m.Scale = r, x86.NoReg, 1
				}
				in.Args[a] = m
			}
		}
		out[i].Inst = in
	}
	return out
}

// loadAtPointer: an access to a constant 16-bit address that a later
// `mov r, imm` of the same block sets r (bx, si or di) to goes through r,
// the mov moved up before it, where nothing between names r, reads or
// steps it as a string instruction or a call may, or is a label or a
// jump: 2 bytes fewer (1 for eax's moffs form). Argmax, after
// pointerBase: `mov ecx, [0xe858]` … `mov si, -0x17a8` becomes `mov si,
// -0x17a8; mov ecx, [si]`. After allocation (k in physical registers).
func loadAtPointer(k *regalloc.Kernel) {
	for i := 0; i < len(k.Items); i++ {
		it := k.Items[i]
		a := slices.IndexFunc(it.Inst.Args, func(o x86.Operand) bool {
			m, ok := o.(x86.Mem)
			return ok && m.Base == x86.NoReg && m.Index == x86.NoReg && m.Label == "" && !m.Addr32
		})
		if it.Label != "" || a < 0 || stringOp(it.Inst.Op) {
			continue
		}
		m := it.Inst.Args[a].(x86.Mem)
		for j := i + 1; j < len(k.Items); j++ {
			nx := k.Items[j]
			if nx.Label != "" || jumps(nx.Inst.Op) || nx.Inst.Op == x86.RET {
				break
			}
			r, c, ok := setsImm(nx.Inst)
			if ok && uint16(c) == uint16(m.Disp) && (r == x86.BX || r == x86.SI || r == x86.DI) && !names(it.Inst, r) {
				if !touchedBetween(k.Items[i+1:j], r) {
					in := it.Inst
					in.Args = slices.Clone(in.Args)
					m.Base, m.Disp = r, 0
					in.Args[a] = m
					k.Items[i].Inst = in
					k.Items = slices.Insert(slices.Delete(k.Items, j, j+1), i, nx)
					break
				}
			}
		}
	}
}

// setsImm is in's register and constant where in is `mov r, imm`.
func setsImm(in x86.Inst) (x86.Reg, int64, bool) {
	if in.Op != x86.MOV || len(in.Args) != 2 {
		return 0, 0, false
	}
	r, isReg := in.Args[0].(x86.Reg)
	c, isImm := in.Args[1].(x86.Imm)
	return r, int64(c), isReg && isImm
}

// touchedBetween: an item of items names r, or may read or write it
// unnamed (a string instruction, pusha or popa, a call that touches it).
func touchedBetween(items []regalloc.Item, r x86.Reg) bool {
	return slices.ContainsFunc(items, func(it regalloc.Item) bool {
		return names(it.Inst, r) || stringOp(it.Inst.Op) || callTouches(it, r)
	})
}
