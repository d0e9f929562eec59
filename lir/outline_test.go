package lir_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/ir"
	"tfc/lir"
)

// A loop count that the outlined calls pass (a matmul's rows and
// columns) is at least 1 in every call, so the procedure's loop is Once:
// no test before its first pass. The procedures still compute what the
// simulator does (equalCompiled, the size policy).
func TestOutlinedCountsRunOnce(t *testing.T) {
	p, f := sizePolicy(t, "../examples/mlp-random.tf")
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

// Segmented, a proc reaches a buffer it is passed through a segment: the
// one its buffers lie in, in every call (a BufSegment of that segment),
// or else one each call passes (OpSeg's value, in a param). Here
// rms_final lies in a segment of its own, so the norms' proc is passed
// its weight's segment, and reaches x and the result in the activations'
// segment (x, the same buffer in every call, by its name). The procs compute what the simulator does.
func TestOutlineSegmented(t *testing.T) {
	p := load(t, "../examples/mlp-random.tf")
	f := segmented(t, p, func(b *lir.Buf, i int) int {
		switch {
		case b.Name == "rms_final":
			return 3
		case b.Kind == lir.BufParam && b.PerLayer:
			return 2
		}
		return 1
	})
	norms := normCalls(f)
	require.Len(t, norms, 3, "norms (the layer's two and the final)")
	pr := norms[0]
	for _, c := range norms {
		require.NotNil(t, c, "a norm calls no proc")
		assert.Same(t, pr, c, "the norms' proc")
	}
	isParam := map[lir.Reg]bool{}
	for _, r := range pr.Params {
		isParam[r] = true
	}
	passed, fixed := 0, 0
	lir.Walk(pr.Body, func(n *lir.Node) {
		if n.Kind != lir.NInst || (n.Inst.Op != lir.OpLoad && n.Inst.Op != lir.OpStore) {
			return
		}
		b := n.Inst.Mem.Buf
		require.NotNil(t, b, "%v", n.Inst)
		if of, ok := b.Of.(lir.Reg); ok && b.Kind == lir.BufSegment {
			assert.True(t, isParam[of], "%v: a segment in a register that is no param", n.Inst)
			passed++
			return
		}
		if b.Kind == lir.BufSegment {
			b = b.Of.(*lir.Buf)
		}
		assert.Equal(t, 1, f.Segment[b], "%v: the activations' segment", n.Inst)
		fixed++
	})
	assert.NotZero(t, passed, "accesses through a segment passed")
	assert.NotZero(t, fixed, "accesses through the activations' segment")
	compare(t, "mlp-random/segmented", p, f, 4)
}

// A proc needs a segment register for each segment it reaches, and there
// are three (es, fs, gs): with every buffer in a segment of its own, a
// layernorm's x, gain, bias and result would need four, so the layernorms
// call no proc; with the buffers together, they do.
func TestOutlineSegmentLimit(t *testing.T) {
	p := load(t, "../examples/gpt2-random.tf")
	apart := segmented(t, p, func(b *lir.Buf, i int) int { return i + 1 })
	for _, c := range layernormCalls(apart) {
		assert.Nil(t, c, "a layernorm calls a proc, its buffers apart")
	}
	together := segmented(t, p, func(b *lir.Buf, i int) int { return 1 })
	for _, c := range layernormCalls(together) {
		assert.NotNil(t, c, "a layernorm calls no proc, its buffers together")
	}
	compare(t, "gpt2-random/segmented", p, apart, 3)
}

// sizePolicy loads the program at path, lowers it and compiles it with
// the size policy.
func sizePolicy(t *testing.T, path string) (*ir.Program, *lir.Func) {
	t.Helper()
	p := load(t, path)
	f, err := lir.LowerWith(p, lir.LowerOptionsFor("size"))
	require.NoError(t, err)
	require.NoError(t, lir.Compile(f, lir.Options{Policy: "size"}))
	return p, f
}

// segmented lowers p as a segmented function, each buffer in the segment
// seg numbers, and compiles it with the size policy.
func segmented(t *testing.T, p *ir.Program, seg func(b *lir.Buf, i int) int) *lir.Func {
	t.Helper()
	f, err := lir.LowerWith(p, lir.LowerOptionsFor("size"))
	require.NoError(t, err)
	f.Segmented, f.Segment = true, map[*lir.Buf]int{}
	for i, b := range f.Bufs {
		f.Segment[b] = seg(b, i)
	}
	require.NoError(t, lir.Compile(f, lir.Options{Policy: "size"}))
	require.NotEmpty(t, f.Procs)
	return f
}

// normCalls and layernormCalls are the proc each rmsnorm or layernorm op
// calls, nil where it calls none, in order.
func normCalls(f *lir.Func) []*lir.Proc      { return opCalls(f, "rmsnorm") }
func layernormCalls(f *lir.Func) []*lir.Proc { return opCalls(f, "layernorm") }

func opCalls(f *lir.Func, op string) []*lir.Proc {
	var calls []*lir.Proc
	lir.Walk(f.Body, func(n *lir.Node) {
		if n.Kind != lir.NOp || !strings.HasPrefix(n.Note, op+" ") {
			return
		}
		var pr *lir.Proc
		lir.Walk(n.Body, func(c *lir.Node) {
			if c.Kind == lir.NCall {
				pr = c.Proc
			}
		})
		calls = append(calls, pr)
	})
	return calls
}

// The size policy's passes give the same Func each time (the outliner
// replaced its call sites in a map's order, numbering the registers it
// made in that order: -d dumps differed from run to run).
func TestCompileRepeats(t *testing.T) {
	p := load(t, "../examples/mlp-random.tf")
	var first string
	for run := range 8 {
		f, err := lir.Lower(p)
		require.NoError(t, err)
		require.NoError(t, lir.Compile(f, lir.Options{Policy: "size"}))
		if run == 0 {
			first = f.String()
			continue
		}
		require.Equal(t, first, f.String(), "run %d", run)
	}
}
