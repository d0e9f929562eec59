package codegen_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tfc/codegen"
	"tfc/frontend"
	"tfc/ir"
)

// -Os falls back to the loop code generator, and says why, when the small one
// cannot take the model: here a context of 1024 makes the RoPE table too
// large to sit beside the code below 64 KiB. The image is still right.
func TestSmallFallsBackWhenTablesDoNotFit(t *testing.T) {
	src, err := os.ReadFile(path("gelu-random"))
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Replace(string(src), "context  = 128", "context  = 1024", 1)
	big = strings.Replace(big, "steps  = 64", "steps  = 12", 1)
	if big == string(src) {
		t.Fatal("the example changed: no context line to edit")
	}
	f := filepath.Join(t.TempDir(), "bigctx.tf")
	if err := os.WriteFile(f, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := frontend.LoadFile(f, ir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	im, err := codegen.Build(p, []int{1}, p.Gen.Steps, codegen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if im.Generator != "loop" || !strings.Contains(im.Note, "tables") {
		t.Errorf("generator %q, note %q; want the loop one, because of the tables", im.Generator, im.Note)
	}
	res := boot(t, im.Bytes)
	if want := simulate(t, p); string(res.Serial) != want {
		t.Errorf("QEMU printed %q, the simulator %q", res.Serial, want)
	}
}

// The small generator is -Os's, and the default, for the examples it can
// take (mha-random, which samples, too).
func TestSmallIsTheDefault(t *testing.T) {
	for _, name := range []string{"gelu-random", "mlp-random", "untied-random", "mha-random"} {
		_, im := build(t, path(name), "")
		if im.Generator != "small" || im.Note != "" {
			t.Errorf("%s: generator %q (%s)", name, im.Generator, im.Note)
		}
	}
}
