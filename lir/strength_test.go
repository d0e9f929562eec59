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
	p, f := sizePolicy(t, "../examples/mlp-random.tf")
	var rope *lir.Proc
	for _, pr := range f.Procs {
		lir.Walk(pr.Body, func(n *lir.Node) {
			if n.Kind == lir.NInst && n.Inst.Op == lir.OpMulWide {
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
