package lir

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// twoScales steps the base of a loop's bytes, leaving the index the
// dwords' scale alone: the base itself where nothing else reads it, a
// copy made before the loop where something does (one operand losing
// its scale is enough); never in a flat Func (no 16-bit address to
// gain).
func TestTwoScales(t *testing.T) {
	for _, c := range []struct {
		name                              string
		segmented, reread, stores, nested bool
		want, copied                      bool
	}{
		{"segmented", true, false, false, false, true, false},
		{"base read after, two dword operands", true, true, true, false, true, true},
		{"base read after, one dword operand", true, true, false, false, true, true},
		{"flat", false, false, true, false, false, false},
		// Each pass of the outer loop must start the bytes at p again
		// (a difftest failure when the inner loop stepped p itself).
		{"base set before an enclosing loop", true, false, true, true, false, false},
	} {
		f := &Func{Segmented: c.segmented}
		bytes, dwords := &Buf{Name: "b", Size: 64}, &Buf{Name: "d", Size: 256}
		f.Bufs = []*Buf{bytes, dwords}
		p, i, x, y, z := f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32)
		inst := func(in Inst) *Node { return &Node{Kind: NInst, Inst: in} }
		body := []*Node{
			inst(Inst{Op: OpLoad, Dst: x, A: NoReg, B: NoReg, C: NoReg, Mem: Mem{Buf: bytes, Base: p, Index: i, Scale: 1, Width: 1, Signed: true}}),
			inst(Inst{Op: OpLoad, Dst: y, A: NoReg, B: NoReg, C: NoReg, Mem: Mem{Buf: dwords, Base: NoReg, Index: i, Scale: 4, Width: 4}}),
			inst(Inst{Op: OpAdd, Dst: z, A: x, B: y, C: NoReg}),
		}
		if c.stores {
			body = append(body, inst(Inst{Op: OpStore, Dst: NoReg, A: z, B: NoReg, C: NoReg, Mem: Mem{Buf: dwords, Base: NoReg, Index: i, Scale: 4, Width: 4}}))
		} else {
			body = append(body, inst(Inst{Op: OpStore, Dst: NoReg, A: z, B: NoReg, C: NoReg, Mem: Mem{Buf: dwords, Base: NoReg, Index: NoReg, Width: 4}}))
		}
		n := len(body)
		loop := &Node{Kind: NLoop, Index: i, Count: NoReg, CountImm: 8, Body: body}
		f.Body = []*Node{inst(Inst{Op: OpConst, Dst: p, A: NoReg, B: NoReg, C: NoReg, Imm: 8}), loop}
		if c.nested {
			f.Body[1] = &Node{Kind: NLoop, Index: f.NewReg(I32), Count: NoReg, CountImm: 2, Body: []*Node{loop}}
		}
		if c.reread {
			f.Body = append(f.Body, inst(Inst{Op: OpStore, Dst: NoReg, A: p, B: NoReg, C: NoReg, Mem: Mem{Buf: dwords, Base: NoReg, Index: NoReg, Width: 4}}))
		}
		twoScales(f)
		require.NoError(t, Verify(f), c.name)
		first := loop.Body[0].Inst.Mem
		if !c.want {
			assert.Equal(t, i, first.Index, c.name)
			assert.Len(t, loop.Body, n, c.name)
			continue
		}
		stepped := p
		if c.copied {
			require.Equal(t, OpCopy, f.Body[1].Inst.Op, "%s: a copy before the loop", c.name)
			assert.Equal(t, p, f.Body[1].Inst.A, c.name)
			stepped = f.Body[1].Inst.Dst
		}
		assert.Equal(t, Mem{Buf: bytes, Base: stepped, Index: NoReg, Width: 1, Signed: true}, first, c.name)
		last := loop.Body[len(loop.Body)-1].Inst
		assert.Equal(t, Inst{Op: OpAdd, Dst: stepped, A: stepped, B: last.B, C: NoReg}, last, c.name)
		assert.Equal(t, i, loop.Body[1].Inst.Mem.Index, "%s: the dwords keep the index", c.name)
	}
}
