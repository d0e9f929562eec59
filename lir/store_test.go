package lir_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/ir"
	"tfc/lir"
)

// storeLoops counts the loops of each store op's body (not nested).
func storeLoops(t *testing.T, p *ir.Program) []int {
	t.Helper()
	f, err := lir.Lower(p)
	require.NoError(t, err)
	var out []int
	lir.Walk(f.Body, func(n *lir.Node) {
		if n.Kind != lir.NOp || !strings.HasPrefix(n.Note, "store") {
			return
		}
		loops := 0
		for _, x := range oneForm(n) {
			if x.Kind == lir.NLoop {
				loops++
			}
		}
		out = append(out, loops)
	})
	return out
}

// oneForm is the body of op n, or where its lowering is a faster if (on
// 1) of two forms alike but for their addresses (attention, store), the
// first.
func oneForm(n *lir.Node) []*lir.Node {
	for _, x := range n.Body {
		if x.Kind == lir.NIf && x.Faster {
			return x.Then
		}
	}
	return n.Body
}

// A cache's row holds a position's keys, then its values, so that a
// store whose v follows its k in memory (the fused q+k+v) is one loop
// over both; where they lie apart, a loop each. Both compute what the
// simulator does (TestExamplesEqualSimulator, TestGeneratedEqualSimulator).
func TestStoreOneLoopWhereVFollowsK(t *testing.T) {
	assert.Equal(t, []int{1}, storeLoops(t, load(t, "../examples/mlp-random.tf")), "mlp-random (q+k+v)")
	apart := 0
	generated(t, 60, func(_ string, p *ir.Program) {
		for _, n := range storeLoops(t, p) {
			if n == 2 {
				apart++
			}
		}
	})
	assert.NotZero(t, apart, "generated stores whose k and v lie apart")
}
