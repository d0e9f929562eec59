package loopgen

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"

	x86 "tfc/codegen/x86_16"
	"tfc/regalloc"
)

// A load into eax through si or esi, stepped later by its width with
// nothing between touching the pointer, and the step's flags dead, is
// lods (a word: and cwde; a byte: cbw, cwde), its segment and address
// size kept; otherwise it stays.
func TestLodsLoads(t *testing.T) {
	inst := func(op x86.Op, args ...x86.Operand) x86.Inst { return x86.Inst{Op: op, Args: args} }
	add := func(r x86.Reg, n int64) x86.Inst { return inst(x86.ADD, r, x86.Imm(n)) }
	word32 := x86.Mem{Size: 16, Base: x86.ESI, Addr32: true}
	byteFS := x86.Mem{Size: 8, Base: x86.SI, Seg: x86.FS}
	dword := x86.Mem{Size: 32, Base: x86.SI}
	imul := inst(x86.IMUL, x86.D(x86.Mem{Base: x86.BX}))
	jne := inst(x86.JNE, x86.Label("l"))
	for _, c := range []struct {
		name  string
		items []x86.Inst
		want  []x86.Inst // nil: unchanged
	}{
		{"a word through esi", []x86.Inst{inst(x86.MOVSX, x86.EAX, word32), imul, add(x86.ESI, 2), add(x86.BX, 4), jne},
			[]x86.Inst{inst(x86.A32 | x86.LODSW), inst(x86.CWDE), imul, add(x86.BX, 4), jne}},
		{"a byte through fs:si", []x86.Inst{inst(x86.MOVSX, x86.EAX, byteFS), imul, inst(x86.INC, x86.SI), add(x86.BX, 4), jne},
			[]x86.Inst{inst(x86.SegOverride(x86.FS) | x86.LODSB), inst(x86.CBW), inst(x86.CWDE), imul, add(x86.BX, 4), jne}},
		{"a dword", []x86.Inst{inst(x86.MOV, x86.EAX, dword), add(x86.SI, 4), add(x86.BX, 4), jne},
			[]x86.Inst{inst(x86.LODSD), add(x86.BX, 4), jne}},
		{"si as the index", []x86.Inst{inst(x86.MOVSX, x86.EAX, x86.Mem{Size: 8, Index: x86.SI, Seg: x86.ES}), imul, inst(x86.INC, x86.SI), add(x86.BX, 4), jne}, nil},
		{"the step's flags read", []x86.Inst{inst(x86.MOVSX, x86.EAX, word32), add(x86.ESI, 2), jne}, nil},
		{"another step", []x86.Inst{inst(x86.MOVSX, x86.EAX, word32), add(x86.ESI, 4), add(x86.BX, 4), jne}, nil},
		{"the pointer read between", []x86.Inst{inst(x86.MOVSX, x86.EAX, word32), inst(x86.MOV, x86.ECX, x86.ESI), add(x86.ESI, 2), add(x86.BX, 4), jne}, nil},
		{"a call between", []x86.Inst{inst(x86.MOVSX, x86.EAX, word32), inst(x86.CALL, x86.Label("rshr")), add(x86.ESI, 2), add(x86.BX, 4), jne}, nil},
		{"into ecx", []x86.Inst{inst(x86.MOVSX, x86.ECX, word32), add(x86.ESI, 2), add(x86.BX, 4), jne}, nil},
		{"a displacement", []x86.Inst{inst(x86.MOVSX, x86.EAX, x86.Mem{Size: 16, Base: x86.ESI, Disp: 2, Addr32: true}), add(x86.ESI, 2), add(x86.BX, 4), jne}, nil},
		{"through di", []x86.Inst{inst(x86.MOVSX, x86.EAX, x86.Mem{Size: 8, Base: x86.DI}), add(x86.DI, 1), add(x86.BX, 4), jne}, nil},
	} {
		want := c.want
		if want == nil {
			want = c.items
		}
		assert.Equal(t, want, peepholed(c.items, lodsLoads), c.name)
	}
}

