package lir

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Selects on one condition that keep their destination otherwise become
// one if, which computes what they did (the second reading the first's
// new value too); a lone select, one of another condition and one that
// writes the condition stay.
func TestSelects(t *testing.T) {
	f := &Func{}
	c, e, x, y, d1, d2, d3 := f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32)
	sel := func(dst, a, cond Reg) *Node {
		return &Node{Kind: NInst, Inst: Inst{Op: OpSelect, Dst: dst, A: a, B: dst, C: cond}}
	}
	body := func() []*Node {
		return []*Node{
			sel(d1, x, c), sel(d2, d1, c), sel(d3, y, c), // one if
			sel(d1, y, e),               // another condition: alone
			sel(d2, x, c), sel(c, y, c), // the second writes c
		}
	}
	f.Body = body()
	selects(f)
	require.Len(t, f.Body, 4)
	require.Equal(t, NIf, f.Body[0].Kind)
	assert.Equal(t, c, f.Body[0].Cond)
	assert.Len(t, f.Body[0].Then, 3)
	for _, n := range f.Body[1:] {
		assert.Equal(t, OpSelect, n.Inst.Op)
	}
	for _, cond := range [][2]int64{{0, 0}, {0, 1}, {1, 0}, {1, 1}} {
		run := func(nodes []*Node) []int64 {
			m := &Machine{f: f, regs: []int64{cond[0], cond[1], 10, 20, 1, 2, 3}}
			m.run(nodes)
			return m.regs
		}
		assert.Equal(t, run(body()), run(f.Body), "c, e = %v", cond)
	}
}
