package codegen_test

import (
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

// The small generator is -Os's, and the default, for the examples it can
// take (mha-random, which samples, too).
func TestSmallIsTheDefault(t *testing.T) {
	for _, name := range []string{"gelu-random", "mlp-random", "untied-random", "mha-random"} {
		_, im := build(t, path(name), "")
		assert.Equal(t, "small", im.Generator, "%s: the generator (%s)", name, im.Note)
		assert.Empty(t, im.Note, "%s: the note", name)
	}
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