// indexBase: a lone unscaled 16-bit index is the base (the two encode
// alike), so that a load through si there takes lods too (lodsLoads after
// it); a 32-bit or scaled index stays, and the instructions of a kernel
// that shares them are not changed.
func TestIndexBase(t *testing.T) {
	inst := func(op x86.Op, args ...x86.Operand) x86.Inst { return x86.Inst{Op: op, Args: args} }
	imul := inst(x86.IMUL, x86.EBX)
	step := []x86.Inst{inst(x86.INC, x86.SI), inst(x86.ADD, x86.DI, x86.Imm(4)), inst(x86.JNE, x86.Label("l"))}
	load := func(m x86.Mem) []x86.Inst { return append([]x86.Inst{inst(x86.MOVSX, x86.EAX, m), imul}, step...) }
	byIndex := x86.Mem{Size: 8, Index: x86.SI, Seg: x86.ES}
	store := inst(x86.MOV, x86.D(x86.Mem{Index: x86.DI, Disp: -0x100}), x86.EAX)
	for _, c := range []struct {
		name  string
		items []x86.Inst
		want  []x86.Inst // nil: unchanged
	}{
		{"si as the index", load(byIndex),
			append([]x86.Inst{inst(x86.SegOverride(x86.ES) | x86.LODSB), inst(x86.CBW), inst(x86.CWDE), imul}, step[1:]...)},
		{"a store through di as the index", []x86.Inst{store},
			[]x86.Inst{inst(x86.MOV, x86.D(x86.Mem{Base: x86.DI, Disp: -0x100}), x86.EAX)}},
		{"esi as the index", load(x86.Mem{Size: 8, Index: x86.ESI, Addr32: true, Seg: x86.ES}), nil},
		{"si scaled", load(x86.Mem{Size: 8, Index: x86.SI, Scale: 2, Seg: x86.ES}), nil},
	} {
		want := c.want
		if want == nil {
			want = c.items
		}
		given := func() []x86.Inst { // c.items, none of its Args shared
			var out []x86.Inst
			for _, in := range c.items {
				out = append(out, x86.Inst{Op: in.Op, Args: slices.Clone(in.Args)})
			}
			return out
		}
		assert.Equal(t, want, peepholed(given(), func(k *regalloc.Kernel) { indexBase(k); lodsLoads(k) }), c.name)
		assert.Equal(t, c.items, peepholed(given(), func(k *regalloc.Kernel) {
			indexBase(&regalloc.Kernel{Items: slices.Clone(k.Items)})
		}), "%s: a kernel that shares its instructions", c.name)
	}
}

// finish recolors again with indexBase only where the kernel loads through
// a lone index that an add or inc steps later in the block.
func TestSteppedIndexLoad(t *testing.T) {
	inst := func(op x86.Op, args ...x86.Operand) x86.Inst { return x86.Inst{Op: op, Args: args} }
	byIndex := x86.Mem{Size: 16, Index: x86.SI, Seg: x86.ES}
	load := inst(x86.MOVSX, x86.EAX, byIndex)
	for _, c := range []struct {
		name  string
		items []regalloc.Item
		want  bool
	}{
		{"stepped by inc", []regalloc.Item{{Inst: load}, {Inst: inst(x86.INC, x86.SI)}}, true},
		{"stepped by add", []regalloc.Item{{Inst: load}, {Inst: inst(x86.IMUL, x86.EBX)}, {Inst: inst(x86.ADD, x86.SI, x86.Imm(2))}}, true},
		{"through the base", []regalloc.Item{{Inst: inst(x86.MOVSX, x86.EAX, x86.Mem{Size: 16, Base: x86.SI})}, {Inst: inst(x86.INC, x86.SI)}}, false},
		{"a store", []regalloc.Item{{Inst: inst(x86.MOV, x86.W(byIndex), x86.AX)}, {Inst: inst(x86.INC, x86.SI)}}, false},
		{"another register stepped", []regalloc.Item{{Inst: load}, {Inst: inst(x86.INC, x86.DI)}}, false},
		{"a label between", []regalloc.Item{{Inst: load}, {Label: "l"}, {Inst: inst(x86.INC, x86.SI)}}, false},
		{"a jump between", []regalloc.Item{{Inst: load}, {Inst: inst(x86.JNE, x86.Label("l"))}, {Inst: inst(x86.INC, x86.SI)}}, false},
	} {
		assert.Equal(t, c.want, steppedIndexLoad(&regalloc.Kernel{Items: c.items}), c.name)
	}
}

