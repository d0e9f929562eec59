package codegen_test

import (
	"context"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"tfc/codegen"
	"tfc/ir"
	"tfc/qemu"
)

// recorder keeps the simulator's logits of every step.
type recorder struct {
	sim    *ir.Sim
	logits [][]int32
}

func (r *recorder) Step(token, pos int) int {
	next := r.sim.Step(token, pos)
	r.logits = append(r.logits, r.sim.RawLogits())
	return next
}

// The small generator's image computes the simulator's logits bit for bit
// at every step, not only the same tokens: a rounding off by one in any
// kernel shows here even where it would not change a token. The image
// writes them to QEMU's debug console.
func TestLogitsBitForBit(t *testing.T) {
	if !qemu.Available() {
		t.Skip("SKIPPED: qemu-system-i386 is not installed (make deps)")
	}
	names := []string{"gelu-random", "mlp-random", "untied-random"}
	if _, err := os.Stat("../models/stories260K.bin"); err == nil {
		names = append(names, "llama2-int8", "llama2")
	} else {
		t.Log("SKIPPED for the llama2 examples: models/ is empty (make models)")
	}
	files := map[string]string{}
	for _, name := range names {
		files[name] = path(name)
	}
	// Greedy shapes that take the small generator's other paths: a head
	// size of 6 (the rope subroutine, not the inline rope) and groups of
	// three query heads (the kv head by a division).
	for _, c := range []struct{ name, vars string }{
		{"shape-d6", "SEED=7 DIM=30 HIDDEN=45 HEADS=5 KVHEADS=5 VOCAB=263 WEIGHTS=int16~per~row CACHE=int16 GATE=silu FINAL=argmax SAMPLER=sampler~greedy"},
		{"shape-d4-group3", "SEED=5 DIM=36 HIDDEN=150 HEADS=9 KVHEADS=3 VOCAB=259 WEIGHTS=int8~per~tensor CACHE=int8 GATE=gelu FINAL=argmax SAMPLER=sampler~greedy"},
	} {
		names = append(names, c.name)
		files[c.name] = shapeFile(t, c.name, c.vars)
	}
	for _, name := range names {
		for _, memory := range []string{"flat", "segmented"} {
			t.Run(name+"/"+memory, func(t *testing.T) {
				p, err := ir.LoadFile(files[name], ir.Options{})
				if err != nil {
					t.Fatal(err)
				}
				steps := min(p.Gen.Steps, 24)
				prompt, _ := p.Tokenizer.Encode(p.Gen.Prompt, true, false)
				im, err := codegen.Build(p, prompt, steps, codegen.Options{Memory: memory, Trace: true})
				if err != nil {
					t.Skipf("does not build in this memory model: %v", err)
				}
				if im.Generator != "small" {
					t.Skipf("-Os used the fast generator: %s", im.Note)
				}
				rec := &recorder{sim: ir.NewSim(p)}
				if _, err := ir.Generate(rec, p.Tokenizer, prompt, steps, io.Discard); err != nil {
					t.Fatal(err)
				}
				dir := t.TempDir()
				img, dc := filepath.Join(dir, "a.img"), filepath.Join(dir, "debugcon")
				if err := os.WriteFile(img, im.Bytes, 0o644); err != nil {
					t.Fatal(err)
				}
				res, err := qemu.Boot(context.Background(), img, qemu.Options{Timeout: 2 * time.Minute, Debugcon: dc})
				if err != nil || res.ExitCode != 0 {
					t.Fatalf("boot: %v, exit %d", err, res.ExitCode)
				}
				raw, err := os.ReadFile(dc)
				if err != nil {
					t.Fatal(err)
				}
				vocab := p.Vocab
				for step, want := range rec.logits {
					if len(raw) < 4*vocab*(step+1) {
						t.Fatalf("the image traced %d steps, the simulator ran %d", len(raw)/(4*vocab), len(rec.logits))
					}
					for i, w := range want {
						got := int32(binary.LittleEndian.Uint32(raw[4*(step*vocab+i):]))
						if got != w {
							t.Fatalf("step %d, logit %d: image %d, simulator %d", step, i, got, w)
						}
					}
				}
				if len(raw) != 4*vocab*len(rec.logits) {
					t.Fatalf("the image traced %d bytes, want %d steps of %d logits", len(raw), len(rec.logits), vocab)
				}
			})
		}
	}
}
