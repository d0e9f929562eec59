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
// the simulator does (before joincalls and inline make it rope's one call,
// then its code).
func TestCollapseRope(t *testing.T) {
	p := load(t, "../examples/mlp-random.tf")
	f, err := lir.LowerWith(p, lir.LowerOptionsFor("size"))
	require.NoError(t, err)
	require.NoError(t, lir.Compile(f, lir.Options{Policy: "size", Stop: "lir.collapse"}))
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

// After the size policy's passes, rope's one call is its code in the
// forward pass, which computes what the simulator does.
func TestRopeInlined(t *testing.T) {
	p, f := sizePolicy(t, "../examples/mlp-random.tf")
	for _, pr := range f.Procs {
		assert.NotEqual(t, 1, pr.Calls, "%s", f)
		lir.Walk(pr.Body, func(n *lir.Node) {
			assert.False(t, n.Kind == lir.NInst && n.Inst.Op == lir.OpMac2, "a mac2 in %s", pr.Name)
		})
	}
	mac2s := 0
	lir.Walk(f.Body, func(n *lir.Node) {
		if n.Kind == lir.NInst && n.Inst.Op == lir.OpMac2 {
			mac2s++
		}
	})
	assert.Equal(t, 2, mac2s, "%s", f)
	compare(t, "mlp-random/inlined", p, f, 4)
}
