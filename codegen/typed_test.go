package codegen_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/codegen"
	"tfc/frontend"
	"tfc/ir"
	"tfc/qemu"
)

// typedLines are the prompts the typed-prompt tests type on COM1, and
// what the line discipline makes of some (ir.LineReader).
var typedLines = []string{
	"Lily wanted a puppy",
	"Sara had a red kite",
	"Once upon a time, there was a little girl named Lily.",
	"The cat sat on the mat.",
	"Tom and Ben went to the park to play with a ball!",
	"What is your name?",
	`"Hello," said the dog.`,
	"She was 3 years old and had 42 toys.",
	"1234567890",
	"   leading spaces",
	"trailing spaces   ",
	"  both  ",
	" ",
	"a",
	"I",
	"x y z",
	"It's a sunny day; let's go!",
	"(parentheses) [brackets] {braces} <angles>",
	"100% of 7 + 8 = 15 & more #1 @home ~ok ^ |",
	`Mom said: "No." Dad said: 'Yes.'`,
	"The END",
	"café",
	"“Quoted” and ‘single’ – dash… ™",
	"naïve",
	"世界",
	"emoji 😀",
	"\x01\x02 unknown bytes \x1b",
	"\xff\xfe broken \xc3",
	"\x80\x80\x80\x80\x80 continuation bytes",
	"tab\there",
	strings.Repeat("1234567890 ", 60),            // more tokens than the context
	strings.Repeat("The big dog ran away. ", 60), // past ir.MaxLine: cut
	"Lily wantd\bed a puppy",                     // backspace
	"hello\x7f\x7f\x7fp",                         // DEL
	"\b\bhi",                                     // backspace over nothing
	"Sara had a red kite\r",                      // CRLF
	"a\x00b",                                     // NUL, dropped
}

// paramLines set the sampler between prompts: 7 parameter lines (the
// others, "/t 1.5x" and "/p .5", are prompts).
var paramLines = []string{
	"the dog",
	"/t 0",
	"the dog",
	"/t 1.5",
	"/p 0.5",
	"the dog",
	"/t 1.5x",
	"/p .5",
	"/t 0.05",
	"/p 1",
	"the dog",
	"/p 0.9999",
	"/t 999.9999",
	"the dog",
}

// typedInput is lines as typed on COM1.
func typedInput(lines []string) string { return strings.Join(lines, "\n") + "\n" }

