package regalloc

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	x86 "tfc/codegen/x86_16"
)

// Ten values live at once do not fit seven registers: AllocateSpilling
// moves some to memory, and the kernel, run in QEMU, still sums them all.
func TestSpillingAllocates(t *testing.T) {
	const n = 10
	k := sumKernel(n)
	_, err := Allocate(k, Options{})
	require.Error(t, err, "ten live values allocated without spilling")
	slots := 0
	out, as, used, err := AllocateSpilling(k, Options{}, func(i int) x86.Mem {
		slots = max(slots, i+1)
		return x86.D(x86.Abs16(uint16(0x700 + 4*i)))
	})
	require.NoError(t, err)
	assert.NotZero(t, used, "slots used")
	assert.Equal(t, slots, used, "slots used (want those asked for)")
	require.NoError(t, verify(out, Options{}, as), "verify\n%s", out)
	needQEMU(t)
	got, _ := runKernel(t, out, Options{}, nil, func(*x86.Program) {}, 0x600, 1)
	assert.Equal(t, hexLines(n*(n+1)/2), got, "printed\n%s", out)
}

// sumKernel sets n values live at once, 1 to n, and stores their sum at
// 0x600.
func sumKernel(n int) *Kernel {
	k := &Kernel{Name: "sum"}
	for i := 0; i < n; i++ {
		k.I(x86.MOV, V(i), x86.Imm(int64(i+1)))
	}
	k.I(x86.MOV, V(n), x86.Imm(0))
	for i := 0; i < n; i++ {
		k.I(x86.ADD, V(n), V(i))
	}
	k.I(x86.MOV, x86.D(x86.Abs16(0x600)), V(n))
	return k
}

// The victim is taken where most values need registers of their own: not
// at a copy into ecx, whose source shares it (eight live, seven distinct),
// but where eight distinct values live. There the cheapest is v7, used
// once a pass; at the copy it would have been the loop's counter (v0),
// which then ran from memory.
func TestSpillWhereValuesClash(t *testing.T) {
	k := &Kernel{Name: "clash"}
	k.I(x86.MOV, v0, x86.Imm(0))
	k.Label("loop")
	k.I(x86.MOV, V(8), v0)
	for i := 9; i <= 13; i++ {
		k.I(x86.MOV, V(i), x86.Imm(int64(i)))
	}
	k.I(x86.MOV, x86.ECX, V(8))
	for i := 9; i <= 13; i++ {
		k.I(x86.SHL, V(i), x86.CL)
		k.I(x86.ADD, V(i), V(8))
		k.I(x86.MOV, x86.D(x86.Abs16(uint16(0x640+4*i))), V(i))
	}
	k.I(x86.MOV, v7, v0)
	k.I(x86.SHL, v7, x86.Imm(2))
	for i := 1; i <= 6; i++ {
		k.I(x86.MOV, V(i), x86.D(x86.Abs16(uint16(0x600+4*i))))
	}
	for i := 1; i <= 6; i++ {
		k.I(x86.ADD, V(i), v0)
	}
	k.I(x86.ADD, v1, v7)
	for i := 2; i <= 6; i++ {
		k.I(x86.ADD, v1, V(i))
	}
	k.I(x86.MOV, x86.D(x86.Abs16(0x600)), v1)
	k.I(x86.INC, v0)
	k.I(x86.CMP, v0, x86.Imm(100))
	k.I(x86.JB, x86.Label("loop"))
	out, as, used, err := AllocateSpilling(k, Options{}, func(i int) x86.Mem {
		return x86.D(x86.Abs16(uint16(0x700 + 4*i)))
	})
	require.NoError(t, err)
	require.NoError(t, verify(out, Options{}, as), "verify\n%s", out)
	assert.Equal(t, 1, used, "slots used\n%s", out)
	assert.Contains(t, out.String(), "inc v0", "the counter stays in a register\n%s", out)
}

