package lir

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// shareAdd reads an address's two registers through the sum an add after
// it computes, the add moved up before it; not where a register it adds
// is written between, nor where the sum is read there.
func TestShareAdd(t *testing.T) {
	for _, c := range []struct {
		name  string
		clash func(a, b, s Reg) *Node // a node between the load and the add
		want  bool
	}{
		{"shared", func(a, b, s Reg) *Node { return nil }, true},
		{"an addend written between", func(a, b, s Reg) *Node {
			return &Node{Kind: NInst, Inst: Inst{Op: OpAdd, Dst: b, A: b, B: a, C: NoReg}}
		}, false},
		{"the sum read between", func(a, b, s Reg) *Node {
			return &Node{Kind: NInst, Inst: Inst{Op: OpStore, Dst: NoReg, A: s, B: NoReg, C: NoReg, Mem: Mem{Buf: &Buf{Name: "o", Size: 4}, Base: NoReg, Index: NoReg, Width: 4}}}
		}, false},
	} {
		f := &Func{Segmented: true}
		buf := &Buf{Name: "b", Size: 256}
		f.Bufs = []*Buf{buf}
		a, b, x, s := f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32)
		load := &Node{Kind: NInst, Inst: Inst{Op: OpLoad, Dst: x, A: NoReg, B: NoReg, C: NoReg, Mem: Mem{Buf: buf, Base: a, Index: b, Scale: 1, Disp: 8, Width: 1}}}
		add := &Node{Kind: NInst, Inst: Inst{Op: OpAdd, Dst: s, A: b, B: a, C: NoReg}}
		f.Body = []*Node{load}
		if n := c.clash(a, b, s); n != nil {
			f.Body = append(f.Body, n)
		}
		f.Body = append(f.Body, add)
		shareAdd(f)
		if !c.want {
			assert.Same(t, load, f.Body[0], c.name)
			assert.Equal(t, a, load.Inst.Mem.Base, c.name)
			continue
		}
		assert.Equal(t, []*Node{add, load}, f.Body, c.name)
		assert.Equal(t, Mem{Buf: buf, Base: s, Index: NoReg, Disp: 8, Width: 1}, load.Inst.Mem, c.name)
	}
}
