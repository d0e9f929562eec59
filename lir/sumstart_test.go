package lir

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sumstart starts a sum with its first addend, and only when nothing
// between reads the sum and the first use is that addition.
func TestSumStart(t *testing.T) {
	f := &Func{}
	a, b, s, u, z := f.NewReg(I64), f.NewReg(I64), f.NewReg(I64), f.NewReg(I64), f.NewReg(I64)
	inst := func(op Opcode, dst, x, y Reg, imm int64) *Node {
		return &Node{Kind: NInst, Inst: Inst{Op: op, Dst: dst, A: x, B: y, C: NoReg, Imm: imm}}
	}
	f.Body = []*Node{
		inst(OpExt, a, NoReg, NoReg, 0),
		inst(OpConst, s, NoReg, NoReg, 0), // starts s: goes
		inst(OpExt, b, NoReg, NoReg, 0),
		inst(OpAdd, s, a, s, 0), // becomes s = a
		inst(OpAdd, s, s, b, 0),
		inst(OpConst, u, NoReg, NoReg, 0), // first use reads u otherwise: stays
		inst(OpSub, b, u, a, 0),
		inst(OpAdd, u, u, b, 0),
		inst(OpConst, z, NoReg, NoReg, 0), // a loop follows: stays
		{Kind: NLoop, Index: f.NewReg(I32), Count: NoReg, CountImm: 2, Body: []*Node{inst(OpAdd, z, z, a, 0)}},
	}
	sumStart(f)
	require.Len(t, f.Body, 9)
	assert.Equal(t, Inst{Op: OpCopy, Dst: s, A: a, B: NoReg, C: NoReg}, f.Body[2].Inst)
	assert.Equal(t, OpAdd, f.Body[3].Inst.Op)
	assert.Equal(t, OpConst, f.Body[4].Inst.Op)
	assert.Equal(t, OpAdd, f.Body[6].Inst.Op)
	assert.Equal(t, OpConst, f.Body[7].Inst.Op)
}