// A spilled value's 16-bit view is read and written as its slot's low
// word, in place, where a dword would be: no load and store around it.
// Its zeroing (xor v, v) is an and of the slot with 0, which leaves the
// same flags.
func TestSpillWordInPlace(t *testing.T) {
	k := &Kernel{Name: "word"}
	k.I(x86.XOR, v0, v0)
	k.I(x86.INC, V16(0))
	k.I(x86.CMP, V16(0), x86.Imm(8))
	k.I(x86.MOV, x86.AX, V16(0))
	k.I(x86.ADD, V16(0), x86.BX)
	k.I(x86.MOV, x86.EAX, v0)
	m := x86.D(x86.Abs16(0x700))
	out := spillVirtual(k, &Options{}, 0, m, map[int]bool{})
	got := lines(out)
	assert.Equal(t, []string{
		"and dword [0x700], 0x0", "inc word [0x700]", "cmp word [0x700], 0x8", "mov ax, word [0x700]",
		"add word [0x700], bx", "mov eax, dword [0x700]",
	}, got, "spilled")
}

// A spilled value's low byte compared with a constant is its slot's low
// byte, in place (the flag a matmul proc is passed); other byte uses are
// loaded.
func TestSpillByteCompareInPlace(t *testing.T) {
	k := &Kernel{Name: "byte"}
	k.I(x86.MOV, v0, v1)
	k.I(x86.CMP, V8(0), x86.Imm(0))
	k.I(x86.TEST, V8(0), x86.Imm(1))
	k.I(x86.MOV, x86.AL, V8(0))
	m := x86.D(x86.Abs16(0x700))
	assert.Equal(t, []string{
		"mov dword [0x700], v1", "cmp byte [0x700], 0x0", "test byte [0x700], 0x1", "mov v2, dword [0x700]", "mov al, v2b",
	}, lines(spillVirtual(k, &Options{}, 0, m, map[int]bool{})), "spilled")
}

// A spilled value is shifted in its slot, unless RegisterShifts: then in
// a register, loaded and stored, which the reload pass may find holding
// it where it is read next (attention's head index halved: 4 bytes).
func TestSpillRegisterShifts(t *testing.T) {
	k := &Kernel{Name: "shift"}
	k.I(x86.MOV, v0, v1)
	k.I(x86.SHR, v0, x86.Imm(1))
	k.I(x86.MOV, x86.EAX, v0)
	m := x86.D(x86.Abs16(0x700))
	assert.Equal(t, []string{"mov dword [0x700], v1", "shr dword [0x700], 0x1", "mov eax, dword [0x700]"},
		lines(spillVirtual(k, &Options{}, 0, m, map[int]bool{})), "in the slot")
	assert.Equal(t, []string{
		"mov dword [0x700], v1", "mov v2, dword [0x700]", "shr v2, 0x1", "mov dword [0x700], v2", "mov eax, dword [0x700]",
	}, lines(spillVirtual(k, &Options{RegisterShifts: true}, 0, m, map[int]bool{})), "in a register")
}

// A value that one load from invariant memory writes whole is spilled by
// loading it again where it is read: the load itself goes, a reader that
// takes memory reads the place, and another reads a fresh virtual loaded
// just before it. A value written twice, or loaded from elsewhere, is
// spilled to a slot.
func TestSpillRematerializes(t *testing.T) {
	o := Options{}
	o.Invariant.From, o.Invariant.To = 0x1000, 0x1040
	k := &Kernel{Name: "remat"}
	k.I(x86.MOV, v0, x86.D(x86.Abs16(0x1004)))
	k.I(x86.MOVZX, v1, x86.W(x86.Abs16(0x1002)))
	k.I(x86.ADD, v2, v0)
	k.I(x86.CMP, v0, x86.Imm(5))
	k.I(x86.LEA, v3, x86.Mem{Size: 32, Base: v0, Disp: 8})
	k.I(x86.ADD, v2, v1)
	def, ok := loadedOnce(k, &o, 0)
	require.True(t, ok, "v0")
	k0 := rematerialize(k, &o, 0, def, map[int]bool{})
	def, ok = loadedOnce(k0, &o, 1)
	require.True(t, ok, "v1")
	assert.Equal(t, []string{
		"movzx v1, word [0x1002]", "add v2, dword [0x1004]", "cmp dword [0x1004], 0x5", "mov v4, dword [0x1004]",
		"lea v3, dword [v4+0x8]", "add v2, v1",
	}, lines(k0))
	assert.Equal(t, []string{
		"add v2, dword [0x1004]", "cmp dword [0x1004], 0x5", "mov v4, dword [0x1004]", "lea v3, dword [v4+0x8]",
		"movzx v5, word [0x1002]", "add v2, v5",
	}, lines(rematerialize(k0, &o, 1, def, map[int]bool{})))

	k.I(x86.INC, v0)
	_, ok = loadedOnce(k, &o, 0)
	assert.False(t, ok, "v0 written twice")
	k = &Kernel{Name: "elsewhere"}
	k.I(x86.MOV, v0, x86.D(x86.Abs16(0x1040)))
	k.I(x86.ADD, v2, v0)
	_, ok = loadedOnce(k, &o, 0)
	assert.False(t, ok, "v0 loaded from outside Invariant")
}

