package codegen_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/codegen"
	"tfc/frontend"
	"tfc/ir"
)

// -Os falls back to the loop code generator, and says why, when the small one
// cannot take the model: here a context of 1024 makes the RoPE table too
// large to sit beside the code below 64 KiB. The image is still right.
func TestSmallFallsBackWhenTablesDoNotFit(t *testing.T) {
	f := editedExample(t, "gelu-random", [2]string{"context  = 128", "context  = 1024"}, [2]string{"steps  = 64", "steps  = 12"})
	p, err := frontend.LoadFile(f, ir.Options{})
	require.NoError(t, err)
	im, err := codegen.Build(p, []int{1}, p.Gen.Steps, codegen.Options{})
	require.NoError(t, err)
	assert.Equal(t, "loop", im.Generator, "the generator, because of the tables (note %q)", im.Note)
	assert.Contains(t, im.Note, "tables", "the note: the loop generator, because of the tables")
	res := boot(t, im.Bytes)
	assert.Equal(t, simulate(t, p), string(res.Serial), "what QEMU printed (expected: the simulator's)")
}

// -Os keeps whichever of its two generators gives fewer code bytes (the
// loop generator's on a tie), image for image what that generator forced
// gives; an instrumented build (here traced) runs the generator the plain
// one runs, though the instrumentation's bytes differ between the two.
// mha-random samples; llama2 needs the model files (make models).
func TestOsKeepsTheSmaller(t *testing.T) {
	names := []string{"gelu-random", "mlp-random", "untied-random", "mha-random"}
	if _, err := os.Stat(filepath.Join("..", "models", "stories260K.bin")); err == nil {
		names = append(names, "llama2", "llama2-int8")
	}
	for _, name := range names {
		p, err := frontend.LoadFile(path(name), ir.Options{})
		require.NoError(t, err)
		prompt, err := p.Tokenizer.Encode(p.Gen.Prompt, true, false)
		require.NoError(t, err)
		forced := map[string]*codegen.Image{}
		for _, gen := range []string{"small", "loop"} {
			forced[gen], err = codegen.Build(p, prompt, p.Gen.Steps, codegen.Options{Gen: gen})
			require.NoError(t, err, "%s --gen %s", name, gen)
			require.Equal(t, gen, forced[gen].Generator, "%s --gen %s: the generator", name, gen)
		}
		want := "small"
		if forced["loop"].CodeBytes() <= forced["small"].CodeBytes() {
			want = "loop"
		}
		im, err := codegen.Build(p, prompt, p.Gen.Steps, codegen.Options{})
		require.NoError(t, err)
		assert.Equal(t, want, im.Generator, "%s: the generator (small %d bytes, loop %d)", name, forced["small"].CodeBytes(), forced["loop"].CodeBytes())
		assert.Empty(t, im.Note, "%s: the note", name)
		assert.Equal(t, forced[want].Bytes, im.Bytes, "%s: the image, against --gen %s's", name, want)
		traced, err := codegen.Build(p, prompt, p.Gen.Steps, codegen.Options{Trace: true})
		require.NoError(t, err)
		assert.Equal(t, want, traced.Generator, "%s: the traced build's generator", name)
	}
}

// --gen small forces the templates: where they cannot take the model it
// says why, and -O2 has none.
func TestGenSmallForced(t *testing.T) {
	f := editedExample(t, "gelu-random", [2]string{"context  = 128", "context  = 1024"}, [2]string{"steps  = 64", "steps  = 12"})
	p, err := frontend.LoadFile(f, ir.Options{})
	require.NoError(t, err)
	_, err = codegen.Build(p, []int{1}, p.Gen.Steps, codegen.Options{Gen: "small"})
	if assert.Error(t, err, "--gen small on a context of 1024") {
		assert.Contains(t, err.Error(), "--gen small: ", "the message")
		assert.Contains(t, err.Error(), "tables", "the message: why")
		assert.Contains(t, err.Error(), f, "the message: where")
	}
	p, err = frontend.LoadFile(path("gelu-random"), ir.Options{})
	require.NoError(t, err)
	_, err = codegen.Build(p, []int{1}, p.Gen.Steps, codegen.Options{Gen: "small", Opt: "2"})
	assert.ErrorContains(t, err, "-Os's", "--gen small -O2")
}

// The lean boot sector is -Os's, with either generator; -O2 keeps the full
// boot path and says so when --boot asks for the lean one.
func TestLeanBootIsForOs(t *testing.T) {
	p, err := frontend.LoadFile(path("gelu-random"), ir.Options{})
	require.NoError(t, err)
	for _, c := range []struct {
		o    codegen.Options
		lean bool
		note string
	}{
		{codegen.Options{Boot: "lean"}, true, ""},
		{codegen.Options{Boot: "lean", Gen: "loop"}, true, ""},
		{codegen.Options{Gen: "loop"}, false, ""},
		{codegen.Options{Boot: "lean", Opt: "2"}, false, "-O2 takes the full boot path"},
	} {
		im, err := codegen.Build(p, []int{1}, 4, c.o)
		require.NoError(t, err)
		assert.Equal(t, c.lean, im.Loader == nil, "%+v: the lean boot sector (no loader)", c.o)
		if c.note == "" {
			assert.Empty(t, im.Note, "%+v: the note", c.o)
		} else {
			assert.Contains(t, im.Note, c.note, "%+v: the note", c.o)
		}
	}
}
