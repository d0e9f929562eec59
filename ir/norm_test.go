package ir

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// NormInv's root of the sum started at n·(eps+1), the largest whose
// square is below it, is isqrt(ss/n + eps) wherever the sum does not
// wrap: at the edges of the squares (r² − 1, r², r² + 1 times n) and
// far apart.
func TestNormInvIsTheMeanPlusEps(t *testing.T) {
	for _, eps := range []float64{0x1p-32, 1e-6, 1e-5, 1} {
		epsQ := EpsQ(eps)
		bits := NormInvBits(epsQ)
		for _, n := range []int{1, 3, 64, 288} {
			var sums []uint64
			for _, r := range []uint64{0, 1, 2, 1000, 1 << 20, 1<<31 - 1} {
				for _, d := range []int64{-1, 0, 1} {
					if v := int64(r*r) + d - int64(epsQ); v >= 0 {
						sums = append(sums, uint64(v)*uint64(n))
					}
				}
			}
			for _, ss := range append(sums, 0, 12345, 1<<40, math.MaxUint64/2) {
				if ss+uint64(n)*(epsQ+1) < ss {
					continue // the sum wraps
				}
				r := Isqrt(ss/uint64(n) + epsQ)
				want := (uint64(1)<<(FracBits+bits) + r/2) / r
				require.Equal(t, want, NormInv(ss, n, epsQ, bits), "eps %g, n %d, ss %d", eps, n, ss)
				require.False(t, NormFaults(ss, n, epsQ))
			}
		}
	}
}

// Where the sum wraps past 2^64 to below 2n, the generated code's root
// is 0 and its division faults: NormFaults says so, NormInv does not
// divide by 0, and the simulator reports an overflow.
func TestNormFaults(t *testing.T) {
	epsQ := EpsQ(1e-5)
	start := 64 * (epsQ + 1)
	ss := math.MaxUint64 - start + 1 // the sum is 0
	require.True(t, NormFaults(ss, 64, epsQ))
	require.True(t, NormFaults(ss+64+63, 64, epsQ)) // the sum over n is 1
	require.False(t, NormFaults(ss+128, 64, epsQ))  // 2
	require.NotPanics(t, func() { NormInv(ss, 64, epsQ, RMSInvBits) })
	s := &Sim{}
	s.normFaults(ss, 64, epsQ, &Op{Kind: RMSNorm})
	require.ErrorContains(t, s.Overflow, "root of 0")
}
