package loopgen

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	x86 "tfc/codegen/x86_16"
	"tfc/regalloc"
)

// A value split around a loop through its spill slot goes to the stack:
// push and pop, where the loop between is entered and left at its ends
// only and balances its own pushes, and where the slot holds nothing
// else; otherwise the moves stay.
func TestPushPairs(t *testing.T) {
	slot := x86.W(x86.Abs16(0x1114))
	for _, c := range []struct {
		name string
		edit func(k *regalloc.Kernel) // what the loop does besides
		push bool
	}{
		{"a loop", func(k *regalloc.Kernel) {}, true},
		{"a balanced push", func(k *regalloc.Kernel) { k.I(x86.PUSH, x86.AX); k.I(x86.POP, x86.DX) }, true},
		{"a call", func(k *regalloc.Kernel) { k.I(x86.CALL, x86.Label("rshr.16")) }, true},
		{"a push left", func(k *regalloc.Kernel) { k.I(x86.PUSH, x86.AX) }, false},
		{"a jump out", func(k *regalloc.Kernel) { k.I(x86.JE, x86.Label("out")) }, false},
		{"a return", func(k *regalloc.Kernel) { k.I(x86.RET) }, false},
		{"the slot read", func(k *regalloc.Kernel) { k.I(x86.MOV, x86.DX, slot) }, false},
	} {
		k := &regalloc.Kernel{Name: "t"}
		k.I(x86.MOV, slot, x86.SI)
		k.Label("top")
		k.I(x86.MOV, x86.SI, x86.Imm(-0x20))
		c.edit(k)
		k.I(x86.ADD, x86.SI, x86.Imm(4))
		k.I(x86.JNE, x86.Label("top"))
		k.I(x86.MOV, x86.SI, slot)
		k.Label("out")
		k.I(x86.RET)
		pushPairs(k, 0x1100, 0x1120)
		var p x86.Program
		require.NoError(t, regalloc.Rewrite(k, nil, &p))
		got := p.Listing()
		if c.push {
			assert.Regexp(t, `(?s)\n    push si\ntop:\n.*\n    pop si\n\$?out:\n`, got, c.name)
			assert.NotContains(t, got, "0x1114", c.name)
		} else {
			assert.Contains(t, got, "    mov word [0x1114], si\n", c.name)
			assert.Contains(t, got, "    mov si, word [0x1114]\n", c.name)
		}
	}
}

// A jump from before the pair into the loop keeps the moves.
func TestPushPairsJumpIn(t *testing.T) {
	slot := x86.W(x86.Abs16(0x1114))
	k := &regalloc.Kernel{Name: "t"}
	k.I(x86.JMP, x86.Label("top"))
	k.I(x86.MOV, slot, x86.SI)
	k.Label("top")
	k.I(x86.DEC, x86.CX)
	k.I(x86.JNE, x86.Label("top"))
	k.I(x86.MOV, x86.SI, slot)
	k.I(x86.RET)
	pushPairs(k, 0x1100, 0x1120)
	assert.Equal(t, x86.MOV, k.Items[1].Inst.Op)
}

// Between two loops that a value waits out on the stack, a pop and a
// push of it that nothing between reads go (both), where nothing reads
// the register after them: another value's slot around that code then
// goes to the stack too (attention's head index around its weighted
// sum, its output's pointer too).
func TestPushPairsResaved(t *testing.T) {
	for _, read := range []bool{false, true} {
		a, b := x86.W(x86.Abs16(0x1100)), x86.W(x86.Abs16(0x1104))
		k := &regalloc.Kernel{Name: "t"}
		loop := func(l string) {
			k.Label(l)
			k.I(x86.DEC, x86.CX)
			k.I(x86.JNE, x86.Label(l))
		}
		k.I(x86.MOV, a, x86.AX)
		loop("l1")
		k.I(x86.MOV, b, x86.BX)
		k.I(x86.MOV, x86.AX, a)
		k.I(x86.MOV, a, x86.AX)
		if read {
			k.I(x86.MOV, x86.DX, x86.AX)
		}
		k.I(x86.XOR, x86.EAX, x86.EAX)
		loop("l2")
		k.I(x86.MOV, x86.BX, b)
		loop("l3")
		k.I(x86.MOV, x86.AX, a)
		k.I(x86.MOV, x86.DX, x86.AX)
		k.I(x86.ADD, x86.DX, x86.BX)
		k.I(x86.RET)
		pushPairs(k, 0x1100, 0x1120)
		var p x86.Program
		require.NoError(t, regalloc.Rewrite(k, nil, &p))
		got := p.Listing()
		if read {
			assert.Contains(t, got, "    pop ax\n    push ax\n", "read after")
			assert.Contains(t, got, "    mov word [0x1104], bx\n", "read after")
			continue
		}
		assert.NotContains(t, got, "0x11", got)
		assert.Contains(t, got, "    push bx\n", got)
		assert.Equal(t, 2, strings.Count(got, "push"), got)
	}
}