// A typed-prompt image reads each line from COM1, encodes it on the
// machine exactly as llama2.c's encoder (checkpoint.Tokenizer.Encode)
// does, and tells each story as tfc sim does from that prompt; at the end
// of the input it stops with exit code 0. Every code generator, both
// memory models, and the sampler seeded anew for each line.
func TestTypedPrompts(t *testing.T) {
	if !qemu.Available() {
		t.Skip("SKIPPED: qemu-system-i386 is not installed (make deps)")
	}
	_, err := os.Stat("../models/stories260K.bin")
	models := err == nil
	if !models {
		t.Log("SKIPPED for the llama2 examples: models/ is empty (make models)")
	}
	few := append(typedLines[:8:8], typedLines[21], typedLines[26], typedLines[30], typedLines[32])
	type tcase struct {
		name, file  string
		o           codegen.Options
		lines       []string
		steps       int
		needsModels bool
		params      int // of the lines, parameter lines
	}
	int8 := typedFile(t, "llama2-int8-typed", "../examples/llama2-int8.tf")
	sampled := typedFile(t, "sample-typed", shapeFile(t, "sample", "SEED=5 DIM=36 HIDDEN=150 HEADS=9 KVHEADS=3 VOCAB=300 WEIGHTS=int8~per~tensor CACHE=int8 GATE=gelu FINAL=sample SAMPLER=sampler~temperature~0.9~top_p~0.8~seed~3"))
	greedy := typedFile(t, "greedy-typed", shapeFile(t, "greedy", "SEED=7 DIM=30 HIDDEN=45 HEADS=5 KVHEADS=5 VOCAB=263 WEIGHTS=int16~per~row CACHE=int16 GATE=silu FINAL=argmax SAMPLER=sampler~greedy"))
	cases := []tcase{
		{"llama2-typed/Os", path("llama2-typed"), codegen.Options{}, typedLines, 24, true, 0},
		{"llama2-typed/O2", path("llama2-typed"), codegen.Options{Opt: "2"}, few, 12, true, 0},
		{"llama2-int8-typed/Os/segmented", int8, codegen.Options{}, few, 12, true, 0},
		{"greedy/Os/segmented", greedy, codegen.Options{Memory: "segmented"}, few, 12, false, 0},
		{"greedy/O2/segmented", greedy, codegen.Options{Memory: "segmented", Opt: "2"}, few[:4], 12, false, 0},
		{"sample/O2/flat", sampled, codegen.Options{Opt: "2", Memory: "flat"}, paramLines, 24, false, 7},
		{"sample/O2/segmented", sampled, codegen.Options{Opt: "2", Memory: "segmented"}, paramLines, 24, false, 7},
		{"sample/loop/segmented", sampled, codegen.Options{Gen: "loop", Memory: "segmented"}, paramLines, 24, false, 7},
		{"sample/loop/flat", sampled, codegen.Options{Gen: "loop", Memory: "flat"}, paramLines[:6], 24, false, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.needsModels && !models {
				t.Skip("SKIPPED: models/ is empty (make models)")
			}
			t.Parallel()
			p, err := frontend.LoadFile(c.file, ir.Options{})
			require.NoError(t, err)
			o := c.o
			o.TracePrompt = true
			im, err := codegen.Build(p, []int{ir.BOS}, c.steps, o)
			require.NoError(t, err)
			t.Logf("%s generator, %s memory model, code %d bytes", im.Generator, im.Memory, im.CodeBytes())
			input := typedInput(c.lines)
			var want bytes.Buffer
			var wantIDs [][]int
			var sampling *ir.Sampling
			if p.Samples() {
				s := ir.SamplingOf(p.Gen)
				sampling = &s
			}
			newSim := func(s ir.Sampling) ir.Stepper {
				sim := ir.NewSim(p)
				if sampling != nil {
					sim.Sampling = s
				}
				return sim
			}
			_, err = ir.Converse(newSim, p.Tokenizer, strings.NewReader(input), c.steps, &want, sampling,
				func(ids []int) { wantIDs = append(wantIDs, ids) })
			require.NoError(t, err)
			require.Equal(t, len(c.lines)-c.params, len(wantIDs), "the prompts the line discipline read")
			debugcon := filepath.Join(t.TempDir(), "debugcon")
			res, err := qemu.BootBytes(context.Background(), im.Bytes, qemu.Options{Timeout: 2 * time.Minute, Stdin: strings.NewReader(input),
				Debugcon: debugcon, MemoryMiB: im.MemoryMiB()})
			require.NoError(t, err)
			raw, err := os.ReadFile(debugcon)
			require.NoError(t, err)
			gotIDs, err := codegen.ParsePromptTrace(raw)
			require.NoError(t, err)
			// EquateEmpty: an empty prompt is one, nil or not.
			assert.Empty(t, cmp.Diff(wantIDs, gotIDs, cmpopts.EquateEmpty()),
				"the prompts the image encoded (-llama2.c's encoder +image)")
			assert.Equal(t, 0, res.ExitCode, "exit code (stderr %q)", res.Stderr)
			assert.Equal(t, want.String(), string(res.Serial), "COM1 (expected: the simulator's)")
		})
	}
}

// typedFile writes the .tf file at src with prompt = typed.
func typedFile(t *testing.T, name, src string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	require.Contains(t, string(b), `prompt = ""`, "%s has no empty prompt to make typed", src)
	s := strings.Replace(string(b), `prompt = ""`, "prompt = typed", 1)
	// Its files, relative to src's directory.
	dir, err := filepath.Abs(filepath.Dir(src))
	require.NoError(t, err)
	s = strings.ReplaceAll(s, `"../models/`, `"`+dir+`/../models/`)
	file := filepath.Join(t.TempDir(), name+".tf")
	require.NoError(t, os.WriteFile(file, []byte(s), 0o644))
	return file
}
