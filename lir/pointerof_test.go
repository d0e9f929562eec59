package lir

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// outline passes a buffer as a pointer's start only where the unit reads
// it through that one pointer, which the unit sets once from a constant at
// its top and only steps after: not one read as a value too, nor one
// that an index reads, nor one set again (in a loop), nor a class that
// another base reads too.
func TestPointerOf(t *testing.T) {
	for _, c := range []struct {
		name string
		vary func(p, i, v Reg, body *[]*Node)
		want bool
	}{
		{"stepped pointer", nil, true},
		{"read as a value", func(p, i, v Reg, body *[]*Node) {
			*body = append(*body, &Node{Kind: NInst, Inst: Inst{Op: OpAdd, Dst: v, A: v, B: p, C: NoReg}})
		}, false},
		{"an index", func(p, i, v Reg, body *[]*Node) {
			(*body)[0].Inst.Mem.Base, (*body)[0].Inst.Mem.Index, (*body)[0].Inst.Mem.Scale = i, p, 1
		}, false},
		{"set again in the loop", func(p, i, v Reg, body *[]*Node) {
			*body = append(*body, &Node{Kind: NInst, Inst: Inst{Op: OpConst, Dst: p, A: NoReg, B: NoReg, C: NoReg}})
		}, false},
		{"another base", func(p, i, v Reg, body *[]*Node) {
			(*body)[0].Inst.Mem.Base = i
		}, false},
	} {
		f := &Func{}
		w, y := &Buf{Name: "w", Kind: BufParam, Size: 64}, &Buf{Name: "y", Kind: BufVar, Size: 64}
		f.Bufs = []*Buf{w, y}
		p, i, v, four := f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32)
		inst := func(in Inst) *Node { return &Node{Kind: NInst, Inst: in} }
		body := []*Node{
			inst(Inst{Op: OpLoad, Dst: v, A: NoReg, B: NoReg, C: NoReg, Mem: Mem{Buf: w, Base: p, Index: NoReg, Width: 4}}),
			inst(Inst{Op: OpStore, Dst: NoReg, A: v, B: NoReg, C: NoReg, Mem: Mem{Buf: y, Base: NoReg, Index: i, Scale: 4, Width: 4}}),
			inst(Inst{Op: OpAdd, Dst: p, A: p, B: four, C: NoReg}),
		}
		top := []*Node{
			inst(Inst{Op: OpConst, Dst: p, A: NoReg, B: NoReg, C: NoReg}),
			inst(Inst{Op: OpConst, Dst: four, A: NoReg, B: NoReg, C: NoReg, Imm: 4}),
		}
		if c.vary != nil {
			c.vary(p, i, v, &body)
		}
		op := &Node{Kind: NOp, Body: append(top, &Node{Kind: NLoop, Index: i, Count: NoReg, CountImm: 4, Body: body})}
		f.Body = []*Node{op}
		u := shapeOf(f, op, 0, len(op.Body))
		require.NotNil(t, u, c.name)
		// w's accesses one class (as where the calls pass other
		// buffers), y's the same in every call.
		class := make([]int, len(u.bufs))
		for a, b := range u.bufs {
			if b != w {
				class[a] = -1
			}
		}
		got, ok := pointerOf(u, class, 0)
		assert.Equal(t, c.want, ok, c.name)
		if c.want {
			assert.Equal(t, p, got, c.name)
		}
	}
}
