package loopgen

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	x86 "tfc/codegen/x86_16"
	"tfc/regalloc"
)

// The params a prologue reads only to store in their slots are copied
// from the call's data, packed at their widths where the slots were, and
// the proc's accesses follow them (a byte's word load becomes a movzx of
// it); where di is read after, through ax (lodsw; mov [m], ax); where
// the slots are not one run, a byte param is written as a word, di and
// eax are read after, or only one param is stored, the moves stay.
func TestCopyParams(t *testing.T) {
	w := func(a uint16) x86.Mem { return x86.W(x86.Abs16(a)) }
	b := func(a uint16) x86.Mem { return x86.B(x86.Abs16(a)) }
	for _, c := range []struct {
		name  string
		slots [3]uint16
		edit  func(k *regalloc.Kernel)
		want  []string // nil: unchanged
	}{
		{"a run", [3]uint16{0x3800, 0x3804, 0x3808}, func(*regalloc.Kernel) {}, []string{
			"mov di, 0x3800", "movsw", "movsw", "lodsw", "mov bx, ax", "push si",
			"movzx bp, byte [0x3800]", "cmp byte [0x3801], 0x0", "dec word [0x3802]"}},
		{"slots in another order", [3]uint16{0x3808, 0x3800, 0x3804}, func(*regalloc.Kernel) {}, []string{
			"mov di, 0x3800", "movsw", "movsw", "lodsw", "mov bx, ax", "push si",
			"movzx bp, byte [0x3800]", "cmp byte [0x3801], 0x0", "dec word [0x3802]"}},
		{"a gap", [3]uint16{0x3800, 0x3804, 0x380c}, func(*regalloc.Kernel) {}, nil},
		{"a byte written as a word", [3]uint16{0x3800, 0x3804, 0x3808}, func(k *regalloc.Kernel) { k.I(x86.INC, w(0x3804)) }, nil},
		{"di read after", [3]uint16{0x3800, 0x3804, 0x3808}, func(k *regalloc.Kernel) { k.I(x86.MOV, x86.DX, x86.W(x86.Mem{Base: x86.DI})) }, []string{
			"lodsw", "mov word [0x3800], ax", "lodsw", "mov word [0x3802], ax", "lodsw", "mov bx, ax", "push si",
			"movzx bp, byte [0x3800]", "cmp byte [0x3801], 0x0", "dec word [0x3802]"}},
		{"di and eax read after", [3]uint16{0x3800, 0x3804, 0x3808}, func(k *regalloc.Kernel) {
			k.I(x86.MOV, x86.DX, x86.W(x86.Mem{Base: x86.DI}))
			k.I(x86.MOV, x86.EDX, x86.EAX)
		}, nil},
	} {
		s := c.slots
		k := &regalloc.Kernel{Name: "t"}
		k.I(x86.POP, x86.SI)
		k.I(x86.XOR, x86.AX, x86.AX)
		k.I(x86.LODSB)
		k.I(x86.MOV, w(s[0]), x86.AX)
		k.I(x86.LODSB)
		k.I(x86.MOV, w(s[1]), x86.AX)
		k.I(x86.LODSW)
		k.I(x86.MOV, w(s[2]), x86.AX)
		k.I(x86.LODSW)
		k.I(x86.MOV, x86.BX, x86.AX)
		k.I(x86.PUSH, x86.SI)
		k.I(x86.MOV, x86.BP, w(s[0]))
		k.I(x86.CMP, b(s[1]), x86.Imm(0))
		k.I(x86.DEC, w(s[2]))
		c.edit(k)
		k.I(x86.RET)
		before := listingOfKernel(t, k)
		copied := copyParams(k, 0x3800, 0x3810, true)
		got := listingOfKernel(t, k)
		if c.want == nil {
			assert.False(t, copied, c.name)
			assert.Equal(t, before, got, c.name)
			continue
		}
		assert.True(t, copied, c.name)
		assert.Equal(t, append([]string{"pop si", "xor ax, ax"}, c.want...), got[:len(c.want)+2], c.name)
	}
}

