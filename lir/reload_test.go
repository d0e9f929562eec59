package lir

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A loaded i32 that a second product reads is loaded again for it, so
// that each load has one reader; not where a store into its buffer, or a
// write of its address's register, comes between.
func TestReload(t *testing.T) {
	for _, c := range []struct {
		name    string
		between func(f *Func, x *Buf, i Reg) *Node
		again   bool
	}{
		{"nothing between", nil, true},
		{"a store into another buffer", func(f *Func, x *Buf, i Reg) *Node {
			y := &Buf{Name: "y", Kind: BufVar, Size: 64}
			f.Bufs = append(f.Bufs, y)
			return &Node{Kind: NInst, Inst: Inst{Op: OpStore, Dst: NoReg, A: i, B: NoReg, C: NoReg, Mem: Mem{Buf: y, Base: NoReg, Index: NoReg, Width: 4}}}
		}, true},
		{"a store into its buffer", func(f *Func, x *Buf, i Reg) *Node {
			return &Node{Kind: NInst, Inst: Inst{Op: OpStore, Dst: NoReg, A: i, B: NoReg, C: NoReg, Mem: Mem{Buf: x, Base: NoReg, Index: NoReg, Disp: 32, Width: 4}}}
		}, false},
		{"a write of its index", func(f *Func, x *Buf, i Reg) *Node {
			return &Node{Kind: NInst, Inst: Inst{Op: OpAdd, Dst: i, A: i, B: i, C: NoReg}}
		}, false},
	} {
		f := &Func{}
		x := &Buf{Name: "x", Kind: BufVar, Size: 64}
		f.Bufs = []*Buf{x}
		i, a, b, p, q := f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I64), f.NewReg(I64)
		mem := Mem{Buf: x, Base: NoReg, Index: i, Scale: 4, Width: 4, Signed: true}
		second := &Node{Kind: NInst, Inst: Inst{Op: OpMulWide, Dst: q, A: a, B: b, C: NoReg}}
		body := []*Node{
			{Kind: NInst, Inst: Inst{Op: OpToken, Dst: i, A: NoReg, B: NoReg, C: NoReg}},
			{Kind: NInst, Inst: Inst{Op: OpLoad, Dst: a, A: NoReg, B: NoReg, C: NoReg, Mem: mem}},
			{Kind: NInst, Inst: Inst{Op: OpToken, Dst: b, A: NoReg, B: NoReg, C: NoReg}},
			{Kind: NInst, Inst: Inst{Op: OpMulWide, Dst: p, A: a, B: b, C: NoReg}},
		}
		if c.between != nil {
			body = append(body, c.between(f, x, i))
		}
		f.Body = append(body, second)
		reload(f)
		if c.again {
			assert.NotEqual(t, a, second.Inst.A, c.name)
			ld := f.Body[len(f.Body)-2].Inst
			assert.Equal(t, OpLoad, ld.Op, c.name)
			assert.Equal(t, second.Inst.A, ld.Dst, c.name)
			assert.Equal(t, mem, ld.Mem, c.name)
		} else {
			assert.Equal(t, a, second.Inst.A, c.name)
		}
	}
}
