package lir

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// stride makes a loop whose index only indexes memory by one scale step
// by that scale, its operands unscaled; an index that is also a value,
// scaled two ways, or a loop of a count in a register stays. In the flat
// model (no 16-bit addresses) only a loop of three operands or more
// indexed by it alone pays for its step.
func TestStride(t *testing.T) {
	for _, c := range []struct {
		name      string
		scale2    int64 // the second operand's scale
		value     bool  // the index is also added to a value
		counted   bool  // the count is in a register
		flat      bool
		operands  int
		wantStep  int64
		wantScale int64
	}{
		{"dwords", 4, false, false, false, 2, 4, 1},
		{"two scales", 1, false, false, false, 2, 0, 4},
		{"a value", 4, true, false, false, 2, 0, 4},
		{"a count in a register", 4, false, true, false, 2, 0, 4},
		{"flat, two operands", 4, false, false, true, 2, 0, 4},
		{"flat, three operands", 4, false, false, true, 3, 4, 1},
	} {
		f := &Func{Segmented: !c.flat}
		buf := &Buf{Name: "x", Kind: BufVar, Size: 64}
		f.Bufs = []*Buf{buf}
		i, a, b, n := f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32)
		load := func(dst Reg, scale, disp int64) *Node {
			return &Node{Kind: NInst, Inst: Inst{Op: OpLoad, Dst: dst, A: NoReg, B: NoReg, C: NoReg,
				Mem: Mem{Buf: buf, Base: NoReg, Index: i, Scale: scale, Disp: disp, Width: 4}}}
		}
		body := []*Node{load(a, 4, 0)}
		for k := 1; k < c.operands; k++ {
			body = append(body, load(b, c.scale2, 32+4*int64(k)))
		}
		if c.value {
			body = append(body, &Node{Kind: NInst, Inst: Inst{Op: OpAdd, Dst: a, A: a, B: i, C: NoReg}})
		}
		loop := &Node{Kind: NLoop, Index: i, Count: NoReg, CountImm: 8, Body: body}
		f.Body = []*Node{{Kind: NInst, Inst: Inst{Op: OpConst, Dst: n, A: NoReg, B: NoReg, C: NoReg, Imm: 8}}, loop}
		if c.counted {
			loop.Count = n
		}
		stride(f)
		assert.Equal(t, c.wantStep, loop.Step, "%s: step", c.name)
		assert.Equal(t, c.wantScale, body[0].Inst.Mem.Scale, "%s: scale", c.name)
	}
}
