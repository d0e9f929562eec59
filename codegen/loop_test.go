package codegen_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/difftest"
	"tfc/qemu"
)

// Attention over more positions than the templates' 32-bit sum of softmax
// weights holds: -Os and -O2 take the loop code generator, which divides
// by a sum past 32 bits exactly (difftest.BigSumSource: 1100 positions of
// equal scores), and the image equals the simulator at every step.
func TestAttentionSumPast32BitsBoots(t *testing.T) {
	if !qemu.Available() {
		t.Skip("SKIPPED: qemu-system-i386 is not installed (make deps)")
	}
	t.Parallel()
	r := difftest.Run("bigsum", difftest.BigSumSource(), difftest.RunOptions{Timeout: 2 * time.Minute,
		Configs: []difftest.Config{{Opt: "s", Memory: "flat"}, {Opt: "2", Memory: "flat"}}})
	require.Empty(t, r.Rejected, "refused")
	for _, f := range r.Failures {
		assert.Fail(t, f.String())
	}
	assert.GreaterOrEqual(t, r.Tokens, 1025, "positions the simulator ran")
	for _, cr := range r.Configs {
		assert.Equal(t, "loop", cr.Generator, "%v: generator (built %v, booted %v)", cr.Config, cr.Built, cr.Booted)
		assert.True(t, cr.Booted, "%v: booted (built %v, %s)", cr.Config, cr.Built, cr.Generator)
	}
}
