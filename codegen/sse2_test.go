package codegen_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/codegen"
	x86 "tfc/codegen/x86_16"
	"tfc/frontend"
	"tfc/ir"
	"tfc/qemu"
)

// -march sse2: the matmul rows are pmaddwd's (TestLogitsBitForBit checks
// their logits bit for bit); a CPU without SSE2 (a 486, which has no
// CPUID either, and a Pentium III, which has SSE but not SSE2) gets the
// loader's message and exit code 2, before any SSE2 instruction runs.
func TestSSE2NeedsTheCPU(t *testing.T) {
	p, err := frontend.LoadFile(path("gelu-random"), ir.Options{})
	require.NoError(t, err)
	_, err = codegen.Build(p, []int{ir.BOS}, 8, codegen.Options{March: "sse2"})
	assert.Error(t, err, "-Os -march sse2 built")
	im, err := codegen.Build(p, []int{ir.BOS}, 8, codegen.Options{Opt: "2", March: "sse2"})
	require.NoError(t, err)
	dots := 0
	for _, pl := range im.Main.Placed() {
		if pl.Inst.Op == x86.PMADDWD {
			dots++
		}
	}
	require.NotZero(t, dots, "no pmaddwd in the code")
	if !qemu.Available() {
		t.Skip("SKIPPED: qemu-system-i386 is not installed (make deps)")
	}
	for _, cpu := range []string{"486", "pentium3"} {
		res, err := qemu.BootBytes(context.Background(), im.Bytes, qemu.Options{Timeout: time.Minute, CPU: cpu})
		require.NoError(t, err, "-cpu %s", cpu)
		assert.Equal(t, "needs SSE2\n", string(res.Serial), "-cpu %s: COM1, exit %d", cpu, res.ExitCode)
		assert.Equal(t, 2, res.ExitCode, "-cpu %s: exit code", cpu)
	}
}
