package regalloc

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	x86 "tfc/codegen/x86_16"
)

// A load of a slot that each pass of a loop repeats moves before the
// loop's top, out of an inner loop and then out of the one around it;
// where the loop may change what the load gives, or may not run it
// first, it stays.
func TestHoistLoads(t *testing.T) {
	s := x86.W(x86.Abs16(0x3800))
	fixed := func(m x86.Mem) bool { return m.Base == x86.NoReg && m.Index == x86.NoReg && m.Disp == 0x3800 }
	keeps := func(in x86.Inst) bool { return in.Args[0] != x86.Operand(x86.Label("proc1")) }
	for _, c := range []struct {
		name  string
		edit  func(k *Kernel) // what the loop does before the load
		after func(k *Kernel) // and after it
		moves bool
	}{
		{"a loop", func(k *Kernel) {}, func(k *Kernel) {}, true},
		{"a routine's call", func(k *Kernel) {
			k.I(x86.CALL, x86.Label("rshr"))
			k.Items[len(k.Items)-1].Clobbers = []x86.Reg{x86.EAX, x86.ECX}
		}, func(k *Kernel) {}, true},
		{"a call that writes its register", func(k *Kernel) { k.I(x86.CALL, x86.Label("rshr")) }, func(k *Kernel) {}, false},
		{"a store through a register", func(k *Kernel) {}, func(k *Kernel) { k.I(x86.MOV, x86.W(x86.Mem{Base: x86.BP}), x86.AX) }, true},
		{"another slot's store", func(k *Kernel) {}, func(k *Kernel) { k.I(x86.MOV, x86.W(x86.Abs16(0x3804)), x86.AX) }, true},
		{"its register read first", func(k *Kernel) { k.I(x86.MOV, x86.AX, x86.BP) }, func(k *Kernel) {}, false},
		{"its register written after", func(k *Kernel) {}, func(k *Kernel) { k.I(x86.INC, x86.BP) }, false},
		{"its register's half written", func(k *Kernel) {}, func(k *Kernel) { k.I(x86.MOV, x86.EBP, x86.Imm(1)) }, false},
		{"the slot stored", func(k *Kernel) {}, func(k *Kernel) { k.I(x86.MOV, s, x86.AX) }, false},
		{"the slot's byte changed", func(k *Kernel) {}, func(k *Kernel) { k.I(x86.INC, x86.B(x86.Abs16(0x3801))) }, false},
		{"a proc's call", func(k *Kernel) {}, func(k *Kernel) {
			k.I(x86.CALL, x86.Label("proc1")) // which may spill into the slot
			k.Items[len(k.Items)-1].Clobbers = []x86.Reg{x86.EAX}
		}, false},
		{"a branch before it", func(k *Kernel) { k.I(x86.JE, x86.Label("top")) }, func(k *Kernel) {}, false},
		{"a label before it", func(k *Kernel) { k.Label("mid") }, func(k *Kernel) {}, false},
	} {
		k := &Kernel{Name: "t"}
		k.I(x86.MOV, x86.SI, x86.Imm(-0x20))
		k.Label("top")
		k.I(x86.MOV, x86.EAX, x86.D(x86.Mem{Base: x86.SI, Disp: 0x100}))
		c.edit(k)
		k.I(x86.MOV, x86.BP, s)
		k.I(x86.MOV, x86.D(x86.Mem{Base: x86.BP, Index: x86.SI}), x86.EAX)
		c.after(k)
		k.I(x86.ADD, x86.SI, x86.Imm(4))
		k.I(x86.JNE, x86.Label("top"))
		k.I(x86.RET)
		require.NoError(t, HoistLoads(k, Options{}, fixed, keeps), c.name)
		got := lines(k)
		if c.moves {
			assert.Equal(t, []string{"mov si, -0x20", "mov bp, word [0x3800]", "top:", "mov eax, dword [si+0x100]"}, got[:4], c.name)
		} else {
			assert.Equal(t, []string{"mov si, -0x20", "top:", "mov eax, dword [si+0x100]"}, got[:3], c.name)
		}
	}
}

// Out of nested loops, one at a time; not where a jump enters the loop
// other than at its top, nor where one to the top passes the preheader.
func TestHoistLoadsNested(t *testing.T) {
	s := x86.D(x86.Abs16(0x3800))
	fixed := func(m x86.Mem) bool { return m.Base == x86.NoReg && m.Index == x86.NoReg && m.Disp == 0x3800 }
	keeps := func(x86.Inst) bool { return true }
	nest := func(enter func(k *Kernel)) *Kernel {
		k := &Kernel{Name: "t"}
		k.I(x86.MOV, x86.CX, x86.Imm(4))
		enter(k)
		k.Label("outer")
		k.I(x86.MOV, x86.DX, x86.Imm(8))
		k.Label("inner")
		k.I(x86.MOV, x86.EBX, s)
		k.I(x86.ADD, x86.EAX, x86.EBX)
		k.I(x86.DEC, x86.DX)
		k.I(x86.JNE, x86.Label("inner"))
		k.I(x86.DEC, x86.CX)
		k.I(x86.JNE, x86.Label("outer"))
		k.I(x86.RET)
		return k
	}
	k := nest(func(*Kernel) {})
	require.NoError(t, HoistLoads(k, Options{}, fixed, keeps))
	assert.Equal(t, []string{"mov cx, 0x4", "mov ebx, dword [0x3800]", "outer:", "mov dx, 0x8", "inner:", "add eax, ebx"}, lines(k)[:6])

	k = nest(func(k *Kernel) { k.I(x86.JMP, x86.Label("outer")) })
	require.NoError(t, HoistLoads(k, Options{}, fixed, keeps))
	assert.Equal(t, []string{"mov cx, 0x4", "jmp outer", "outer:", "mov dx, 0x8", "mov ebx, dword [0x3800]", "inner:", "add eax, ebx"}, lines(k)[:7],
		"out of the inner loop alone: a jump enters the outer at its top")

	k = nest(func(k *Kernel) { k.I(x86.JCXZ, x86.Label("inner")) })
	require.NoError(t, HoistLoads(k, Options{}, fixed, keeps))
	assert.Equal(t, []string{"inner:", "mov ebx, dword [0x3800]"}, lines(k)[4:6], "a jump into the inner loop: the load stays")
}