// A store of eax, ax or al through di or edi in ES's segment (or DS's,
// where ES is DS: the flat model's activations in segment 0), stepped
// later by its width as lodsLoads's loads, is stos, di its base or a lone
// index. A store of another register is an exchange with eax first
// (xchg ax, cx: a byte's or a word's; xchg eax, ecx: a dword's) where
// nothing reads either after the store. In DS's segment where ES is not
// DS, through another register, through di scaled, of a register or eax
// read after, or of a high byte, it stays.
func TestStosStores(t *testing.T) {
	inst := func(op x86.Op, args ...x86.Operand) x86.Inst { return x86.Inst{Op: op, Args: args} }
	add := func(r x86.Reg, n int64) x86.Inst { return inst(x86.ADD, r, x86.Imm(n)) }
	jne := inst(x86.JNE, x86.Label("l"))
	di := x86.Mem{Base: x86.DI}
	loadECX := inst(x86.MOV, x86.ECX, x86.D(x86.Mem{Base: x86.BX}))
	for _, c := range []struct {
		name   string
		items  []x86.Inst
		esIsDS bool
		want   []x86.Inst // nil: unchanged
	}{
		{"a dword, ES is DS", []x86.Inst{inst(x86.MOV, di, x86.EAX), inst(x86.MOV, x86.ECX, x86.EAX), add(x86.DI, 4), add(x86.SI, 4), jne}, true,
			[]x86.Inst{inst(x86.STOSD), inst(x86.MOV, x86.ECX, x86.EAX), add(x86.SI, 4), jne}},
		{"a word through edi", []x86.Inst{inst(x86.MOV, x86.Mem{Base: x86.EDI, Addr32: true}, x86.AX), add(x86.EDI, 2), add(x86.SI, 4), jne}, true,
			[]x86.Inst{inst(x86.A32 | x86.STOSW), add(x86.SI, 4), jne}},
		{"a byte in ES's", []x86.Inst{inst(x86.MOV, x86.Mem{Base: x86.DI, Seg: x86.ES}, x86.AL), inst(x86.INC, x86.DI), add(x86.SI, 4), jne}, false,
			[]x86.Inst{inst(x86.STOSB), add(x86.SI, 4), jne}},
		{"di a lone index", []x86.Inst{inst(x86.MOV, x86.Mem{Index: x86.DI, Seg: x86.DS}, x86.EAX), add(x86.DI, 4), add(x86.SI, 4), jne}, true,
			[]x86.Inst{inst(x86.STOSD), add(x86.SI, 4), jne}},
		{"di scaled", []x86.Inst{inst(x86.MOV, x86.Mem{Index: x86.EDI, Scale: 2, Addr32: true}, x86.EAX), add(x86.EDI, 4), add(x86.SI, 4), jne}, true, nil},
		{"DS's, ES not", []x86.Inst{inst(x86.MOV, di, x86.EAX), add(x86.DI, 4), add(x86.SI, 4), jne}, false, nil},
		{"from ecx", []x86.Inst{loadECX, inst(x86.MOV, di, x86.ECX), add(x86.DI, 4), add(x86.SI, 4), jne}, true,
			[]x86.Inst{loadECX, inst(x86.XCHG, x86.EAX, x86.ECX), inst(x86.STOSD), add(x86.SI, 4), jne}},
		{"from cl", []x86.Inst{loadECX, inst(x86.MOV, x86.Mem{Base: x86.EDI, Addr32: true}, x86.CL), inst(x86.INC, x86.EDI), add(x86.SI, 4), jne}, true,
			[]x86.Inst{loadECX, inst(x86.XCHG, x86.AX, x86.CX), inst(x86.A32 | x86.STOSB), add(x86.SI, 4), jne}},
		{"from ecx, read after", []x86.Inst{loadECX, inst(x86.MOV, di, x86.ECX), add(x86.DI, 4), add(x86.SI, 4), inst(x86.MOV, x86.EDX, x86.ECX), jne}, true, nil},
		{"from ecx, eax read after", []x86.Inst{loadECX, inst(x86.MOV, di, x86.ECX), add(x86.DI, 4), add(x86.SI, 4), inst(x86.MOV, x86.EDX, x86.EAX), jne}, true, nil},
		{"from ch", []x86.Inst{loadECX, inst(x86.MOV, x86.Mem{Base: x86.DI}, x86.CH), inst(x86.INC, x86.DI), add(x86.SI, 4), jne}, true, nil},
		{"through si", []x86.Inst{inst(x86.MOV, x86.Mem{Base: x86.SI}, x86.EAX), add(x86.SI, 4), add(x86.DI, 4), jne}, true, nil},
	} {
		want := c.want
		if want == nil {
			want = c.items
		}
		got := peepholed(c.items, func(k *regalloc.Kernel) { stosStores(k, c.esIsDS) })
		assert.Equal(t, want, got, c.name)
	}
}

