package lir_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/lir"
)

// Strength reduction in the size policy's matmul procedure: the row's
// weights are read through a pointer that the column loop steps, which
// the row loop steps by the row's stride, so no multiply of the row's
// index is left; the procedures still compute what the simulator does.
func TestStrengthReduction(t *testing.T) {
	p, f := sizePolicy(t, "../examples/mlp-random.tf")
	var matmul *lir.Proc
	for _, pr := range f.Procs {
		if matmul == nil || pr.Calls > matmul.Calls {
			matmul = pr
		}
	}
	require.NotNil(t, matmul)
	muls, stepped := 0, 0
	lir.Walk(matmul.Body, func(n *lir.Node) {
		if n.Kind == lir.NInst && n.Inst.Op == lir.OpMul {
			muls++
		}
		if n.Kind != lir.NLoop {
			return
		}
		steps := map[lir.Reg]bool{} // registers the loop adds to itself
		for _, x := range n.Body {
			if x.Kind == lir.NInst && x.Inst.Op == lir.OpAdd && x.Inst.Dst == x.Inst.A {
				steps[x.Inst.Dst] = true
			}
		}
		for _, x := range n.Body {
			if x.Kind == lir.NInst && x.Inst.Op == lir.OpLoad && x.Inst.Mem.Width == 2 {
				assert.True(t, steps[x.Inst.Mem.Base], "%s: %v: a weight not through a pointer the loop steps", matmul.Name, x.Inst)
				assert.Equal(t, lir.NoReg, x.Inst.Mem.Index, "%s: %v", matmul.Name, x.Inst)
				stepped++
			}
		}
	})
	assert.Zero(t, muls, "%s: multiplies", matmul.Name)
	assert.NotZero(t, stepped, "%s: weights read in a loop", matmul.Name)
	compare(t, "mlp-random/strength", p, f, 4)
}

// An outer loop steps the pointer that strength gave an inner loop, as
// the pointers it gives its own addresses: rope's head loop no longer
// computes the head's offset from its index (the inner loop's address
// computations, dead but not yet removed, do not count as its readers),
// and the vector's pointer, which the pair loop leaves at the next
// head, is set once before it.
func TestStrengthSteppedInnerPointer(t *testing.T) {
	// (Before collapse, which makes rope's nest one loop.)
	p := load(t, "../examples/mlp-random.tf")
	f, err := lir.LowerWith(p, lir.LowerOptionsFor("size"))
	require.NoError(t, err)
	require.NoError(t, lir.Compile(f, lir.Options{Policy: "size", Stop: "lir.dceaddr"}))
	var rope *lir.Proc
	for _, pr := range f.Procs {
		lir.Walk(pr.Body, func(n *lir.Node) {
			if n.Kind == lir.NInst && (n.Inst.Op == lir.OpMulWide || n.Inst.Op == lir.OpMac2) {
				for _, m := range pr.Body {
					if m.Kind == lir.NLoop && slices.ContainsFunc(m.Body, func(x *lir.Node) bool { return x.Kind == lir.NLoop }) {
						rope = pr
					}
				}
			}
		})
	}
	require.NotNil(t, rope, "a procedure of nested loops with products")
	for _, n := range rope.Body {
		if n.Kind != lir.NLoop {
			continue
		}
		// The vector's pointer continues from head to head: the pair
		// loop's steps leave it at the next head, so the head loop sets
		// it nowhere (the table's pointer starts again each head).
		continues := 0
		for _, in := range n.Body {
			if in.Kind != lir.NLoop {
				continue
			}
			for _, x := range in.Body {
				if x.Kind == lir.NInst && x.Inst.Op == lir.OpAdd && x.Inst.Dst == x.Inst.A &&
					!slices.ContainsFunc(n.Body, func(y *lir.Node) bool { return y.Kind == lir.NInst && y.Inst.Dst == x.Inst.Dst }) {
					continues++
				}
			}
		}
		assert.Equal(t, 1, continues, "%s: pointers the head loop does not set", rope.Name)
		lir.Walk(n.Body, func(x *lir.Node) {
			if x.Kind == lir.NInst {
				assert.NotContains(t, x.Inst.Reads(), n.Index, "%s: %v reads the head loop's index", rope.Name, x.Inst)
			}
		})
	}
	compare(t, "mlp-random/strength-rope", p, f, 4)
}

// An address of a base register and the loop's index scaled, which a
// 16-bit address cannot hold (the 32-bit form's prefix and SIB byte),
// is read through a pointer where nothing else reads the index: the
// matmul procedure stores each row's result, and reads the vector,
// through pointers its loops step, and no access in it has a scaled
// index (llama2-int8.tf, whose weights are bytes).
func TestStrengthScaledIndex(t *testing.T) {
	p, f := sizePolicy(t, "../examples/llama2-int8.tf")
	procs := opCalls(f, "matmul")
	require.NotEmpty(t, procs)
	stores := 0
	lir.Walk(procs[0].Body, func(n *lir.Node) {
		if n.Kind != lir.NInst {
			return
		}
		if m := n.Inst.Mem; n.Inst.Op == lir.OpLoad || n.Inst.Op == lir.OpStore {
			assert.False(t, m.Index != lir.NoReg && m.Scale > 1, "%s: %v: a scaled index", procs[0].Name, n.Inst)
		}
		if n.Inst.Op == lir.OpStore {
			stores++
			assert.Equal(t, lir.NoReg, n.Inst.Mem.Index, "%s: %v", procs[0].Name, n.Inst)
		}
	})
	assert.Equal(t, 1, stores, "%s: the row's store", procs[0].Name)
	compare(t, "llama2-int8/strength", p, f, 2)
}
