package loopgen

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	x86 "tfc/codegen/x86_16"
	"tfc/lir"
	"tfc/regalloc"
)

// A value whose upper half nothing reads is computed in 16 bits: a
// pointer loaded, scaled and stepped that only addresses memory in 16
// bits, and what feeds it. One read whole (a compare in 32 bits, a
// 32-bit address, a shift right, which brings the upper half down), or
// whose flags a later instruction reads, keeps its 32 bits.
func TestNarrow(t *testing.T) {
	seg := func(base x86.Reg, disp int32) x86.Mem {
		return x86.Mem{Size: 16, Seg: x86.ES, Base: base, Disp: disp}
	}
	k := &regalloc.Kernel{Name: "narrow"}
	k.I(x86.MOVZX, x86.EBX, x86.W(x86.Abs16(0x1000))) // bx: a pointer, read in 16 bits
	k.I(x86.SHL, x86.EBX, x86.Imm(2))
	k.I(x86.MOV, x86.ESI, x86.Imm(0x12345))
	k.I(x86.ADD, x86.EBX, x86.ESI) // reads esi's low word alone once narrowed
	k.I(x86.MOV, x86.AX, seg(x86.BX, 0x10))
	k.I(x86.MOV, x86.W(x86.Abs16(0x2000)), x86.AX)
	k.I(x86.MOV, x86.ECX, x86.D(x86.Abs16(0x1004))) // shifted right: stays
	k.I(x86.SHR, x86.ECX, x86.Imm(1))
	k.I(x86.MOV, x86.W(x86.Abs16(0x2002)), x86.CX)
	k.I(x86.MOV, x86.EDX, x86.D(x86.Abs16(0x1008))) // a 32-bit address: stays
	k.I(x86.MOV, x86.EAX, x86.D(x86.Mem{Seg: x86.ES, Index: x86.EDX, Scale: 4, Addr32: true}))
	k.I(x86.MOV, x86.D(x86.Abs16(0x2004)), x86.EAX)
	k.I(x86.MOV, x86.EDI, x86.D(x86.Abs16(0x100c))) // its add's carry is read: stays
	k.I(x86.ADD, x86.EDI, x86.Imm(4))
	k.I(x86.ADC, x86.EBP, x86.Imm(0))
	k.I(x86.MOV, x86.AX, seg(x86.DI, 0))
	k.I(x86.MOV, x86.D(x86.Abs16(0x2008)), x86.EBP)
	k.I(x86.MOV, x86.W(x86.Abs16(0x200c)), x86.AX)
	k.I(x86.RET)
	got := narrowed16(t, k, 0, 0)
	for _, want := range []string{
		"mov bx, word [0x1000]\n", "shl bx, 0x2\n", "mov si, 0x2345\n", "add bx, si\n",
		"mov ecx, dword [0x1004]\n", "mov edx, dword [0x1008]\n", "mov edi, dword [0x100c]\n", "add edi, 0x4\n",
	} {
		assert.Contains(t, got, want, "listing:\n%s", got)
	}
	assert.NotContains(t, got, "movzx", "listing:\n%s", strings.TrimSpace(got))
}

