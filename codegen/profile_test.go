package codegen_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tfc/codegen"
	"tfc/frontend"
	"tfc/ir"
	"tfc/qemu"
)

// A profile build reports each op's share of the generation, exact under
// -icount: every op of the forward pass appears, the layer block's once a
// layer; the counts add up to at most the total; matmuls and attention get
// a figure per multiply-accumulate.
func TestProfile(t *testing.T) {
	if !qemu.Available() {
		t.Skip("SKIPPED: qemu-system-i386 is not installed (make deps)")
	}
	p, err := frontend.LoadFile(path("gelu-random"), ir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const steps = 6
	prompt, _ := p.PromptTokens()
	im, err := codegen.Build(p, prompt, steps, codegen.Options{Opt: "2", Gen: "loop", Profile: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := len(p.Blocks[ir.PreBlock]) + p.Layers*0 + len(p.Blocks[ir.PostBlock]); len(im.ProfileNames) < want {
		t.Fatalf("%d profiled ops, want at least %d: %v", len(im.ProfileNames), want, im.ProfileNames)
	}
	dir := t.TempDir()
	img, dc := filepath.Join(dir, "a.img"), filepath.Join(dir, "debugcon")
	if err := os.WriteFile(img, im.Bytes, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := qemu.Boot(context.Background(), img, qemu.Options{Timeout: time.Minute, Debugcon: dc, Icount: true})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("boot: %v, exit %d", err, res.ExitCode)
	}
	raw, err := os.ReadFile(dc)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := codegen.ParseProfile(raw, im, p)
	if err != nil {
		t.Fatal(err)
	}
	if pr.Steps != steps {
		t.Errorf("%d steps, want %d", pr.Steps, steps)
	}
	var sum uint64
	matmuls := 0
	for _, o := range pr.Ops {
		if o.Count == 0 {
			t.Errorf("%s: no instructions", o.Name)
		}
		sum += o.Count
		if strings.HasPrefix(o.Name, "matmul") {
			matmuls++
			if o.MACs == 0 {
				t.Errorf("%s: no multiply-accumulates", o.Name)
			}
		}
	}
	if sum > pr.Total || matmuls == 0 {
		t.Errorf("ops sum to %d of %d; %d matmuls", sum, pr.Total, matmuls)
	}
	var out strings.Builder
	pr.Print(&out)
	if !strings.Contains(out.String(), "total over 6 tokens") {
		t.Errorf("report:\n%s", out.String())
	}
	t.Log("\n" + out.String())
}
