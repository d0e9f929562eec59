package codegen_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/codegen"
	"tfc/frontend"
	"tfc/ir"
)

// The size policy's tables lie in segment 0 below the activations
// (loopgen.LayoutOptions.LowTables), in the code's bytes, where the code
// ends below them; where it would reach them, they lie with the data,
// and the activations stay in segment 0. mlp-random.tf with a context of
// 1024: its rope table (a row a position) below the activations leaves
// room for the code at 200 steps, not at 300. Both images, booted, print
// what tfc sim prints.
func TestLowTablesOrTheCode(t *testing.T) {
	for _, c := range []struct {
		steps string
		low   bool
	}{{"200", true}, {"300", false}} {
		file := editedExample(t, "mlp-random", [2]string{"context  = 128", "context  = 1024"}, [2]string{"steps  = 64", "steps  = " + c.steps})
		p, err := frontend.LoadFile(file, ir.Options{})
		require.NoError(t, err)
		// Flat: the segmented model does not take a context of 1024 (its
		// cache passes 64 KiB).
		im, err := codegen.Build(p, []int{ir.BOS}, p.Gen.Steps, codegen.Options{Gen: "loop", Memory: "flat"})
		require.NoError(t, err, "%s steps", c.steps)
		tables := 0
		for _, r := range im.DataRegions {
			if strings.HasPrefix(r.Name, "data: table ") {
				tables++
			}
		}
		l := im.Main.Listing()
		if c.low {
			assert.Equal(t, 3, tables, "%s steps: the rope, exp and silu tables among the code's bytes", c.steps)
			assert.Contains(t, l, "call lookup11.ds", "%s steps", c.steps)
		} else {
			assert.Zero(t, tables, "%s steps", c.steps)
			assert.NotContains(t, l, "call lookup11.ds", "%s steps", c.steps)
		}
		assert.NotContains(t, l, "es:", "%s steps: the activations in segment 0", c.steps)
		res := boot(t, im.Bytes)
		assert.Equal(t, simulate(t, p), string(res.Serial), "%s steps: what QEMU printed (expected: the simulator's), exit %d", c.steps, res.ExitCode)
	}
}
