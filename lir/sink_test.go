package lir

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// sink moves a difference's first product after the second, and leaves
// a product that something else reads, one whose operand is written
// between, or a sum whose other operand is no product.
func TestSink(t *testing.T) {
	f := &Func{}
	r := func(ty Type) Reg { return f.NewReg(ty) }
	a, b, c, s := r(I32), r(I32), r(I32), r(I32)
	inst := func(op Opcode, dst, x, y Reg) *Node {
		return &Node{Kind: NInst, Inst: Inst{Op: op, Dst: dst, A: x, B: y, C: NoReg}}
	}
	p1, p2, d := r(I64), r(I64), r(I64)
	q1, q2, e := r(I64), r(I64), r(I64)
	w1, w2, g := r(I64), r(I64), r(I64)
	x, h := r(I64), r(I64)
	f.Body = []*Node{
		inst(OpMulWide, p1, a, c), // 0: moves after p2
		inst(OpMulWide, p2, b, s),
		inst(OpSub, d, p1, p2),
		inst(OpMulWide, q1, a, s), // 3: read twice: stays
		inst(OpMulWide, q2, b, c),
		inst(OpAdd, e, q1, q2),
		inst(OpAdd, e, e, q1),
		inst(OpMulWide, w1, a, c), // 7: a written between: stays
		inst(OpCopy, a, b, NoReg),
		inst(OpMulWide, w2, b, s),
		inst(OpAdd, g, w1, w2),
		inst(OpMulWide, x, b, c), // 11: the other operand is no product: stays
		inst(OpCopy, c, s, NoReg),
		inst(OpSub, h, x, d),
	}
	want := []Reg{p2, p1, d, q1, q2, e, e, w1, a, w2, g, x, c, h}
	sink(f)
	var got []Reg
	for _, n := range f.Body {
		got = append(got, n.Inst.Dst)
	}
	assert.Equal(t, want, got)
}