// shld's destination keeps its upper half only where the result's is
// read: a 64-bit sum's high dword, shifted left by the cache's scale and
// then read as a word (attention's score), is summed in 16 bits; the
// source's upper half, which the shift brings in, stays 32-bit, as does a
// destination whose result is read whole.
func TestNarrowShld(t *testing.T) {
	k := &regalloc.Kernel{Name: "shld"}
	k.I(x86.XOR, x86.EBP, x86.EBP)
	k.I(x86.MOV, x86.EAX, x86.D(x86.Abs16(0x1000)))
	k.I(x86.ADD, x86.EBX, x86.EAX) // the source: read whole by shld
	k.I(x86.ADC, x86.EBP, x86.EDX)
	k.I(x86.MOV, x86.ECX, x86.D(x86.Abs16(0x1004)))
	k.I(x86.ADD, x86.EDI, x86.ECX) // a destination read whole after
	k.I(x86.MOV, x86.CL, x86.B(x86.Abs16(0x1008)))
	k.I(x86.SHLD, x86.EBP, x86.EBX, x86.CL)
	k.I(x86.SHLD, x86.EDI, x86.EBX, x86.CL)
	k.I(x86.MOV, x86.W(x86.Abs16(0x2000)), x86.BP)
	k.I(x86.MOV, x86.D(x86.Abs16(0x2004)), x86.EDI)
	k.I(x86.RET)
	got := narrowed16(t, k, 0, 0)
	for _, want := range []string{"xor bp, bp\n", "add ebx, eax\n", "adc bp, dx\n", "add edi, ecx\n", "shld ebp, ebx, cl\n"} {
		assert.Contains(t, got, want, "listing:\n%s", got)
	}
	// A destination in the kernel's own spill slot is a value the
	// analysis tracks too, but no register: it stays as it is.
	k = &regalloc.Kernel{Name: "shld slot"}
	k.I(x86.MOV, x86.D(x86.Abs16(0x3800)), x86.EBX)
	k.I(x86.SHLD, x86.D(x86.Abs16(0x3800)), x86.EAX, x86.CL)
	k.I(x86.MOV, x86.AX, x86.W(x86.Abs16(0x3800)))
	k.I(x86.MOV, x86.W(x86.Abs16(0x2000)), x86.AX)
	k.I(x86.RET)
	got = narrowed16(t, k, 0x3800, 0x3804)
	assert.Contains(t, got, "shld dword [0x3800], eax, cl\n", "listing:\n%s", got)
}

// A dword stored in the kernel's own spill slot that only words are read
// from is stored as a word (and its register's def may then narrow); a
// slot read as a dword, or one outside the kernel's spill slots (another
// kernel's, or an argument's), keeps its dword.
func TestNarrowSlots(t *testing.T) {
	k := &regalloc.Kernel{Name: "slots"}
	k.I(x86.MOV, x86.EAX, x86.D(x86.Abs16(0x1000)))
	k.I(x86.MOV, x86.D(x86.Abs16(0x3800)), x86.EAX) // read as a word below
	k.I(x86.MOV, x86.D(x86.Abs16(0x3804)), x86.EAX) // read as a dword below
	k.I(x86.MOV, x86.D(x86.Abs16(0x3900)), x86.EAX) // not this kernel's
	k.I(x86.CMP, x86.CX, x86.W(x86.Abs16(0x3800)))
	k.I(x86.ADD, x86.EDX, x86.D(x86.Abs16(0x3804)))
	k.I(x86.MOV, x86.D(x86.Abs16(0x2000)), x86.EDX)
	k.I(x86.RET)
	got := narrowed16(t, k, 0x3800, 0x3808)
	for _, want := range []string{"mov word [0x3800], ax\n", "mov dword [0x3804], eax\n", "mov dword [0x3900], eax\n"} {
		assert.Contains(t, got, want, "listing:\n%s", got)
	}
}

// narrowed16 narrows k, its spill slots [from, to), and lists it.
func narrowed16(t *testing.T, k *regalloc.Kernel, from, to uint16) string {
	t.Helper()
	narrow(k, from, to)
	var p x86.Program
	require.NoError(t, regalloc.Rewrite(k, nil, &p))
	return p.Listing()
}

// A pointer that steps around a loop, waits out an inner loop in its
// spill slot and only addresses memory in 16 bits is computed in 16 bits
// everywhere, its slot a word, though each of its instructions reads the
// last one's upper half (as liveness sees it). Stored whole after the
// loop, the same pointer keeps its 32 bits (but in the inner loop, whose
// steps the reload from the slot discards).
func TestNarrowCycle(t *testing.T) {
	build := func(storedWhole bool) string {
		k := &regalloc.Kernel{Name: "cycle"}
		k.I(x86.MOV, x86.EBX, x86.D(x86.Abs16(0x1000)))
		k.I(x86.XOR, x86.DX, x86.DX)
		k.Label("outer")
		k.I(x86.MOV, x86.D(x86.Abs16(0x3800)), x86.EBX)
		k.I(x86.XOR, x86.CX, x86.CX)
		k.Label("inner")
		k.I(x86.ADD, x86.AX, x86.Mem{Size: 16, Seg: x86.ES, Base: x86.BX})
		k.I(x86.INC, x86.EBX)
		k.I(x86.INC, x86.CX)
		k.I(x86.CMP, x86.CX, x86.Imm(4))
		k.I(x86.JL, x86.Label("inner"))
		k.I(x86.MOV, x86.EBX, x86.D(x86.Abs16(0x3800)))
		k.I(x86.ADD, x86.EBX, x86.D(x86.Abs16(0x1004)))
		k.I(x86.INC, x86.DX)
		k.I(x86.CMP, x86.DX, x86.Imm(8))
		k.I(x86.JL, x86.Label("outer"))
		k.I(x86.MOV, x86.W(x86.Abs16(0x2000)), x86.AX)
		if storedWhole {
			k.I(x86.MOV, x86.D(x86.Abs16(0x2004)), x86.EBX)
		}
		k.I(x86.RET)
		return narrowed16(t, k, 0x3800, 0x3804)
	}
	got := build(false)
	for _, want := range []string{
		"mov bx, word [0x1000]\n", "mov word [0x3800], bx\n", "inc bx\n",
		"mov bx, word [0x3800]\n", "add bx, word [0x1004]\n",
	} {
		assert.Contains(t, got, want, "listing:\n%s", got)
	}
	got = build(true)
	for _, want := range []string{
		"mov ebx, dword [0x1000]\n", "mov dword [0x3800], ebx\n",
		"mov ebx, dword [0x3800]\n", "add ebx, dword [0x1004]\n",
	} {
		assert.Contains(t, got, want, "listing:\n%s", got)
	}
}

