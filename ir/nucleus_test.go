package ir

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// The nucleus found by bisection is the nucleus of the definition (every
// token against every other), for weights with many ties and without.
func TestNucleusEqualsDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 3000; trial++ {
		n := 1 + r.IntN(60)
		e := make([]uint64, n)
		levels := 1 + r.IntN(8)
		for i := range e {
			switch trial % 3 {
			case 0: // ties
				e[i] = uint64(r.IntN(levels)) * (1 << ExpBits / 8)
			case 1:
				e[i] = uint64(r.IntN(1<<ExpBits + 1))
			default: // small weights and zeros
				e[i] = uint64(r.IntN(4))
			}
		}
		e[r.IntN(n)] = 1 << ExpBits // the best token's weight
		var total uint64
		for _, w := range e {
			total += w
		}
		limit := uint64(r.IntN(1<<16+1)) * total >> 16
		// require: the first trial that differs is enough.
		require.Equal(t, NucleusByRank(e, limit), Nucleus(e, limit), "trial %d: weights %v, limit %d", trial, e, limit)
	}
}
