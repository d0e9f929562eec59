package lir_test

import (
	"strings"
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

// Segmented, a proc reaches what it is passed through the segment the
// buffer lies in (a BufSegment), at the offset its caller computes: units
// join a proc only where their buffers share segments. Here rms_final
// lies in a segment of its own, so the final norm is no call of the
// layers' norms' proc; the procs still compute what the simulator does.
func TestOutlineSegmented(t *testing.T) {
	p := load(t, "../examples/mlp-random.tf")
	f, err := lir.Lower(p)
	require.NoError(t, err)
	f.Segmented, f.Segment = true, map[*lir.Buf]int{}
	for _, b := range f.Bufs {
		switch {
		case b.Name == "rms_final":
			f.Segment[b] = 3
		case b.Kind == lir.BufParam && b.PerLayer:
			f.Segment[b] = 2
		default:
			f.Segment[b] = 1
		}
	}
	require.NoError(t, lir.Compile(f, lir.Options{Policy: "size"}))
	require.NotEmpty(t, f.Procs)
	segments := 0
	norms, finalNorm := 0, false
	var layerNorm *lir.Proc
	lir.Walk(f.Body, func(n *lir.Node) {
		if n.Kind == lir.NOp && strings.HasPrefix(n.Note, "rmsnorm") {
			norms++
			lir.Walk(n.Body, func(c *lir.Node) {
				if c.Kind == lir.NCall {
					finalNorm = finalNorm || n.Note == "rmsnorm x"
					layerNorm = c.Proc
				}
			})
		}
	})
	require.Equal(t, 3, norms, "norms (the layer's two and the final)")
	assert.False(t, finalNorm, "the final norm calls a proc")
	require.NotNil(t, layerNorm, "the layer's norms call a proc")
	assert.Equal(t, 2, layerNorm.Calls, "calls of the layer's norms' proc")
	for _, pr := range f.Procs {
		lir.Walk(pr.Body, func(n *lir.Node) {
			if n.Kind != lir.NInst || (n.Inst.Op != lir.OpLoad && n.Inst.Op != lir.OpStore) {
				return
			}
			m := n.Inst.Mem
			require.NotNil(t, m.Buf, "%s: %v", pr.Name, n.Inst)
			if m.Buf.Kind == lir.BufSegment {
				segments++
				assert.Equal(t, f.Segment[m.Buf.Of.(*lir.Buf)], f.Segment[m.Buf], "%s: %v: segment", pr.Name, n.Inst)
			}
		})
	}
	assert.NotZero(t, segments, "accesses through a segment")
	compare(t, "mlp-random/segmented", p, f, 4)
}