// A call between the load and the step keeps lods where it is a
// routine's that neither reads nor writes si (rshr's: the embedding's
// row), not a proc's (which may write any register).
func TestLodsPastRoutine(t *testing.T) {
	inst := func(op x86.Op, args ...x86.Operand) x86.Inst { return x86.Inst{Op: op, Args: args} }
	for _, c := range []struct {
		name     string
		clobbers []x86.Reg
		reads    []x86.Reg
		lods     bool
	}{
		{"rshr's", rshrClobbers, rshrReads, true},
		{"a proc's", nil, nil, false},
		{"one that reads si", rshrClobbers, []x86.Reg{x86.EAX, x86.ESI}, false},
	} {
		k := &regalloc.Kernel{Items: []regalloc.Item{{Label: "l"},
			{Inst: inst(x86.MOVSX, x86.EAX, x86.Mem{Size: 8, Base: x86.SI, Seg: x86.ES})},
			{Inst: inst(x86.CALL, x86.Label("r")), Reads: c.reads, Clobbers: c.clobbers},
			{Inst: inst(x86.INC, x86.SI)},
			{Inst: inst(x86.ADD, x86.DI, x86.Imm(4))},
			{Inst: inst(x86.JNE, x86.Label("l"))},
		}}
		lodsLoads(k)
		assert.Equal(t, c.lods, k.Items[1].Inst.Op == x86.SegOverride(x86.ES)|x86.LODSB, c.name)
	}
}

// peepholed is items, after a label l, as peephole p leaves them (the
// label dropped).
func peepholed(items []x86.Inst, p func(*regalloc.Kernel)) []x86.Inst {
	k := &regalloc.Kernel{Items: []regalloc.Item{{Label: "l"}}}
	for _, in := range items {
		k.Items = append(k.Items, regalloc.Item{Inst: in})
	}
	p(k)
	var got []x86.Inst
	for _, it := range k.Items[1:] {
		got = append(got, it.Inst)
	}
	return got
}

