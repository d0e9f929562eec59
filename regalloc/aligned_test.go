package regalloc

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	x86 "tfc/codegen/x86_16"
)

// A register is aligned where every path sets it to a multiple of 4 by
// its form and steps it by multiples of 4: a constant, a clear, a shift
// by 2, an add or lea of aligned values, a dword string instruction's
// step, a pop of an aligned word (a dword of an aligned dword), a lods
// that Item.Aligned marks; a load, a pop of another word or of a word of
// a dword, a step by 2 around a loop, a call that writes it, or nothing
// at the kernel's entry leave it unknown.
func TestAligned(t *testing.T) {
	mem := x86.W(x86.Abs16(0x1002))
	for _, c := range []struct {
		name string
		set  func(k *Kernel)
		step x86.Inst
		want bool
	}{
		{"a constant", func(k *Kernel) { k.I(x86.MOV, x86.DI, x86.Imm(-0x100)) }, x86.Inst{Op: x86.ADD, Args: []x86.Operand{x86.DI, x86.Imm(4)}}, true},
		{"a clear", func(k *Kernel) { k.I(x86.XOR, x86.EDI, x86.EDI) }, x86.Inst{Op: x86.SCASD}, true},
		{"a shift by 6", func(k *Kernel) { k.I(x86.MOV, x86.DI, mem); k.I(x86.SHL, x86.DI, x86.Imm(6)) }, x86.Inst{Op: x86.STOSD}, true},
		{"lea of aligned", func(k *Kernel) {
			k.I(x86.XOR, x86.BX, x86.BX)
			k.I(x86.LEA, x86.DI, x86.W(x86.Mem{Base: x86.BX, Disp: -0x7800}))
		}, x86.Inst{Op: x86.AND, Args: []x86.Operand{x86.DI, x86.Imm(-0x11)}}, true},
		{"a load", func(k *Kernel) { k.I(x86.MOV, x86.DI, mem) }, x86.Inst{Op: x86.ADD, Args: []x86.Operand{x86.DI, x86.Imm(4)}}, false},
		{"the entry's", func(k *Kernel) {}, x86.Inst{Op: x86.ADD, Args: []x86.Operand{x86.DI, x86.Imm(4)}}, false},
		{"a step by 2", func(k *Kernel) { k.I(x86.XOR, x86.DI, x86.DI) }, x86.Inst{Op: x86.ADD, Args: []x86.Operand{x86.DI, x86.Imm(2)}}, false},
		{"a word's string step", func(k *Kernel) { k.I(x86.XOR, x86.DI, x86.DI) }, x86.Inst{Op: x86.SCASW}, false},
		{"a pop", func(k *Kernel) { k.I(x86.XOR, x86.DI, x86.DI); k.I(x86.PUSH, x86.AX); k.I(x86.POP, x86.DI) }, x86.Inst{Op: x86.SCASD}, false},
		{"a pop of an aligned word", func(k *Kernel) { k.I(x86.XOR, x86.AX, x86.AX); k.I(x86.PUSH, x86.AX); k.I(x86.POP, x86.DI) }, x86.Inst{Op: x86.SCASD}, true},
		{"a pop past a call", func(k *Kernel) {
			k.I(x86.PUSH, x86.Imm(0x100))
			k.I(x86.PUSH, x86.AX)
			k.I(x86.CALL, x86.Label("f"))
			k.I(x86.POP, x86.DI)
			k.I(x86.POP, x86.DI)
		}, x86.Inst{Op: x86.SCASD}, true},
		{"a pop of the word under an aligned one", func(k *Kernel) {
			k.I(x86.PUSH, x86.AX)
			k.I(x86.PUSH, x86.Imm(0x100))
			k.I(x86.POP, x86.DI)
			k.I(x86.POP, x86.DI)
		}, x86.Inst{Op: x86.SCASD}, false},
		{"a word of an aligned dword", func(k *Kernel) { k.I(x86.XOR, x86.EAX, x86.EAX); k.I(x86.PUSH, x86.EAX); k.I(x86.POP, x86.DI) }, x86.Inst{Op: x86.SCASD}, false},
		{"an aligned dword", func(k *Kernel) { k.I(x86.XOR, x86.EAX, x86.EAX); k.I(x86.PUSH, x86.EAX); k.I(x86.POP, x86.EDI) }, x86.Inst{Op: x86.SCASD}, true},
		{"an aligned argument", func(k *Kernel) {
			k.Items = append(k.Items, Item{Inst: x86.Inst{Op: x86.LODSW}, Aligned: true})
			k.I(x86.XCHG, x86.DI, x86.AX)
		}, x86.Inst{Op: x86.SCASD}, true},
		{"an argument", func(k *Kernel) { k.I(x86.LODSW); k.I(x86.XCHG, x86.DI, x86.AX) }, x86.Inst{Op: x86.SCASD}, false},
		{"an odd constant", func(k *Kernel) { k.I(x86.MOV, x86.DI, x86.Imm(0x102)) }, x86.Inst{Op: x86.SCASD}, false},
	} {
		k := &Kernel{Name: "t"}
		c.set(k)
		k.Label("top")
		at := len(k.Items)
		k.I(x86.MOV, x86.EAX, x86.D(x86.Mem{Base: x86.DI}))
		k.Items = append(k.Items, Item{Inst: c.step})
		k.I(x86.DEC, x86.CX)
		k.I(x86.JNE, x86.Label("top"))
		k.I(x86.RET)
		aligned, err := Aligned(k, Options{})
		require.NoError(t, err, c.name)
		assert.Equal(t, c.want, aligned(at, x86.DI), c.name)
		assert.False(t, aligned(at-1, x86.DI), "%s: a label", c.name)
	}
	k := &Kernel{Name: "call"}
	k.I(x86.XOR, x86.DI, x86.DI)
	k.I(x86.CALL, x86.Label("f"))
	k.I(x86.SCASD)
	k.I(x86.RET)
	aligned, err := Aligned(k, Options{})
	require.NoError(t, err)
	assert.True(t, aligned(1, x86.DI), "before the call")
	assert.False(t, aligned(2, x86.DI), "a call that writes every register")
}

// Where two paths leave the stack at different depths, a pop after them
// is unknown; at the same depth, aligned where both pushed aligned words.
func TestAlignedPopAfterPaths(t *testing.T) {
	for _, c := range []struct {
		name string
		also x86.Operand // pushed on one path
		want bool
	}{{"one path pushes more", nil, false}, {"both aligned", x86.Imm(8), true}, {"one unknown", x86.CX, false}} {
		k := &Kernel{Name: "t"}
		k.I(x86.XOR, x86.AX, x86.AX)
		k.I(x86.PUSH, x86.AX)
		k.I(x86.TEST, x86.CX, x86.CX)
		k.I(x86.JE, x86.Label("other"))
		if c.also != nil {
			k.I(x86.POP, x86.BX)
			k.I(x86.PUSH, c.also)
		} else {
			k.I(x86.PUSH, x86.AX)
		}
		k.Label("other")
		k.I(x86.POP, x86.DI)
		at := len(k.Items)
		k.I(x86.SCASD)
		k.I(x86.RET)
		aligned, err := Aligned(k, Options{})
		require.NoError(t, err, c.name)
		assert.Equal(t, c.want, aligned(at, x86.DI), c.name)
	}
}
