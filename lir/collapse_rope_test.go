package lir_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/lir"
)

// Rope's procedure, its head loop around its pair loop, is one loop
// after collapse (a head of 4 pairs, its table's rows padded to 64
// bytes), its table pointer wrapped by an and, and still computes what
// the simulator does.
func TestCollapseRope(t *testing.T) {
	p, f := sizePolicy(t, "../examples/mlp-random.tf")
	var rope *lir.Proc
	for _, pr := range f.Procs {
		lir.Walk(pr.Body, func(n *lir.Node) {
			if n.Kind == lir.NInst && n.Inst.Op == lir.OpMac2 {
				rope = pr
			}
		})
	}
	require.NotNil(t, rope, "a procedure of mac2s")
	loops, wraps := 0, 0
	lir.Walk(rope.Body, func(n *lir.Node) {
		if n.Kind == lir.NLoop {
			loops++
		}
		if n.Kind == lir.NInst && n.Inst.Op == lir.OpAnd && n.Inst.Dst == n.Inst.A {
			wraps++
		}
	})
	assert.Equal(t, 1, loops, "%s", f)
	assert.Equal(t, 1, wraps, "%s", f)
	compare(t, "mlp-random/collapse", p, f, 4)
}
