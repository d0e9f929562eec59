package codegen_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tfc/codegen"
	"tfc/ir"
	"tfc/qemu"
)

func build(t *testing.T, path, memory string) (*ir.Program, *codegen.Image) {
	t.Helper()
	p, err := ir.LoadFile(path, ir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	prompt, err := p.Tokenizer.Encode(p.Gen.Prompt, true, false)
	if err != nil {
		t.Fatal(err)
	}
	im, err := codegen.Build(p, prompt, p.Gen.Steps, codegen.Options{Memory: memory})
	if err != nil {
		t.Fatal(err)
	}
	return p, im
}

func simulate(t *testing.T, p *ir.Program) string {
	t.Helper()
	prompt, _ := p.Tokenizer.Encode(p.Gen.Prompt, true, false)
	var out bytes.Buffer
	if _, err := ir.Generate(ir.NewSim(p), p.Tokenizer, prompt, p.Gen.Steps, &out); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func boot(t *testing.T, img []byte) *qemu.Result {
	t.Helper()
	if !qemu.Available() {
		t.Skip("SKIPPED: qemu-system-i386 is not installed (make deps)")
	}
	res, err := qemu.BootBytes(context.Background(), img, qemu.Options{Timeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// examples are the random-weight examples, which need no model files.
var examples = []string{"gelu-random", "mha-random", "mlp-random", "untied-random"}

func path(name string) string { return filepath.Join("..", "examples", name+".tf") }

// Each memory model the model fits gives an image that prints what the
// simulator prints.
func TestMemoryModels(t *testing.T) {
	for _, name := range examples {
		for _, memory := range []string{"flat", "segmented"} {
			t.Run(name+"/"+memory, func(t *testing.T) {
				p, err := ir.LoadFile(path(name), ir.Options{})
				if err != nil {
					t.Fatal(err)
				}
				prompt, _ := p.Tokenizer.Encode(p.Gen.Prompt, true, false)
				im, err := codegen.Build(p, prompt, p.Gen.Steps, codegen.Options{Memory: memory})
				if err != nil {
					if memory == "segmented" && strings.Contains(err.Error(), "64 KiB segment") {
						t.Skipf("does not fit: %v", err)
					}
					t.Fatal(err)
				}
				if im.Memory != memory {
					t.Fatalf("built %s, asked for %s", im.Memory, memory)
				}
				res := boot(t, im.Bytes)
				if want := simulate(t, p); string(res.Serial) != want || res.ExitCode != 0 {
					t.Errorf("QEMU printed (exit %d):\n%q\nthe simulator:\n%q", res.ExitCode, res.Serial, want)
				}
			})
		}
	}
}

func TestMemoryModelChoice(t *testing.T) {
	_, im := build(t, path("gelu-random"), "")
	if im.Memory != "segmented" {
		t.Errorf("gelu-random: chose %s, want segmented (it fits 640 KiB)", im.Memory)
	}
	_, im = build(t, path("mha-random"), "")
	if im.Memory != "flat" {
		t.Errorf("mha-random: chose %s, want flat (a layer's weights pass 64 KiB)", im.Memory)
	}
	p, err := ir.LoadFile(path("mha-random"), ir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = codegen.Build(p, []int{1}, 8, codegen.Options{Memory: "segmented"})
	want := "segmented memory model: one layer's weights is 72192 bytes, more than a 64 KiB segment"
	if err == nil || err.Error() != want {
		t.Errorf("forcing segmented: err = %v, want %q", err, want)
	}
}

// Two builds of the same input are byte-identical.
func TestDeterministic(t *testing.T) {
	for _, name := range examples {
		_, a := build(t, path(name), "")
		_, b := build(t, path(name), "")
		if sha256.Sum256(a.Bytes) != sha256.Sum256(b.Bytes) {
			t.Errorf("%s: two builds differ", name)
		}
	}
}

// nasm -f bin of the listing gives a prefix of the image: everything
// before the data.
func TestListingAssemblesToImagePrefix(t *testing.T) {
	if _, err := exec.LookPath("nasm"); err != nil {
		t.Skip("SKIPPED: nasm is not installed (make deps)")
	}
	for _, name := range []string{"gelu-random", "mha-random"} {
		_, im := build(t, path(name), "")
		dir := t.TempDir()
		src, bin := filepath.Join(dir, "a.asm"), filepath.Join(dir, "a.bin")
		if err := os.WriteFile(src, []byte(im.Listing()), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("nasm", "-f", "bin", "-o", bin, src).CombinedOutput(); err != nil {
			t.Fatalf("%s: nasm: %v\n%s", name, err, out)
		}
		got, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) < 512+im.CodeBytes()/2 || !bytes.HasPrefix(im.Bytes, got) {
			t.Errorf("%s: nasm gave %d bytes that are not a prefix of the %d-byte image", name, len(got), len(im.Bytes))
		}
	}
}

// An image whose data sectors are cut short stops with an error code.
func TestCutShortImage(t *testing.T) {
	for _, memory := range []string{"flat", "segmented"} {
		_, im := build(t, path("gelu-random"), memory)
		cut := im.Bytes[:len(im.Bytes)-len(im.Layout.Data)/2/512*512]
		res := boot(t, cut)
		if !regexp.MustCompile(`^E[0-9A-F]{2}\n$`).Match(res.Serial) || res.ExitCode != 2 {
			t.Errorf("%s: cut-short image printed %q, exit %d; want E and a BIOS status, exit 2", memory, res.Serial, res.ExitCode)
		}
	}
}