// lea's 32-bit address is its result, not memory it reads: into a 16-bit
// register (or a 32-bit one whose upper half nothing reads) the sum's low
// word is the low words' (scaled), so what feeds it narrows; a load
// through the same address keeps them.
func TestNarrowLea(t *testing.T) {
	build := func(load bool) string {
		k := &regalloc.Kernel{Name: "lea"}
		k.I(x86.MOV, x86.ECX, x86.D(x86.Abs16(0x1000)))
		k.I(x86.MOV, x86.EAX, x86.D(x86.Abs16(0x1004)))
		k.I(x86.SHL, x86.EAX, x86.Imm(3))
		m := x86.Mem{Base: x86.ECX, Index: x86.EAX, Scale: 4, Addr32: true}
		if load {
			m.Seg = x86.ES
			k.I(x86.MOV, x86.ESI, x86.D(m))
			k.I(x86.MOV, x86.D(x86.Abs16(0x2004)), x86.ESI)
		} else {
			k.I(x86.LEA, x86.ESI, m)
		}
		k.I(x86.MOV, x86.AX, x86.W(x86.Mem{Seg: x86.ES, Base: x86.SI}))
		k.I(x86.MOV, x86.W(x86.Abs16(0x2000)), x86.AX)
		k.I(x86.CMP, x86.AX, x86.Imm(1)) // the shift's flags are dead
		k.I(x86.RET)
		return narrowed16(t, k, 0, 0)
	}
	got := build(false)
	for _, want := range []string{"mov cx, word [0x1000]\n", "mov ax, word [0x1004]\n", "shl ax, 0x3\n", "lea si, [ecx+eax*4]\n"} {
		assert.Contains(t, got, want, "listing:\n%s", got)
	}
	got = build(true)
	for _, want := range []string{"mov ecx, dword [0x1000]\n", "mov eax, dword [0x1004]\n", "shl eax, 0x3\n"} {
		assert.Contains(t, got, want, "listing:\n%s", got)
	}
}

// adc and sbb keep their result's low word exact from their operands'
// and the carry: a count that sbb adds the carry to, read as a word,
// narrows with its clear; read whole, it keeps its 32 bits.
func TestNarrowSbb(t *testing.T) {
	for _, whole := range []bool{false, true} {
		k := &regalloc.Kernel{Name: "sbb"}
		k.I(x86.MOV, x86.EDX, x86.D(x86.Abs16(0x1000)))
		k.I(x86.XOR, x86.ESI, x86.ESI)
		k.I(x86.CMP, x86.EDX, x86.Imm(0xff))
		k.I(x86.SBB, x86.ESI, x86.Imm(-1))
		if whole {
			k.I(x86.MOV, x86.D(x86.Abs16(0x2000)), x86.ESI)
		} else {
			k.I(x86.MOV, x86.W(x86.Abs16(0x2000)), x86.SI)
		}
		k.I(x86.RET)
		got := narrowed16(t, k, 0, 0)
		want := []string{"xor si, si\n", "sbb si, -0x1\n"}
		if whole {
			want = []string{"xor esi, esi\n", "sbb esi, -0x1\n"}
		}
		for _, w := range want {
			assert.Contains(t, got, w, "whole %v, listing:\n%s", whole, got)
		}
	}
}