// A value made resident is not spilled whole while another can go: the
// ten values' first victim stays in a register, another goes to memory
// in its place, and the kernel still sums them all.
func TestResidentIsSpilledLast(t *testing.T) {
	const n = 10
	k := sumKernel(n)
	slot := func(i int) x86.Mem { return x86.D(x86.Abs16(uint16(0x700 + 4*i))) }
	out, _, used, err := AllocateSpilling(k, Options{}, slot)
	require.NoError(t, err)
	spilled := Spilled(k, out)
	require.NotEmpty(t, spilled)
	v := spilled[0]
	o := Options{Resident: map[int]bool{v: true}}
	out, as, used2, err := AllocateSpilling(k, o, slot)
	require.NoError(t, err)
	assert.NotContains(t, Spilled(k, out), v, "the resident value spilled\n%s", out)
	assert.Equal(t, used, used2, "slots used")
	require.NoError(t, verify(out, o, as), "verify\n%s", out)
	needQEMU(t)
	got, _ := runKernel(t, out, o, nil, func(*x86.Program) {}, 0x600, 1)
	assert.Equal(t, hexLines(n*(n+1)/2), got, "printed\n%s", out)
}

// A virtual of Options.Undef is live at entry with no definition, as an
// argument is, but may be spilled: its slot holds whatever it holds, so
// nothing is stored into it first. Here it is the cheapest victim (read
// once, live throughout); as an argument (LiveIn) it is never spilled.
func TestSpillUndef(t *testing.T) {
	k := &Kernel{Name: "undef"}
	for i := range 6 {
		k.I(x86.MOV, V(i), x86.Imm(int64(i+1)))
	}
	k.I(x86.MOV, V(8), x86.Imm(0))
	for i := range 6 {
		k.I(x86.ADD, V(8), V(i))
	}
	k.I(x86.MOV, x86.D(x86.Abs16(0x600)), V(8))
	k.I(x86.MOV, x86.D(x86.Abs16(0x604)), V(7))
	_, err := Allocate(k, Options{})
	require.ErrorContains(t, err, "v7 may be used before any definition")
	slot := func(i int) x86.Mem { return x86.D(x86.Abs16(uint16(0x700 + 4*i))) }
	out, as, used, err := AllocateSpilling(k, Options{Undef: []int{7}}, slot)
	require.NoError(t, err)
	require.Equal(t, 1, used, "slots\n%s", out)
	require.NoError(t, verify(out, Options{Undef: []int{7}}, as), "verify\n%s", out)
	for _, it := range out.Items {
		assert.False(t, mentions(it.Inst, 7), "v7 spilled: %s", InstString(it.Inst))
		if m, ok := it.Inst.Args[0].(x86.Mem); ok && m.Disp == 0x700 {
			t.Errorf("a store into v7's slot: %s\n%s", InstString(it.Inst), out)
		}
	}
	out, _, _, err = AllocateSpilling(k, Options{LiveIn: []int{7}}, slot)
	require.NoError(t, err)
	assert.True(t, slices.ContainsFunc(out.Items, func(it Item) bool { return mentions(it.Inst, 7) }), "an argument stays\n%s", out)
}
