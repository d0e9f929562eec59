package lir_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/lir"
)

// A matmul reads its weights row after row through one pointer, which
// its column loop steps and no row offset sets again: the row's
// multiplier, stored after its weights, is read where that loop leaves
// the pointer, and the next row starts 4 bytes on. Outlined, the
// procedure takes no row stride, nor the multipliers' place apart from
// the weights' (it starts the pointer at the one param it is passed),
// flat and segmented. It computes what the simulator does.
func TestRowsPointer(t *testing.T) {
	p, flat := sizePolicy(t, "../examples/mlp-random.tf")
	seg := segmented(t, load(t, "../examples/mlp-random.tf"), func(b *lir.Buf, i int) int {
		if b.Kind == lir.BufParam && b.PerLayer {
			return 2
		}
		return 1
	})
	for name, f := range map[string]*lir.Func{"flat": flat, "segmented": seg} {
		procs := opCalls(f, "matmul")
		require.NotEmpty(t, procs, name)
		pr := procs[0]
		for _, c := range procs {
			require.Same(t, pr, c, "%s: the matmuls' proc", name)
		}
		param := map[lir.Reg]bool{}
		for _, r := range pr.Params {
			param[r] = true
		}
		var outer *lir.Node
		for _, n := range pr.Body {
			if n.Kind == lir.NLoop {
				outer = n
			}
		}
		require.NotNil(t, outer, "%s: the row loop", name)
		// The pointer: set once from a param before the row loop, the
		// weights and the multiplier read through it alone.
		// (The result's pointer is set from a param too: a store's.)
		ptrs := map[lir.Reg]bool{}
		for _, n := range pr.Body {
			if n.Kind == lir.NInst && n.Inst.Op == lir.OpCopy && param[n.Inst.A] {
				ptrs[n.Inst.Dst] = true
			}
		}
		require.NotEmpty(t, ptrs, "%s: no pointer set from a param\n%s", name, f)
		var weights, mult int
		for _, n := range outer.Body {
			lir.Walk([]*lir.Node{n}, func(x *lir.Node) {
				if x.Kind == lir.NInst && x.Inst.Op == lir.OpLoad && ptrs[x.Inst.Mem.Base] {
					assert.Equal(t, lir.NoReg, x.Inst.Mem.Index, "%s: %v", name, x.Inst)
					if n.Kind == lir.NLoop {
						weights++
					} else {
						mult++
					}
				}
			})
		}
		assert.Equal(t, 1, weights, "%s: weight loads through the pointer in the column loop\n%s", name, f)
		assert.Equal(t, 1, mult, "%s: multiplier loads through the pointer after it\n%s", name, f)
		assert.Len(t, pr.Params, map[string]int{"flat": 5, "segmented": 6}[name],
			"%s: params (rows, columns, weights, [their segment,] the vector and the result)\n%s", name, f)
	}
	equalCompiled(t, "mlp-random", p, 4)
}

// An inner loop's pointer that would not pay on its own continues too:
// attention's scores read each position's key through one pointer that
// the dot product's loop steps and the positions' loop only moves on (no
// row offset computed a position), segmented and flat. One that does not
// continue goes: the store reads the head of k it quantizes by index.
func TestRowsContinuesKeys(t *testing.T) {
	p := load(t, "../examples/mlp-random.tf")
	seg := segmented(t, p, func(b *lir.Buf, i int) int {
		if b.Kind == lir.BufParam && b.PerLayer {
			return 2
		}
		return 1
	})
	_, flat := sizePolicy(t, "../examples/mlp-random.tf")
	for name, f := range map[string]*lir.Func{"segmented": seg, "flat": flat} {
		continues := 0
		lir.Walk(f.Body, func(op *lir.Node) {
			if op.Kind != lir.NOp || !strings.HasPrefix(op.Note, "attention ") {
				return
			}
			lir.Walk(op.Body, func(outer *lir.Node) {
				if outer.Kind != lir.NLoop {
					return
				}
				for _, inner := range outer.Body {
					if inner.Kind != lir.NLoop {
						continue
					}
					for _, x := range inner.Body {
						m := x.Inst.Mem
						if x.Kind != lir.NInst || x.Inst.Op != lir.OpLoad || m.Buf == nil || m.Buf.Name != "kv.kv" ||
							m.Base == lir.NoReg || m.Index != lir.NoReg {
							continue
						}
						// The outer loop only steps the pointer.
						steps, sets := 0, 0
						for _, y := range outer.Body {
							if y.Kind == lir.NInst && y.Inst.Dst == m.Base {
								if y.Inst.Op == lir.OpAdd && y.Inst.A == m.Base {
									steps++
								} else {
									sets++
								}
							}
						}
						if steps == 1 && sets == 0 {
							continues++
						}
					}
				}
			})
		})
		assert.Equal(t, 1, continues, "%s: keys read through a pointer that runs on\n%s", name, f)
		byIndex, loads := 0, 0
		lir.Walk(f.Body, func(op *lir.Node) {
			if op.Kind != lir.NOp || !strings.HasPrefix(op.Note, "store ") {
				return
			}
			lir.Walk(op.Body, func(x *lir.Node) {
				if x.Kind == lir.NInst && x.Inst.Op == lir.OpLoad && x.Inst.Mem.Buf != nil && x.Inst.Mem.Buf.Activation() {
					loads++
					if x.Inst.Mem.Index != lir.NoReg {
						byIndex++
					}
				}
			})
		})
		assert.NotZero(t, loads, "%s: the store's loads of k", name)
		assert.Equal(t, loads, byIndex, "%s: the store's loads of k by index\n%s", name, f)
	}
	equalCompiled(t, "mlp-random", p, 4)
}
