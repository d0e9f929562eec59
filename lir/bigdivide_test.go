package lir

import (
	"math/bits"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The arithmetic of bigDivide, step for step in Go: for a divisor of 2^32
// or more (at most 2^42: a context of 2^20 positions) and a quotient below
// 2^31, the estimate and three correction steps give the exact quotient.
func TestBigDivideSteps(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	worst := 0
	for i := 0; i < 200000; i++ {
		sum := uint64(1)<<32 + r.Uint64N(1<<42-1<<32)
		if i%4 == 0 {
			sum = uint64(1)<<32 + r.Uint64N(64) // just past 32 bits
		}
		q := r.Uint64N(1 << 31)
		hi, mag := bits.Mul64(q, sum)
		if hi != 0 || mag > 1<<63-1 {
			continue
		}
		mag += r.Uint64N(sum) // any remainder
		sh := uint(0)
		for k := uint(0); k < 33; k++ {
			if sum>>(k+31) != 0 {
				sh++
			}
		}
		d := uint32(sum>>sh) + 1
		est := uint32((mag >> sh) / uint64(d))
		rem := mag - uint64(est)*sum
		steps := 0
		for rem >= sum {
			est++
			rem -= sum
			steps++
		}
		worst = max(worst, steps)
		require.Equal(t, mag/sum, uint64(est), "mag %d / sum %d", mag, sum)
	}
	assert.LessOrEqual(t, worst, 3, "correction steps needed; bigDivide takes 3")
}
