package loopgen

import (
	"testing"

	"github.com/stretchr/testify/assert"

	x86 "tfc/codegen/x86_16"
	"tfc/regalloc"
)

func TestCmpHigh(t *testing.T) {
	m := x86.Abs16(0x1002)
	for _, c := range []struct {
		name string
		cmp  x86.Operand
		imm  int64
		jump x86.Op
		want string
	}{
		{"argmax's count", x86.DX, 0x200, x86.JL, "cmp dh, 0x2"},
		{"unsigned", x86.CX, 0x7d00, x86.JB, "cmp ch, 0x7d"},
		{"the zero flag read", x86.DX, 0x200, x86.JNE, "cmp dx, 0x200"},
		{"less or equal reads it too", x86.DX, 0x200, x86.JLE, "cmp dx, 0x200"},
		{"a low byte", x86.DX, 0x201, x86.JL, "cmp dx, 0x201"},
		{"no high byte", x86.SI, 0x100, x86.JL, "cmp si, 0x100"},
		{"ax's short form is as long", x86.AX, 0x3c00, x86.JB, "cmp ax, 0x3c00"},
		{"a negative bound", x86.BX, -0x200, x86.JGE, "cmp bh, -0x2"},
		{"a word", x86.W(m), 0x100, x86.JB, "cmp byte [0x1003], 0x1"},
		{"a dword's top byte", x86.D(m), 0x100000 << 4, x86.JAE, "cmp byte [0x1005], 0x1"},
		{"a dword's top word", x86.D(m), 0x7f0000, x86.JL, "cmp word [0x1004], 0x7f"},
		{"three bytes", x86.D(m), 0x10100, x86.JL, "cmp dword [0x1002], 0x10100"},
	} {
		k := &regalloc.Kernel{Name: "t"}
		k.Label("top")
		k.I(x86.CMP, c.cmp, x86.Imm(c.imm))
		k.I(c.jump, x86.Label("top"))
		k.I(x86.RET)
		cmpHigh(k)
		assert.Equal(t, c.want, k.Items[1].Inst.String(), c.name)
	}
}

// TestCmpHighFlags checks highPart's compares on every word and every
// bound of a zero low byte: the word's compare with the bound sets the
// carry, sign and overflow flags as the high byte's with highPart's
// immediate.
func TestCmpHighFlags(t *testing.T) {
	flags := func(a, b uint32, bits uint) (cf, sf, of bool) {
		mask := uint32(1)<<bits - 1
		top := uint32(1) << (bits - 1)
		d := (a - b) & mask
		return a&mask < b&mask, d&top != 0, (a^b)&(a^d)&top != 0
	}
	for hi := uint32(1); hi < 0x100; hi++ {
		h, ok := highPart(x86.DX, x86.Imm(int16(hi<<8)))
		if !ok || h.at != x86.Operand(x86.DH) {
			t.Fatalf("cmp dx, 0x%04x: highPart %v, %v", hi<<8, h, ok)
		}
		for x := range uint32(0x10000) {
			wc, ws, wo := flags(x, hi<<8, 16)
			bc, bs, bo := flags(x>>8, uint32(uint8(h.imm)), 8)
			if wc != bc || ws != bs || wo != bo {
				t.Fatalf("cmp 0x%04x, 0x%04x: cf sf of %v %v %v, its high byte's %v %v %v", x, hi<<8, wc, ws, wo, bc, bs, bo)
			}
		}
	}
}
