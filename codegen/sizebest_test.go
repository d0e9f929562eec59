package codegen

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/frontend"
	"tfc/ir"
)

// The size policy builds with and without fusing elementwise ops and
// keeps the smaller: gelu-random's fused build is smaller (its biases
// join the gates after them), that of testdata/fuse-larger.tf (difftest's
// program of seed 2) larger; each image is the smaller of its two.
func TestSizePolicyKeepsTheSmaller(t *testing.T) {
	for _, c := range []struct {
		name, path   string
		fusedSmaller bool
	}{{"gelu-random", filepath.Join("..", "examples", "gelu-random.tf"), true}, {"fuse-larger", filepath.Join("testdata", "fuse-larger.tf"), false}} {
		p, err := frontend.LoadFile(c.path, ir.Options{})
		require.NoError(t, err)
		o := Options{Gen: "loop"}
		sizes := map[bool]int{}
		for _, fuse := range []bool{false, true} {
			im, err := buildLoopModel(p, []int{ir.BOS}, 8, o, loopTry{policy: "size", fuse: fuse})
			require.NoError(t, err)
			sizes[fuse] = im.CodeBytes()
		}
		im, err := buildLoop(p, []int{ir.BOS}, 8, o)
		require.NoError(t, err)
		assert.Equal(t, min(sizes[false], sizes[true]), im.CodeBytes(), "%s: %v", c.name, sizes)
		assert.Equal(t, c.fusedSmaller, sizes[true] < sizes[false], "%s: %v", c.name, sizes)
		// -d prints the dump of the build kept, once.
		var dump strings.Builder
		o.Dump, o.DumpTo = "lir.outline", &dump
		_, err = buildLoop(p, []int{ir.BOS}, 8, o)
		require.NoError(t, err)
		assert.Equal(t, 1, strings.Count(dump.String(), "# lir after outline"), "%s", c.name)
	}
}
