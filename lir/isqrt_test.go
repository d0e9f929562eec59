package lir_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/lir"
)

// The size policy's norm finds its square root's bits by setting each
// and clearing it again where the square is too big (an xor under an if,
// no select), the speed policy's by a select; both compute what the
// simulator does.
func TestIsqrtForms(t *testing.T) {
	for _, policy := range []string{"size", "speed"} {
		p := load(t, "../examples/mlp-random.tf")
		f, err := lir.LowerWith(p, lir.LowerOptionsFor(policy))
		require.NoError(t, err)
		require.NoError(t, lir.Compile(f, lir.Options{Policy: policy}))
		var xors, selects int
		var bodies [][]*lir.Node
		for _, b := range f.Bodies() {
			bodies = append(bodies, *b)
		}
		for _, b := range bodies {
			lir.Walk(b, func(n *lir.Node) {
				squares := false // the root's loop (unrolled at -O2)
				lir.Walk(n.Body, func(x *lir.Node) { squares = squares || x.Kind == lir.NInst && x.Inst.Op == lir.OpMulWideU })
				if n.Kind != lir.NLoop || !squares {
					return
				}
				lir.Walk(n.Body, func(x *lir.Node) {
					if x.Kind == lir.NIf {
						for _, y := range x.Then {
							if y.Kind == lir.NInst && y.Inst.Op == lir.OpXor {
								xors++
							}
						}
					}
					if x.Kind == lir.NInst && x.Inst.Op == lir.OpSelect {
						selects++
					}
				})
			})
		}
		if policy == "size" {
			assert.NotZero(t, xors, policy)
			assert.Zero(t, selects, policy)
		} else {
			assert.Zero(t, xors, policy)
			assert.NotZero(t, selects, policy)
		}
		compare(t, "mlp-random/isqrt-"+policy, p, f, 2)
	}
}
