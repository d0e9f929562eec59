package lir

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// general keeps the else-branch of a Faster if and the then-branch of a
// Skips if, in a loop too, and leaves other ifs alone.
func TestGeneral(t *testing.T) {
	f := &Func{}
	c, x, y := f.NewReg(I32), f.NewReg(I32), f.NewReg(I32)
	inst := func(dst Reg, imm int64) *Node {
		return &Node{Kind: NInst, Inst: Inst{Op: OpConst, Dst: dst, A: NoReg, B: NoReg, C: NoReg, Imm: imm}}
	}
	fast := &Node{Kind: NIf, Cond: c, Faster: true, Then: []*Node{inst(x, 1)}, Else: []*Node{inst(x, 2), inst(y, 3)}}
	plain := &Node{Kind: NIf, Cond: c, Then: []*Node{inst(y, 4)}, Else: []*Node{inst(y, 5)}}
	skips := &Node{Kind: NIf, Cond: c, Skips: true, Then: []*Node{inst(y, 6)}}
	f.Body = []*Node{inst(c, 1), {Kind: NLoop, Index: f.NewReg(I32), Count: NoReg, CountImm: 2, Body: []*Node{fast, plain, skips}}}
	general(f)
	body := f.Body[1].Body
	require.Len(t, body, 4)
	assert.Equal(t, int64(2), body[0].Inst.Imm)
	assert.Equal(t, int64(3), body[1].Inst.Imm)
	assert.Same(t, plain, body[2])
	assert.Equal(t, int64(6), body[3].Inst.Imm)
}
