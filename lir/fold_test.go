package lir

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// An index that adds a scaled register to another becomes the address's
// base and scaled index, whichever order the add names them in:
// [b + (i*4 + h)] is [b + h + i*4], no instruction left to compute it
// (attention's shift of a position and a head).
func TestFoldScaledIndex(t *testing.T) {
	for _, scaledFirst := range []bool{true, false} {
		f := &Func{}
		buf := &Buf{Name: "b", Kind: BufVar, Size: 64}
		f.Bufs = []*Buf{buf}
		i, h, four, p, sum, v := f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32)
		inst := func(op Opcode, dst, a, b Reg, imm int64) *Node {
			return &Node{Kind: NInst, Inst: Inst{Op: op, Dst: dst, A: a, B: b, C: NoReg, Imm: imm}}
		}
		add := inst(OpAdd, sum, p, h, 0)
		if !scaledFirst {
			add = inst(OpAdd, sum, h, p, 0)
		}
		load := &Node{Kind: NInst, Inst: Inst{Op: OpLoad, Dst: v, A: NoReg, B: NoReg, C: NoReg,
			Mem: Mem{Buf: buf, Base: NoReg, Index: sum, Scale: 1, Width: 4}}}
		f.Body = []*Node{inst(OpToken, i, NoReg, NoReg, 0), inst(OpPos, h, NoReg, NoReg, 0),
			inst(OpConst, four, NoReg, NoReg, 4), inst(OpMul, p, i, four, 0), add, load}
		fold(f)
		m := load.Inst.Mem
		assert.Equal(t, h, m.Base, "scaled first %v: base", scaledFirst)
		assert.Equal(t, i, m.Index, "scaled first %v: index", scaledFirst)
		assert.Equal(t, int64(4), m.Scale, "scaled first %v: scale", scaledFirst)
	}
}

// An unsigned division by a power of two is a logical shift (a norm's
// mean of 64 squares); by another constant it stays a division. The
// interpreter gives both forms the same quotient.
func TestFoldDivideByPowerOfTwo(t *testing.T) {
	for _, c := range []struct {
		by   int64
		want Opcode
	}{{64, OpShrI}, {1, OpShrI}, {288, OpUDiv}} {
		f := &Func{}
		tok, x, d, q := f.NewReg(I32), f.NewReg(I64), f.NewReg(I32), f.NewReg(I64)
		div := &Node{Kind: NInst, Inst: Inst{Op: OpUDiv, Dst: q, A: x, B: d, C: NoReg}}
		f.Body = []*Node{
			{Kind: NInst, Inst: Inst{Op: OpToken, Dst: tok, A: NoReg, B: NoReg, C: NoReg}},
			{Kind: NInst, Inst: Inst{Op: OpExt, Dst: x, A: tok, B: NoReg, C: NoReg}},
			{Kind: NInst, Inst: Inst{Op: OpConst, Dst: d, A: NoReg, B: NoReg, C: NoReg, Imm: c.by}},
			div,
		}
		orig := div.Inst
		fold(f)
		assert.Equal(t, c.want, div.Inst.Op, "by %d", c.by)
		for _, v := range []int64{0, 12345, -12345, 1 << 40, -1} {
			assert.Equal(t, eval(&orig, I64, I64, v, c.by), eval(&div.Inst, I64, I64, v, c.by), "%d / %d", v, c.by)
		}
	}
}

// An if on a known condition is the branch it takes, inside a loop too
// (the speed policy's side of a faster if on the constant 1: the cache
// shift's binary search); on a condition that is not known it stays.
func TestFoldKnownIf(t *testing.T) {
	f := &Func{}
	one, zero, tok, a, b := f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32)
	inst := func(op Opcode, dst Reg, imm int64) *Node {
		return &Node{Kind: NInst, Inst: Inst{Op: op, Dst: dst, A: NoReg, B: NoReg, C: NoReg, Imm: imm}}
	}
	then, els := inst(OpConst, a, 1), inst(OpConst, b, 2)
	iff := func(c Reg) *Node { return &Node{Kind: NIf, Cond: c, Then: []*Node{then}, Else: []*Node{els}} }
	unknown := iff(tok)
	f.Body = []*Node{inst(OpConst, one, 1), inst(OpConst, zero, 0), inst(OpToken, tok, 0),
		{Kind: NLoop, Index: f.NewReg(I32), Count: NoReg, CountImm: 2, Body: []*Node{iff(one), iff(zero)}}, unknown}
	fold(f)
	assert.Equal(t, []*Node{then, els}, f.Body[3].Body)
	assert.Same(t, unknown, f.Body[4])
}
