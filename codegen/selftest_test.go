package codegen_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/codegen"
	"tfc/frontend"
	"tfc/ir"
	"tfc/runtime"
)

// A self-test image prints "self-test ok" and then the simulator's story,
// with each generator, memory model and boot path (mha-random samples:
// the self-test's steps must leave the sampler's state as it was). A
// machine that computes something else (a weight changed in memory) or
// a table that says something else stops at the first step that differs.
func TestSelfTest(t *testing.T) {
	for _, c := range []struct {
		name string
		o    codegen.Options
	}{
		{"gelu-random", codegen.Options{}},
		{"gelu-random", codegen.Options{Opt: "2", Memory: "flat"}},
		{"gelu-random", codegen.Options{Boot: "lean", Memory: "flat"}},
		{"mha-random", codegen.Options{}},
		{"mha-random", codegen.Options{Opt: "2", Memory: "flat"}},
	} {
		p, err := frontend.LoadFile(path(c.name), ir.Options{})
		require.NoError(t, err)
		prompt, _ := p.Tokenizer.Encode(p.Gen.Prompt, true, false)
		c.o.SelfTest = true
		im, err := codegen.Build(p, prompt, p.Gen.Steps, c.o)
		require.NoError(t, err, "%s %+v", c.name, c.o)
		res := boot(t, im.Bytes)
		assert.Equal(t, "self-test ok\n"+simulate(t, p), string(res.Serial), "%s %+v: COM1, exit %d", c.name, c.o, res.ExitCode)
		assert.Equal(t, 0, res.ExitCode, "%s %+v: exit code", c.name, c.o)
	}

	// The lean boot sector sums nothing: bytes of the image can change.
	p, err := frontend.LoadFile(path("gelu-random"), ir.Options{})
	require.NoError(t, err)
	im, err := codegen.Build(p, []int{ir.BOS}, p.Gen.Steps, codegen.Options{Boot: "lean", Memory: "segmented", SelfTest: true})
	require.NoError(t, err)
	at := func(linear uint32) int { return im.CodeOffset + int(linear-runtime.CodeAddr) }
	sums := im.Main.Symbols()["selftest.sums"]
	require.NotZero(t, sums, "no selftest.sums")
	table := append([]byte(nil), im.Bytes...)
	table[at(sums+4*5)] ^= 1
	res := boot(t, table)
	assert.Equal(t, "self-test: step 5 differs\n", string(res.Serial), "a changed sum: COM1, exit %d", res.ExitCode)
	assert.Equal(t, 2, res.ExitCode, "a changed sum: exit code")
	// token_embedding's rows: dim int16 weights, then the row's multiplier.
	addr, ok := im.Layout.Params["token_embedding"]
	require.True(t, ok, "token_embedding's address")
	rowBytes := uint32(2*p.Dim + 4)
	weights := append([]byte(nil), im.Bytes...)
	weights[at(addr+rowBytes*ir.BOS+4)] += 50 // BOS's row, its third weight
	res = boot(t, weights)
	assert.Equal(t, "self-test: step 0 differs\n", string(res.Serial), "a changed weight: COM1, exit %d", res.ExitCode)
	assert.Equal(t, 2, res.ExitCode, "a changed weight: exit code")
}
