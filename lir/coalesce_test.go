package lir

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// coalesce: a result that only the copy after it reads is written where
// the copy writes; not one that something else reads too, nor one copied
// into a register of another type, nor one the copy does not follow.
func TestCoalesce(t *testing.T) {
	f := &Func{}
	pos, prod, ptr, twice, other, wide, far, gap, later := f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I64), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32)
	inst := func(op Opcode, dst, x, y Reg) *Node {
		return &Node{Kind: NInst, Inst: Inst{Op: op, Dst: dst, A: x, B: y, C: NoReg}}
	}
	f.Body = []*Node{
		inst(OpPos, pos, NoReg, NoReg),
		inst(OpMul, prod, pos, pos), inst(OpCopy, ptr, prod, NoReg), // merged: ptr = mul
		inst(OpAdd, ptr, ptr, pos),
		inst(OpMul, twice, pos, pos), inst(OpCopy, other, twice, NoReg), inst(OpAdd, other, other, twice), // read twice
		inst(OpExt, wide, pos, NoReg), inst(OpLo, far, wide, NoReg), // not a copy
		inst(OpMul, gap, pos, pos), inst(OpAdd, ptr, ptr, pos), inst(OpCopy, later, gap, NoReg), // not right after
	}
	coalesce(f)
	require.NoError(t, Verify(f))
	require.Len(t, f.Body, 11)
	assert.Equal(t, Inst{Op: OpMul, Dst: ptr, A: pos, B: pos, C: NoReg}, f.Body[1].Inst)
	assert.Equal(t, OpAdd, f.Body[2].Inst.Op)
	assert.Equal(t, OpCopy, f.Body[4].Inst.Op, "its source read again after")
	assert.Equal(t, OpCopy, f.Body[10].Inst.Op, "an instruction between")
}