// Where ES is not DS (the segmented model), the copy sets ES to DS and
// back around it, where that still saves bytes: three params' 12 bytes of
// lods and stores, not two's 8.
func TestCopyParamsSegmented(t *testing.T) {
	w := func(a uint16) x86.Mem { return x86.W(x86.Abs16(a)) }
	for _, params := range []int{3, 2} {
		k := &regalloc.Kernel{Name: "t"}
		k.I(x86.POP, x86.SI)
		for i := range params {
			k.I(x86.LODSW)
			k.I(x86.MOV, w(uint16(0x3800+4*i)), x86.AX)
		}
		k.I(x86.LODSW)
		k.I(x86.MOV, x86.BX, x86.AX)
		k.I(x86.PUSH, x86.SI)
		for i := range params {
			k.I(x86.DEC, w(uint16(0x3800+4*i)))
		}
		k.I(x86.RET)
		copied := copyParams(k, 0x3800, 0x3810, false)
		got := listingOfKernel(t, k)
		if params == 2 {
			assert.False(t, copied, "two params")
			continue
		}
		assert.True(t, copied)
		assert.Equal(t, []string{"pop si", "push es", "push ds", "pop es", "mov di, 0x3800", "movsw", "movsw", "movsw", "pop es", "lodsw"}, got[:10])
		assert.Equal(t, []string{"dec word [0x3800]", "dec word [0x3802]", "dec word [0x3804]"}, got[len(got)-4:len(got)-1])
	}
}

// Where ES is not DS, two bytes and a word packed in two words are
// copied through ax (8 bytes, where the swap and movs take 9); where ES
// is DS, with movs (6).
func TestCopyParamsThroughAX(t *testing.T) {
	for _, esIsDS := range []bool{false, true} {
		k := &regalloc.Kernel{Name: "t"}
		k.I(x86.POP, x86.SI)
		k.I(x86.XOR, x86.AX, x86.AX)
		for i, op := range []x86.Op{x86.LODSB, x86.LODSB, x86.LODSW} {
			k.I(op)
			k.I(x86.MOV, x86.W(x86.Abs16(uint16(0x3800+4*i))), x86.AX)
		}
		k.I(x86.LODSW)
		k.I(x86.MOV, x86.BX, x86.AX)
		k.I(x86.PUSH, x86.SI)
		k.I(x86.MOV, x86.BP, x86.W(x86.Abs16(0x3800)))
		k.I(x86.CMP, x86.B(x86.Abs16(0x3804)), x86.Imm(0))
		k.I(x86.DEC, x86.W(x86.Abs16(0x3808)))
		k.I(x86.RET)
		require.True(t, copyParams(k, 0x3800, 0x3810, esIsDS))
		got := listingOfKernel(t, k)
		want := []string{"lodsw", "mov word [0x3800], ax", "lodsw", "mov word [0x3802], ax", "lodsw"}
		if esIsDS {
			want = []string{"mov di, 0x3800", "movsw", "movsw", "lodsw", "mov bx, ax"}
		}
		assert.Equal(t, want, got[2:7], "ES is DS: %v", esIsDS)
	}
}

// listingOfKernel is k's instructions, one a line.
func listingOfKernel(t *testing.T, k *regalloc.Kernel) []string {
	t.Helper()
	var out []string
	for _, it := range k.Items {
		require.Empty(t, it.Label)
		out = append(out, regalloc.InstString(it.Inst))
	}
	return out
}