// In the flat model, di's step by 4 or 2 whose flags nothing reads is
// scasd or scasw, and si's lodsd or lodsw where nothing reads eax after;
// a step whose flags the branch reads, another register's, another
// count's, or si's where eax is read after, stays; segmented, one whose
// pointer is not known to be a multiple of 4 too.
func TestStepStrings(t *testing.T) {
	inst := func(op x86.Op, args ...x86.Operand) x86.Inst { return x86.Inst{Op: op, Args: args} }
	add := func(r x86.Reg, n int64) x86.Inst { return inst(x86.ADD, r, x86.Imm(n)) }
	load := inst(x86.MOV, x86.EAX, x86.D(x86.Mem{Base: x86.BX}))
	store := inst(x86.MOV, x86.D(x86.Mem{Base: x86.BP}), x86.EAX)
	end := []x86.Inst{inst(x86.CMP, x86.SI, x86.Imm(0x100)), inst(x86.JL, x86.Label("l"))}
	for _, c := range []struct {
		name  string
		items []x86.Inst
		want  x86.Op // the step's op after (ADD: it stays)
	}{
		{"di by 4", []x86.Inst{load, store, add(x86.DI, 4)}, x86.SCASD},
		{"di by 2", []x86.Inst{load, store, add(x86.DI, 2)}, x86.SCASW},
		{"si by 4", []x86.Inst{load, store, add(x86.SI, 4)}, x86.LODSD},
		{"si by 2", []x86.Inst{load, store, add(x86.SI, 2)}, x86.LODSW},
		{"si with eax read after", []x86.Inst{inst(x86.ADD, x86.ECX, x86.EAX), store, add(x86.SI, 4)}, x86.ADD},
		{"bx", []x86.Inst{load, store, add(x86.BX, 4)}, x86.ADD},
		{"di by 8", []x86.Inst{load, store, add(x86.DI, 8)}, x86.ADD},
		{"edi", []x86.Inst{load, store, add(x86.EDI, 4)}, x86.ADD},
	} {
		got := peepholed(append(c.items, end...), func(k *regalloc.Kernel) { stepStrings(k, true) })
		assert.Equal(t, c.want, got[len(c.items)-1].Op, c.name)
	}
	got := peepholed([]x86.Inst{load, store, add(x86.DI, 4), inst(x86.JNE, x86.Label("l"))}, func(k *regalloc.Kernel) { stepStrings(k, true) })
	assert.Equal(t, x86.ADD, got[2].Op, "the step's flags read")
	// Segmented, only where the pointer is a multiple of 4.
	segmented := func(k *regalloc.Kernel) { stepStrings(k, false) }
	got = peepholed(append([]x86.Inst{load, store, add(x86.DI, 4)}, end...), segmented)
	assert.Equal(t, x86.ADD, got[2].Op, "segmented: di not known aligned")
	got = peepholed(append([]x86.Inst{inst(x86.XOR, x86.DI, x86.DI), load, store, add(x86.DI, 4)}, end...), segmented)
	assert.Equal(t, x86.SCASD, got[3].Op, "segmented: di cleared")
}

// A fill of segment 0 with ES swapped around rep stosd is a loop of word
// stores through DS (di counting up to 0, its address the fill's end
// less di's start); it stays where cx or di is read after or the flags
// are, and clears all of eax where eax is read after.
func TestFillWords(t *testing.T) {
	inst := func(op x86.Op, args ...x86.Operand) x86.Inst { return x86.Inst{Op: op, Args: args} }
	fill := []x86.Inst{
		inst(x86.MOV, x86.DI, x86.Imm(0xffb8)), inst(x86.MOV, x86.CX, x86.Imm(0x10)), inst(x86.XOR, x86.EAX, x86.EAX),
		inst(x86.PUSH, x86.ES), inst(x86.PUSH, x86.DS), inst(x86.POP, x86.ES), inst(x86.REP | x86.STOSD), inst(x86.POP, x86.ES),
	}
	loop := []string{"xor ax, ax", "mov di, -0x40", "mov word [di-0x8], ax", "inc di", "inc di", "jne l.fill1"}
	for _, c := range []struct {
		name  string
		after []x86.Inst
		want  []string // nil: unchanged
	}{
		{"nothing read after", []x86.Inst{inst(x86.MOV, x86.BX, x86.Imm(1))}, loop},
		{"eax read after", []x86.Inst{inst(x86.MOV, x86.D(x86.Abs16(0x1000)), x86.EAX)}, append([]string{"xor eax, eax"}, loop[1:]...)},
		{"cx read after", []x86.Inst{inst(x86.MOV, x86.W(x86.Abs16(0x1000)), x86.CX)}, nil},
		{"di read after", []x86.Inst{inst(x86.MOV, x86.W(x86.Abs16(0x1000)), x86.DI)}, nil},
		{"the flags read after", []x86.Inst{inst(x86.JNE, x86.Label("l"))}, nil},
	} {
		k := &regalloc.Kernel{Name: "l", Items: []regalloc.Item{{Label: "l"}}}
		for _, in := range append(append(slices.Clone(fill), c.after...), inst(x86.RET)) {
			k.Items = append(k.Items, regalloc.Item{Inst: in})
		}
		fillWords(k)
		var got []string
		for _, it := range k.Items {
			if it.Label == "" {
				got = append(got, regalloc.InstString(it.Inst))
			}
		}
		want := c.want
		if want == nil {
			want = []string{"mov di, 0xffb8", "mov cx, 0x10", "xor eax, eax", "push es", "push ds", "pop es", "rep stosd", "pop es"}
		}
		assert.Equal(t, want, got[:len(want)], c.name)
	}
}

