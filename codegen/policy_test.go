package codegen_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/codegen"
	"tfc/frontend"
	"tfc/ir"
)

// A context of 1024 (a RoPE table of 1024 rows beside the code) builds
// at -Os and prints what the simulator prints.
func TestLongContextBuilds(t *testing.T) {
	f := editedExample(t, "gelu-random", [2]string{"context  = 128", "context  = 1024"}, [2]string{"steps  = 64", "steps  = 12"})
	p, err := frontend.LoadFile(f, ir.Options{})
	require.NoError(t, err)
	im, err := codegen.Build(p, []int{1}, p.Gen.Steps, codegen.Options{})
	require.NoError(t, err)
	assert.Equal(t, "loop", im.Generator)
	assert.Empty(t, im.Note)
	res := boot(t, im.Bytes)
	assert.Equal(t, simulate(t, p), string(res.Serial), "what QEMU printed (expected: the simulator's)")
}

// The small templates are retired: --gen small says so, at -Os and -O2,
// and -Os is the loop generator's size policy, image for image.
func TestGenSmallRetired(t *testing.T) {
	p, err := frontend.LoadFile(path("gelu-random"), ir.Options{})
	require.NoError(t, err)
	for _, opt := range []string{"s", "2"} {
		_, err = codegen.Build(p, []int{1}, 4, codegen.Options{Gen: "small", Opt: opt})
		assert.ErrorContains(t, err, "--gen small: the small templates are retired", "-O%s", opt)
	}
	_, err = codegen.Build(p, []int{1}, 4, codegen.Options{Gen: "fast"})
	assert.ErrorContains(t, err, `unknown code generator "fast" (loop)`)
	plain, err := codegen.Build(p, []int{1}, 4, codegen.Options{})
	require.NoError(t, err)
	loop, err := codegen.Build(p, []int{1}, 4, codegen.Options{Gen: "loop"})
	require.NoError(t, err)
	assert.Equal(t, loop.Bytes, plain.Bytes, "-Os against --gen loop")
}

// The lean boot sector is -Os's; -O2 keeps the full boot path and says so
// when --boot asks for the lean one.
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
