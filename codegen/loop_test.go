package codegen_test

import (
	"testing"
	"time"

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
	if r.Rejected != "" {
		t.Fatalf("refused: %s", r.Rejected)
	}
	for _, f := range r.Failures {
		t.Error(f)
	}
	if r.Tokens < 1025 {
		t.Errorf("the simulator ran %d positions", r.Tokens)
	}
	for _, cr := range r.Configs {
		if !cr.Booted || cr.Generator != "loop" {
			t.Errorf("%v: built %v (%s), booted %v", cr.Config, cr.Built, cr.Generator, cr.Booted)
		}
	}
}
