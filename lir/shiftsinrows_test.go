package lir_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/lir"
)

// Lowered for the size policy, a cache keeps each head's shift in the
// byte after its values (no buffer of shifts): mlp-random's rows hold
// 2·4 heads of 8 int16 values and a byte. Segmented, attention then
// reads a key's shift through the pointer that read the key, where the
// dot product's loop leaves it, and the store stores it through the
// pointer that stored the head's values. Both lowerings compute what the
// simulator does (TestExamplesEqualSimulator, TestExamplesCompiledEqualSimulator).
func TestShiftsInRows(t *testing.T) {
	p := load(t, "../examples/mlp-random.tf")
	for _, policy := range []string{"speed", "size"} {
		f, err := lir.LowerWith(p, lir.LowerOptionsFor(policy))
		require.NoError(t, err)
		var rows, shifts *lir.Buf
		for _, b := range f.Bufs {
			switch b.Kind {
			case lir.BufCache:
				rows = b
			case lir.BufCacheShifts:
				shifts = b
			}
		}
		require.NotNil(t, rows, policy)
		c := p.Caches[0]
		if policy == "size" {
			assert.Nil(t, shifts, "size: a buffer of shifts")
			assert.Equal(t, int64(c.Context*2*c.Heads()*(c.HeadDim*c.Bits/8+1)), rows.Size, "size: rows")
		} else {
			assert.NotNil(t, shifts, "speed: the buffer of shifts")
			assert.Equal(t, int64(c.Context*2*c.Width*c.Bits/8), rows.Size, "speed: rows")
		}
	}
	f := segmented(t, p, func(b *lir.Buf, i int) int {
		if b.Kind == lir.BufParam && b.PerLayer {
			return 2
		}
		return 1
	})
	// A byte load or store of the rows after a loop that steps its
	// base register, in the same body.
	through := map[string]int{}
	lir.Walk(f.Body, func(op *lir.Node) {
		if op.Kind != lir.NOp {
			return
		}
		name := strings.Fields(op.Note)[0]
		lir.Walk(op.Body, func(outer *lir.Node) {
			stepped := map[lir.Reg]bool{}
			for _, x := range outer.Body {
				if x.Kind == lir.NLoop {
					for _, y := range x.Body {
						if y.Kind == lir.NInst && y.Inst.Op == lir.OpAdd && y.Inst.Dst == y.Inst.A {
							stepped[y.Inst.Dst] = true
						}
					}
					continue
				}
				m := x.Inst.Mem
				if x.Kind == lir.NInst && (x.Inst.Op == lir.OpLoad || x.Inst.Op == lir.OpStore) && m.Buf != nil &&
					m.Buf.Kind == lir.BufCache && m.Width == 1 && m.Index == lir.NoReg && stepped[m.Base] {
					through[name]++
				}
			}
		})
	})
	assert.Equal(t, map[string]int{"attention": 1, "store": 1}, through, "shifts through the head's pointer\n%s", f)
}