// The hints for Recolor: a load's value in eax with its pointer in esi,
// a store's in eax with its pointer in edi, where an add of the access's
// width steps the pointer (alone in the address, base or index) later in
// its block. None where the step is another, comes after a label or a
// jump, the address adds two registers, or the access is no mov.
func TestStringHints(t *testing.T) {
	inst := func(op x86.Op, args ...x86.Operand) x86.Inst { return x86.Inst{Op: op, Args: args} }
	v, w := regalloc.V, regalloc.V16
	at := func(m x86.Mem, size int) x86.Mem { m.Size = size; return m }
	load := inst(x86.MOV, v(1), at(x86.Mem{Index: v(2), Disp: -0x17a8}, 32))
	step := inst(x86.ADD, v(2), x86.Imm(4))
	cmp := inst(x86.CMP, v(1), v(0))
	for _, c := range []struct {
		name  string
		items []x86.Inst
		want  []map[int]x86.Reg
	}{
		{"argmax's load", []x86.Inst{load, step, cmp}, []map[int]x86.Reg{{1: x86.EAX, 2: x86.ESI}}},
		{"the same twice", []x86.Inst{load, step, load, step}, []map[int]x86.Reg{{1: x86.EAX, 2: x86.ESI}}},
		{"a byte, sign-extended, through the base", []x86.Inst{inst(x86.MOVSX, v(1), at(x86.Mem{Base: v(2)}, 8)), cmp, inst(x86.ADD, v(2), x86.Imm(1))}, []map[int]x86.Reg{{1: x86.EAX, 2: x86.ESI}}},
		{"a store", []x86.Inst{inst(x86.MOV, at(x86.Mem{Base: v(2)}, 32), v(1)), step}, []map[int]x86.Reg{{1: x86.EAX, 2: x86.EDI}}},
		{"another step", []x86.Inst{load, inst(x86.ADD, v(2), x86.Imm(2))}, nil},
		{"a 16-bit pointer", []x86.Inst{inst(x86.MOV, v(1), at(x86.Mem{Base: w(2)}, 32)), inst(x86.ADD, w(2), x86.Imm(4))}, []map[int]x86.Reg{{1: x86.EAX, 2: x86.ESI}}},
		{"another register stepped", []x86.Inst{inst(x86.MOV, v(1), at(x86.Mem{Base: w(2)}, 32)), inst(x86.ADD, w(3), x86.Imm(4))}, nil},
		{"an inc of a dword's pointer", []x86.Inst{load, inst(x86.INC, v(2))}, nil},
		{"a jump before the step", []x86.Inst{load, inst(x86.JLE, x86.Label("l")), step}, nil},
		{"two registers", []x86.Inst{inst(x86.MOV, v(1), at(x86.Mem{Base: v(3), Index: v(2)}, 32)), step}, nil},
		{"no mov", []x86.Inst{inst(x86.ADD, v(1), at(x86.Mem{Base: v(2)}, 32)), step}, nil},
	} {
		k := withInsts(&regalloc.Kernel{Name: "t"}, c.items)
		assert.Equal(t, c.want, stringHints(k.Items), c.name)
	}
	k := withInsts(&regalloc.Kernel{Name: "t"}, []x86.Inst{load})
	k.Label("t.l")
	withInsts(k, []x86.Inst{step})
	assert.Nil(t, stringHints(k.Items), "a label before the step")
}
