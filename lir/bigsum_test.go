package lir_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"tfc/difftest"
	"tfc/ir"
	"tfc/lir"
)

// Attention over more than 1023 positions of equal scores: from position
// 1024 on its sum of softmax weights passes 32 bits, and the loop code
// divides by it in two steps (lowerer.bigDivide), as exactly as the
// simulator.
func TestAttentionSumPast32Bits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bigsum.tf")
	src := difftest.BigSumSource()
	require.NoError(t, os.WriteFile(path, []byte(src), 0o644))
	p := load(t, path)
	equalRuns(t, "bigsum", p, 1100)
	compiled(t, "bigsum/speed", p, 1100, "speed", nil)
}

// Where the context holds at most ir.MaxSoftmaxTerms positions, the sum
// of softmax weights is 32 bits (its half a 32-bit shift); past that, 64.
func TestAttentionSumWidth(t *testing.T) {
	halves := func(p *ir.Program) (narrow, wide int) {
		f, err := lir.Lower(p)
		require.NoError(t, err)
		lir.Walk(f.Body, func(n *lir.Node) {
			if n.Kind != lir.NOp || !strings.HasPrefix(n.Note, "attention") {
				return
			}
			lir.Walk(oneForm(n), func(x *lir.Node) {
				if x.Kind == lir.NInst && x.Inst.Op == lir.OpShrI && x.Inst.Imm == 1 {
					if f.Types[x.Inst.Dst] == lir.I64 {
						wide++
					} else {
						narrow++
					}
				}
			})
		})
		return narrow, wide
	}
	narrow, wide := halves(load(t, "../examples/mlp-random.tf"))
	require.GreaterOrEqual(t, narrow, 1, "mlp-random: 32-bit halves (the sum's; a head's kv head too)")
	require.Zero(t, wide, "mlp-random: 64-bit halves")
	path := filepath.Join(t.TempDir(), "bigsum.tf")
	require.NoError(t, os.WriteFile(path, []byte(difftest.BigSumSource()), 0o644))
	_, wide = halves(load(t, path))
	require.Equal(t, 1, wide, "bigsum: 64-bit halves")
}
