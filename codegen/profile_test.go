package codegen_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	require.NoError(t, err)
	const steps = 6
	prompt, _ := p.PromptTokens()
	im, err := codegen.Build(p, prompt, steps, codegen.Options{Opt: "2", Gen: "loop", Profile: true})
	require.NoError(t, err)
	// Every op of the three blocks is counted, under its name or a fused
	// op's ("matmul t2 + add x"): the layer block's once for all layers.
	for b, ops := range p.Blocks {
		for i, o := range ops {
			name := ""
			switch {
			case o.Dst != nil:
				name = o.Dst.Name
			case o.Cache != nil:
				name = o.Cache.Name
			case b == ir.PostBlock && i == len(ops)-1:
				name = "next" // the op that picks the next token
			}
			require.NotEmpty(t, name, "an op with neither a result nor a cache: %v", o)
			assert.True(t, slices.ContainsFunc(im.ProfileNames, func(n string) bool { return slices.Contains(strings.Fields(n), name) }),
				"%s's op (%v) not among the profiled ops %q", name, o.Kind, im.ProfileNames)
		}
	}
	dir := t.TempDir()
	img, dc := filepath.Join(dir, "a.img"), filepath.Join(dir, "debugcon")
	require.NoError(t, os.WriteFile(img, im.Bytes, 0o644))
	res, err := qemu.Boot(context.Background(), img, qemu.Options{Timeout: time.Minute, Debugcon: dc, Icount: true})
	require.NoError(t, err, "boot")
	require.Equal(t, 0, res.ExitCode, "boot: exit code")
	raw, err := os.ReadFile(dc)
	require.NoError(t, err)
	pr, err := codegen.ParseProfile(raw, im, p)
	require.NoError(t, err)
	assert.Equal(t, uint64(steps), pr.Steps, "steps")
	var sum uint64
	matmuls := 0
	for _, o := range pr.Ops {
		assert.NotZero(t, o.Count, "%s: instructions", o.Name)
		sum += o.Count
		if strings.HasPrefix(o.Name, "matmul") {
			matmuls++
			assert.NotZero(t, o.MACs, "%s: multiply-accumulates", o.Name)
		}
	}
	assert.LessOrEqual(t, sum, pr.Total, "the ops' instructions, at most the total")
	assert.NotZero(t, matmuls, "matmuls")
	var out strings.Builder
	pr.Print(&out)
	assert.Contains(t, out.String(), "total over 6 tokens", "report:\n%s", out.String())
	t.Log("\n" + out.String())
}
