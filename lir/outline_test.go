package lir_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/lir"
)

// A loop count that the outlined calls pass (a matmul's rows and
// columns) is at least 1 in every call, so the procedure's loop is Once:
// no test before its first pass. The procedures still compute what the
// simulator does (equalCompiled, the size policy).
func TestOutlinedCountsRunOnce(t *testing.T) {
	p := load(t, "../examples/mlp-random.tf")
	f, err := lir.Lower(p)
	require.NoError(t, err)
	require.NoError(t, lir.Compile(f, lir.Options{Policy: "size"}))
	params, once := 0, 0
	for _, pr := range f.Procs {
		isParam := map[lir.Reg]bool{}
		for _, r := range pr.Params {
			isParam[r] = true
		}
		lir.Walk(pr.Body, func(n *lir.Node) {
			if n.Kind == lir.NLoop && isParam[n.Count] {
				params++
				if n.Once {
					once++
				}
			}
		})
	}
	assert.NotZero(t, params, "loops whose count is a procedure's argument")
	assert.Equal(t, params, once, "of them Once")
	equalCompiled(t, "mlp-random", p, 4)
}
