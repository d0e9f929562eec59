package codegen_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/codegen"
	x86 "tfc/codegen/x86_16"
	"tfc/difftest"
	"tfc/frontend"
	"tfc/ir"
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

// The loop generator runs each op's kernel where forward is, not as a
// subroutine: each op runs from one place. Calls remain for the size
// policy's procedures and the runtime.
func TestOpsRunInPlace(t *testing.T) {
	p, err := frontend.LoadFile(path("gelu-random"), ir.Options{})
	require.NoError(t, err)
	for _, o := range []codegen.Options{{Gen: "loop", Memory: "flat"}, {Opt: "2", Memory: "flat"}} {
		im, err := codegen.Build(p, []int{ir.BOS}, 8, o)
		require.NoError(t, err)
		calls := 0
		for _, pl := range im.Main.Placed() {
			if pl.Inst.Op != x86.CALL {
				continue
			}
			calls++
			if l, ok := pl.Inst.Args[0].(x86.Label); ok {
				assert.False(t, strings.HasPrefix(string(l), "op"), "%+v: call %s", o, l)
			}
		}
		assert.NotZero(t, calls, "%+v: no calls at all (the runtime's)", o)
	}
}

// The size policy outlines in the segmented model too: a proc reaches the
// buffers it is passed through their segments, which it loads at its
// entry. Its callers loaded theirs at their own entries and keep using
// them after the call, so a proc pushes each segment register it loads
// and pops them before it returns.
func TestSegmentedProcsKeepSegments(t *testing.T) {
	p, err := frontend.LoadFile(path("mlp-random"), ir.Options{})
	require.NoError(t, err)
	im, err := codegen.Build(p, []int{ir.BOS}, 8, codegen.Options{Gen: "loop", Memory: "segmented"})
	require.NoError(t, err)
	procs := 0
	var loaded, pushed, popped []string
	in := false
	for _, line := range strings.Split(im.Main.Listing(), "\n") {
		f := strings.Fields(strings.ReplaceAll(line, ",", ""))
		switch {
		case len(f) == 1 && strings.HasPrefix(f[0], "proc") && strings.HasSuffix(f[0], ":") && !strings.Contains(f[0], "."):
			in, procs = true, procs+1
			loaded, pushed, popped = nil, nil, nil
		case !in || len(f) == 0:
		case f[0] == "push" && len(f) == 2:
			pushed = append(pushed, f[1])
		case f[0] == "pop" && len(f) == 2:
			popped = append([]string{f[1]}, popped...) // reversed
		case f[0] == "mov" && len(f) > 1 && (f[1] == "es" || f[1] == "fs" || f[1] == "gs"):
			loaded = append(loaded, f[1])
		case f[0] == "ret":
			in = false
			assert.NotEmpty(t, loaded, "proc %d loads no segment", procs)
			assert.ElementsMatch(t, loaded, pushed, "proc %d: segments loaded, pushed", procs)
			assert.Equal(t, pushed, popped, "proc %d: pushed, popped in reverse", procs)
		}
	}
	assert.GreaterOrEqual(t, procs, 3, "procs")
}