// A param that a proc's prologue stores in its slot, and that one load
// takes back after a balanced stretch, goes to the stack after the
// prologue's push of si: its register where nothing after the store
// writes it, else its bytes in the call's data, which si points past.
func TestProloguePair(t *testing.T) {
	slot := x86.W(x86.Abs16(0x3800))
	for _, c := range []struct {
		name     string
		prologue func(k *regalloc.Kernel)
		body     func(k *regalloc.Kernel)
		want     string // "" where the moves stay
	}{
		{"read last", func(k *regalloc.Kernel) {
			k.I(x86.LODSD)
			k.I(x86.XCHG, x86.EBX, x86.EAX)
			k.I(x86.LODSW)
			k.I(x86.MOV, slot, x86.AX)
		}, func(*regalloc.Kernel) {}, "push si\n    push ax\n"},
		{"read first", func(k *regalloc.Kernel) {
			k.I(x86.LODSW)
			k.I(x86.MOV, slot, x86.AX)
			k.I(x86.LODSD)
			k.I(x86.XCHG, x86.EBX, x86.EAX)
		}, func(*regalloc.Kernel) {}, "push si\n    push word [si-0x6]\n"},
		{"a dword read first", func(k *regalloc.Kernel) {
			k.I(x86.LODSD)
			k.I(x86.MOV, x86.D(x86.Abs16(0x3800)), x86.EAX)
			k.I(x86.LODSW)
			k.I(x86.XCHG, x86.BX, x86.AX)
		}, func(*regalloc.Kernel) {}, "push si\n    push dword [si-0x6]\n"},
		{"an offset added", func(k *regalloc.Kernel) {
			k.I(x86.LODSW)
			k.I(x86.ADD, x86.AX, x86.W(x86.Abs16(0x1004)))
			k.I(x86.MOV, slot, x86.AX)
			k.I(x86.LODSW)
			k.I(x86.XCHG, x86.BX, x86.AX)
		}, func(*regalloc.Kernel) {}, ""},
		{"a byte read, then another", func(k *regalloc.Kernel) {
			k.I(x86.XOR, x86.EAX, x86.EAX)
			k.I(x86.LODSB)
			k.I(x86.MOV, slot, x86.AX) // its word is not in the data
			k.I(x86.LODSB)             // and the next overwrites it
		}, func(*regalloc.Kernel) {}, ""},
		{"a push left", func(k *regalloc.Kernel) {
			k.I(x86.LODSW)
			k.I(x86.MOV, slot, x86.AX)
		}, func(k *regalloc.Kernel) { k.I(x86.PUSH, x86.DX) }, ""},
		{"read in the next proc's data", func(k *regalloc.Kernel) {
			k.I(x86.LODSD)
			k.I(x86.XCHG, x86.EBX, x86.EAX)
			k.I(x86.MOV, x86.AX, x86.W(x86.Mem{Base: x86.SI, Disp: 8}))
			k.I(x86.MOV, slot, x86.AX)
		}, func(*regalloc.Kernel) {}, "xchg ebx, eax\n    push si\n    push word [si+0x8]\n"},
		{"read in the next proc's data, used after", func(k *regalloc.Kernel) {
			k.I(x86.LODSD)
			k.I(x86.XCHG, x86.EBX, x86.EAX)
			k.I(x86.MOV, x86.AX, x86.W(x86.Mem{Base: x86.SI, Disp: 8}))
			k.I(x86.MOV, slot, x86.AX)
		}, func(k *regalloc.Kernel) { k.I(x86.ADD, x86.CX, x86.AX) }, "mov ax, word [si+0x8]\n    push si\n    push ax\n"},
		{"read in the next proc's data, then a lods", func(k *regalloc.Kernel) {
			k.I(x86.MOV, x86.AX, x86.W(x86.Mem{Base: x86.SI, Disp: 8}))
			k.I(x86.MOV, slot, x86.AX)
			k.I(x86.LODSD) // si moves: the push reads its word as lods read it
			k.I(x86.XCHG, x86.EBX, x86.EAX)
		}, func(*regalloc.Kernel) {}, ""},
		{"loaded twice", func(k *regalloc.Kernel) {
			k.I(x86.LODSW)
			k.I(x86.MOV, slot, x86.AX)
		}, func(k *regalloc.Kernel) { k.I(x86.MOV, x86.DX, slot) }, ""},
	} {
		k := &regalloc.Kernel{Name: "t"}
		k.I(x86.POP, x86.SI)
		c.prologue(k)
		k.I(x86.PUSH, x86.SI)
		k.Label("top")
		c.body(k)
		k.I(x86.DEC, x86.CX)
		k.I(x86.JNE, x86.Label("top"))
		k.I(x86.MOV, x86.BP, x86.W(slot))
		if c.name == "a dword read first" {
			k.Items[len(k.Items)-1].Inst = x86.Inst{Op: x86.MOV, Args: []x86.Operand{x86.EBP, x86.D(x86.Abs16(0x3800))}}
		}
		k.I(x86.RET)
		pushPairs(k, 0x3800, 0x3808)
		var p x86.Program
		require.NoError(t, regalloc.Rewrite(k, nil, &p))
		got := p.Listing()
		if c.want == "" {
			assert.Contains(t, got, "[0x3800], ", c.name)
			continue
		}
		assert.NotContains(t, got, "0x3800", c.name)
		assert.Contains(t, got, c.want, c.name)
		assert.Regexp(t, `\n    pop e?bp\n    ret\n`, got, c.name)
	}
}
