package lir_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/lir"
)

// With elementwise fusion (which the size policy tries), fuse runs each
// matmul that the residual add follows with the add, and addflag makes
// every matmul store through an if on a flag it sets first: 1 where the
// add was fused in, 0 elsewhere. Outline then makes all five one proc,
// each call passing its flag; the Func still computes what the
// simulator does. Without the fusion there is no adder, and no flag.
func TestAddFlag(t *testing.T) {
	p := load(t, "../examples/untied-random.tf")
	for _, fused := range []bool{false, true} {
		f, err := lir.LowerWith(p, lir.LowerOptionsFor("size"))
		require.NoError(t, err)
		f.FuseElementwise = fused
		require.NoError(t, lir.Compile(f, lir.Options{Policy: "size", Stop: "lir.addflag"}))
		flags := map[string]int64{}
		lir.Walk(f.Body, func(n *lir.Node) {
			if n.Kind != lir.NOp || !strings.HasPrefix(n.Note, "matmul") {
				return
			}
			flags[n.Note] = -1 // no if
			cond := lir.NoReg
			lir.Walk(n.Body, func(x *lir.Node) {
				if x.Kind == lir.NIf {
					cond = x.Cond
				}
			})
			lir.Walk(n.Body, func(x *lir.Node) {
				if x.Kind == lir.NInst && x.Inst.Op == lir.OpConst && x.Inst.Dst == cond {
					flags[n.Note] = x.Inst.Imm
				}
			})
		})
		require.NotEmpty(t, flags)
		adders := 0
		for note, flag := range flags {
			want := int64(0)
			if strings.Contains(note, "+ add") {
				want = 1
				adders++
			}
			if !fused {
				want = -1
			}
			assert.Equal(t, want, flag, "fused=%v: %s", fused, note)
		}
		if !fused {
			continue
		}
		assert.Equal(t, 2, adders, "matmuls with the residual add fused in")
		require.NoError(t, lir.Compile(f, lir.Options{Policy: "size"}))
		callers := map[*lir.Proc]int{}
		lir.Walk(f.Body, func(n *lir.Node) {
			if n.Kind == lir.NOp && strings.HasPrefix(n.Note, "matmul") {
				lir.Walk(n.Body, func(c *lir.Node) {
					if c.Kind == lir.NCall {
						callers[c.Proc]++
					}
				})
			}
		})
		assert.Len(t, callers, 1, "the matmuls' procs")
		for _, n := range callers {
			assert.Equal(t, len(flags), n, "calls of the matmuls' proc")
		}
		compare(t, "untied-random/fused", p, f, 3)
	}
}
