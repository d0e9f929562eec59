package codegen_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A segmented proc's pointer that every call passes as a multiple of 4
// in its data is known aligned (regalloc.Item.Aligned), through the
// push and pop around its inner loop, so that lodsd steps it (1 byte,
// where add si, 4 takes 3): mlp-random's matmul procedure, its output.
// In the flat model the step needed no alignment. The images boot equal
// to tfc sim (TestMatrix).
func TestProcStepsAlignedArgs(t *testing.T) {
	body := procBody(t, segmentedListing(t, "mlp-random"), "proc1")
	assert.Regexp(t, `\n\s+mov dword \[si\], eax\n(.*\n)?\s+lodsd\n\s+dec word \[0x[0-9a-f]+\]\n`, body)
	assert.NotContains(t, body, "add si, 0x4")
}
