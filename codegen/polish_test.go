package codegen_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A kernel chosen with its loops counting up to 0 is compared, its
// registers traded, with the one without them, traded too (finish's
// polish): mlp-random's norm procedure, segmented, counts si up from 0
// and steps it with lodsd (1 byte, where add di, 4 takes 3), its
// addresses then with no bias (+0x100: 2 bytes each). The images boot
// equal to tfc sim (TestMatrix).
func TestNormCountsUpWhereTraded(t *testing.T) {
	body := procBody(t, segmentedListing(t, "mlp-random"), "proc0")
	assert.Regexp(t, `\n\s+lodsd\n\s+cmp si, 0x100\n\s+jl short proc0\.loop\d+\n`, body)
	assert.NotContains(t, body, "+0x100]")
}
