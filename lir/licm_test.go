package lir

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// licm takes a loop's invariants out of an if in it too, but only the
// pure ones: a division the branch guards may fault when run ahead.
func TestLICMHoistsFromIfs(t *testing.T) {
	f := &Func{}
	a, b, d := f.NewReg(I32), f.NewReg(I32), f.NewReg(I64)
	i, c, sum, quot, loopVar := f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I64), f.NewReg(I32)
	inst := func(op Opcode, dst, x, y Reg) *Node {
		return &Node{Kind: NInst, Inst: Inst{Op: op, Dst: dst, A: x, B: y, C: NoReg}}
	}
	guarded := &Node{Kind: NIf, Cond: c, Then: []*Node{
		inst(OpAdd, sum, a, b),     // invariant, pure: hoisted
		inst(OpUDiv, quot, d, a),   // invariant, may fault: stays
		inst(OpAdd, loopVar, i, a), // reads the index: stays
	}}
	loop := &Node{Kind: NLoop, Index: i, Count: NoReg, CountImm: 4, Body: []*Node{inst(OpCmp, c, i, a), guarded}}
	f.Body = []*Node{inst(OpPos, a, NoReg, NoReg), inst(OpToken, b, NoReg, NoReg), inst(OpExtU, d, a, NoReg), loop}
	licm(f)
	require.Len(t, f.Body, 5)
	assert.Equal(t, OpAdd, f.Body[3].Inst.Op, "the invariant sum before the loop")
	assert.Equal(t, sum, f.Body[3].Inst.Dst)
	assert.Same(t, loop, f.Body[4])
	require.Len(t, guarded.Then, 2)
	assert.Equal(t, OpUDiv, guarded.Then[0].Inst.Op)
	assert.Equal(t, loopVar, guarded.Then[1].Inst.Dst)
}
