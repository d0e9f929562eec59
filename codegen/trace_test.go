package codegen_test

import (
	"context"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/codegen"
	"tfc/frontend"
	"tfc/ir"
	"tfc/qemu"
)

// recorder keeps the simulator's logits and chosen token of every step.
type recorder struct {
	sim   *ir.Sim
	steps []codegen.TraceStep
}

func (r *recorder) Step(token, pos int) int {
	next := r.sim.Step(token, pos)
	r.steps = append(r.steps, codegen.TraceStep{Logits: r.sim.RawLogits(), Token: next})
	return next
}

// Every image computes the simulator's logits bit for bit at every step,
// not only the same tokens: a rounding off by one in any kernel shows here
// even where it would not change a token. Both policies (-Os; -O2, also
// with -march sse2's pmaddwd dot products), in both memory models; the
// image writes its trace to QEMU's debug console. The
// token is the one the model chose, before a prompt token replaces it, so
// that the sampler is checked at every step too (mha-random samples: its
// trace shows the logits as they were before the sampler ran).
func TestLogitsBitForBit(t *testing.T) {
	if !qemu.Available() {
		t.Skip("SKIPPED: qemu-system-i386 is not installed (make deps)")
	}
	names := []string{"gelu-random", "mlp-random", "untied-random", "mha-random"}
	if _, err := os.Stat("../models/stories260K.bin"); err == nil {
		names = append(names, "llama2-int8", "llama2")
	} else {
		t.Log("SKIPPED for the llama2 examples: models/ is empty (make models)")
	}
	files := map[string]string{}
	for _, name := range names {
		files[name] = path(name)
	}
	// Greedy shapes off the examples' paths: a head size of 6 and groups
	// of three query heads (the cache head a multiply and a shift). And the
	// sampler in the segmented model too, where mha-random does not fit.
	for _, c := range []struct{ name, vars string }{
		{"shape-d6", "SEED=7 DIM=30 HIDDEN=45 HEADS=5 KVHEADS=5 VOCAB=263 WEIGHTS=int16~per~row CACHE=int16 GATE=silu FINAL=argmax SAMPLER=sampler~greedy"},
		{"shape-d4-group3", "SEED=5 DIM=36 HIDDEN=150 HEADS=9 KVHEADS=3 VOCAB=259 WEIGHTS=int8~per~tensor CACHE=int8 GATE=gelu FINAL=argmax SAMPLER=sampler~greedy"},
		{"shape-d4-sample", "SEED=5 DIM=36 HIDDEN=150 HEADS=9 KVHEADS=3 VOCAB=259 WEIGHTS=int8~per~tensor CACHE=int8 GATE=gelu FINAL=sample SAMPLER=sampler~temperature~0.9~top_p~0.8~seed~3"},
	} {
		names = append(names, c.name)
		files[c.name] = shapeFile(t, c.name, c.vars)
	}
	for _, name := range names {
		for _, memory := range []string{"flat", "segmented"} {
			for _, opt := range []string{"s", "2", "2sse2"} {
				t.Run(name+"/"+memory+"/O"+opt, func(t *testing.T) {
					p, err := frontend.LoadFile(files[name], ir.Options{})
					require.NoError(t, err)
					steps := min(p.Gen.Steps, 24)
					prompt, _ := p.Tokenizer.Encode(p.Gen.Prompt, true, false)
					o := codegen.Options{Memory: memory, Opt: opt, Trace: true}
					if opt == "2sse2" {
						o.Opt, o.March = "2", "sse2"
					}
					im, err := codegen.Build(p, prompt, steps, o)
					if err != nil {
						t.Skipf("does not build in this memory model: %v", err)
					}
					t.Logf("%s generator", im.Generator)
					rec := &recorder{sim: ir.NewSim(p)}
					_, err = ir.Generate(rec, p.Tokenizer, prompt, steps, io.Discard)
					require.NoError(t, err)
					dir := t.TempDir()
					img, dc := filepath.Join(dir, "a.img"), filepath.Join(dir, "debugcon")
					require.NoError(t, os.WriteFile(img, im.Bytes, 0o644))
					res, err := qemu.Boot(context.Background(), img, qemu.Options{Timeout: 2 * time.Minute, Debugcon: dc})
					require.NoError(t, err, "boot")
					require.Equal(t, 0, res.ExitCode, "boot: exit code")
					raw, err := os.ReadFile(dc)
					require.NoError(t, err)
					got, err := codegen.ParseTrace(raw, p.Vocab)
					require.NoError(t, err)
					// Stops at the first step that differs: the later ones
					// follow from it.
					for step, want := range rec.steps {
						require.Less(t, step, len(got), "the image traced %d steps, the simulator ran %d", len(got), len(rec.steps))
						require.Empty(t, cmp.Diff(want.Logits, got[step].Logits), "step %d: logits (-simulator +image)", step)
						require.Equal(t, want.Token, got[step].Token, "step %d: the token chosen (expected: the simulator's)", step)
					}
					require.Equal(t, len(rec.steps), len(got), "steps the image traced (expected: the steps the simulator ran)")
				})
			}
		}
	}
}

// ParseTrace reads back what it is given step by step and refuses a trace
// that stops inside a step.
func TestParseTrace(t *testing.T) {
	want := []codegen.TraceStep{
		{Logits: []int32{-1, 1 << 16, -1 << 31}, Token: 2},
		{Logits: []int32{7, 0, 1<<31 - 1}, Token: 0xFFFF},
	}
	var raw []byte
	for _, s := range want {
		for _, v := range s.Logits {
			raw = binary.LittleEndian.AppendUint32(raw, uint32(v))
		}
		raw = binary.LittleEndian.AppendUint16(raw, uint16(s.Token))
	}
	got, err := codegen.ParseTrace(raw, 3)
	require.NoError(t, err, "ParseTrace")
	require.Empty(t, cmp.Diff(want, got), "ParseTrace (-want +got)")
	got, err = codegen.ParseTrace(nil, 3)
	assert.NoError(t, err, "empty trace")
	assert.Empty(t, got, "empty trace")
	for _, n := range []int{1, 13, len(raw) - 2, len(raw) - 1} {
		_, err := codegen.ParseTrace(raw[:n], 3)
		assert.Error(t, err, "a trace of %d bytes (steps of 14)", n)
	}
	_, err = codegen.ParseTrace(raw, 0)
	assert.Error(t, err, "vocabulary 0")
}
