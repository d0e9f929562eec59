package codegen_test

import (
	"context"
	"testing"
	"time"

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
	if err != nil {
		t.Fatal(err)
	}
	if _, err := codegen.Build(p, []int{ir.BOS}, 8, codegen.Options{March: "sse2"}); err == nil {
		t.Error("-Os -march sse2 built")
	}
	im, err := codegen.Build(p, []int{ir.BOS}, 8, codegen.Options{Opt: "2", March: "sse2"})
	if err != nil {
		t.Fatal(err)
	}
	dots := 0
	for _, pl := range im.Main.Placed() {
		if pl.Inst.Op == x86.PMADDWD {
			dots++
		}
	}
	if dots == 0 {
		t.Fatal("no pmaddwd in the code")
	}
	if !qemu.Available() {
		t.Skip("SKIPPED: qemu-system-i386 is not installed (make deps)")
	}
	for _, cpu := range []string{"486", "pentium3"} {
		res, err := qemu.BootBytes(context.Background(), im.Bytes, qemu.Options{Timeout: time.Minute, CPU: cpu})
		if err != nil {
			t.Fatal(err)
		}
		if string(res.Serial) != "needs SSE2\n" || res.ExitCode != 2 {
			t.Errorf("-cpu %s: exit %d, COM1 %q", cpu, res.ExitCode, res.Serial)
		}
	}
}
