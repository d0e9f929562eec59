package lir

import (
	"testing"

	"github.com/stretchr/testify/require"

	"tfc/ir"
	"tfc/op"
)

// normInv's one 64/32 division equals ir.NormInv where its quotient is
// largest (ss = 0: r = isqrt(eps)) and elsewhere, for epsilons down to
// the smallest the checks allow (2^-32), where NormInvBits takes fewer
// bits: the interpreter reports a BUG if a quotient left 32 bits.
func TestNormInvOneDivision(t *testing.T) {
	for _, eps := range []float64{0x1p-32, 1e-9, 1e-6, 1e-5, 0.1, 1} {
		for _, ss := range []uint64{0, 1, 1 << 20, 1 << 40, 1<<62 - 1} {
			f := &Func{}
			lw := &lowerer{f: f}
			lw.b = builder{f: f, cur: &f.Body}
			s := lw.b.c64(int64(ss + 64*(ir.EpsQ(eps)+1))) // as normSum starts it
			inv, bits := lw.normInv(&ir.Op{Opts: op.Opts{"eps": eps}}, s, 64)
			m := testMachine(f, nil)
			m.run(f.Body)
			epsQ := ir.EpsQ(eps)
			require.Equal(t, int64(ir.NormInv(ss, 64, epsQ, ir.NormInvBits(epsQ))), m.regs[inv], "eps %g, ss %d", eps, ss)
			require.Equal(t, ir.NormInvBits(epsQ), bits)
		}
	}
}