// A rounding shift by 16 or less reads dx alone of edx (shrd brings in
// only its low n bits), so that a 64-bit sum's upper dword, which only
// feeds it, is kept in 16 bits: the clear, the adc and the move before
// the call lose their prefix. A shift by more, or by cl (up to 31),
// reads all of edx, and the sum keeps 32 bits.
func TestNarrowSumForRshr(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want []string
		not  string
	}{
		{16, []string{"xor di, di\n", "adc di, dx\n", "mov dx, di\n"}, "edi"},
		{8, []string{"adc di, dx\n"}, "edi"},
		{29, []string{"xor edi, edi\n", "adc edi, edx\n", "mov edx, edi\n"}, "adc di"},
		{0, []string{"adc edi, edx\n"}, "adc di"},
	} {
		k := newKernel(&lir.Func{}, &Layout{}, "sum", nil)
		k.i(x86.XOR, x86.ECX, x86.ECX)
		k.i(x86.XOR, x86.EDI, x86.EDI)
		k.i(x86.MOV, x86.SI, x86.Imm(-0x100))
		k.label("top")
		k.i(x86.MOV, x86.EAX, x86.D(x86.Mem{Base: x86.SI, Disp: 0x1000}))
		k.i(x86.IMUL, x86.EAX)
		k.i(x86.ADD, x86.ECX, x86.EAX)
		k.i(x86.ADC, x86.EDI, x86.EDX)
		k.i(x86.ADD, x86.SI, x86.Imm(4))
		k.i(x86.JNE, x86.Label("top"))
		k.i(x86.XCHG, x86.EAX, x86.ECX)
		k.i(x86.MOV, x86.EDX, x86.EDI)
		if c.n == 0 {
			k.i(x86.MOV, x86.CL, x86.Imm(12))
		}
		k.callRshrEAX(c.n)
		k.i(x86.MOV, x86.D(x86.Abs16(0x2000)), x86.EAX)
		k.i(x86.RET)
		got := narrowed16(t, &k.k, 0, 0)
		for _, want := range c.want {
			assert.Contains(t, got, want, "by %d, listing:\n%s", c.n, got)
		}
		assert.NotContains(t, got, c.not, "by %d, listing:\n%s", c.n, got)
	}
}

// A loop's index times a constant is below the count's product (bound),
// so a right shift of it shifts the low word, and then nothing reads the
// product's upper half: narrow takes the multiply too (gelu-random's
// attention, its cache head in groups of 3, (h·3) >> 3: imul cx, ax, 3;
// shr cx, 3, 5 bytes fewer with the index's own moves). A product that
// may reach 0x10000 shifts all 32 bits.
func TestShiftProductLowWord(t *testing.T) {
	for _, c := range []struct {
		name  string
		count int64
		want  []string
	}{
		{"below 0x10000", 6, []string{`(?m)^\s+imul e[a-ds][xi], e[a-ds][xi], 0x3\n\s+shr [a-ds][xi], 0x3$`}},
		{"0x10000 or more", 0x5557, []string{`(?m)^\s+imul e[a-ds][xi], e[a-ds][xi], 0x3\n`, `(?m)^\s+shr e[a-ds][xi], 0x3$`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &lir.Func{Types: []lir.Type{lir.I32, lir.I32, lir.I32, lir.I32, lir.I32, lir.I32}}
			body := []*lir.Node{
				{Kind: lir.NInst, Inst: in(lir.OpConst, 3, lir.NoReg, lir.NoReg, 3)},
				{Kind: lir.NInst, Inst: in(lir.OpMul, 4, 2, 3, 0)},
				{Kind: lir.NInst, Inst: in(lir.OpShrI, 5, 4, lir.NoReg, 3)},
				{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpStore, Dst: lir.NoReg, A: 5, B: lir.NoReg, C: lir.NoReg,
					Mem: lir.Mem{Base: 1, Index: lir.NoReg, Width: 2}}},
			}
			nodes := append(inputs(), &lir.Node{Kind: lir.NLoop, Index: 2, Count: lir.NoReg, CountImm: c.count, Body: body})
			got := listingFor(t, f, &Layout{}, nodes, true)
			for _, w := range c.want {
				assert.Regexp(t, w, got, "listing:\n%s", got)
			}
		})
	}
}
