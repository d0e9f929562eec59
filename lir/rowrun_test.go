package lir_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/lir"
)

// A fused matmul whose params store their rows alike runs as one loop over
// all their rows, through one buffer that holds the params one after the
// other (wq+wk+wv), and still computes what the simulator does. A param
// that another op (or part) reads too keeps a buffer of its own.
func TestFusedMatmulIsOneRowLoop(t *testing.T) {
	src, err := os.ReadFile("../examples/mlp-random.tf")
	require.NoError(t, err)
	shared := filepath.Join(t.TempDir(), "shared.tf")
	require.NoError(t, os.WriteFile(shared, []byte(strings.Replace(string(src), "v = matmul(wv, h)", "v = matmul(wk, h)", 1)), 0o644))
	for _, c := range []struct {
		file  string
		group string // the run's buffer, "" for none
	}{
		{"../examples/mlp-random.tf", "wq+wk+wv"},
		{shared, ""},
	} {
		p := load(t, c.file)
		f, err := lir.Lower(p)
		require.NoError(t, err)
		var names []string
		for _, b := range f.Bufs {
			if b.Kind == lir.BufParam {
				names = append(names, b.Name)
			}
		}
		if c.group == "" {
			for _, n := range names {
				assert.NotContains(t, n, "+", "%s: param buffers %v", c.file, names)
			}
		} else {
			assert.Contains(t, names, c.group)
			for _, n := range f.Body {
				if n.Kind == lir.NLayers {
					for _, op := range n.Body {
						if strings.HasPrefix(op.Note, "matmul q+k+v") {
							loops := 0
							for _, x := range op.Body {
								if x.Kind == lir.NLoop {
									loops++
									assert.EqualValues(t, 64+32+32, x.CountImm, "rows of q, k and v")
								}
							}
							assert.Equal(t, 1, loops, "%s", op.Note)
						}
					}
				}
			}
		}
		equalRuns(t, c.file, p, 4)
	}
}
