package lir_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"tfc/lir"
)

// Attention's query heads share a cache head in groups: a group of 3
// (gelu-random.tf) takes one loop over the heads, its cache head a
// multiply and a shift of the head (divMagic); 195 heads in one group take
// no such pair below 2^15 and keep a loop over the cache heads and one
// over their groups. Both run as the simulator does.
func TestHeadGroups(t *testing.T) {
	src, err := os.ReadFile("../examples/gelu-random.tf")
	require.NoError(t, err)
	for _, c := range []struct {
		name        string
		edits       [][2]string
		headLoopsIn int // loops over the heads: 1, or the nest's 2
	}{
		{"groups of 3", nil, 1},
		{"one group of 195", [][2]string{{"dim      = 48", "dim      = 390"}, {"heads    = 6", "heads    = 195"},
			{"kv_heads = 2", "kv_heads = 1"}}, 2},
	} {
		s := string(src)
		for _, e := range c.edits {
			require.Contains(t, s, e[0])
			s = strings.ReplaceAll(s, e[0], e[1])
		}
		file := filepath.Join(t.TempDir(), "heads.tf")
		require.NoError(t, os.WriteFile(file, []byte(s), 0o644))
		p := load(t, file)
		equalRuns(t, c.name, p, 3)
		f, err := lir.LowerWith(p, lir.LowerOptionsFor("size"))
		require.NoError(t, err)
		var att *lir.Node
		for _, n := range f.Body {
			lir.Walk([]*lir.Node{n}, func(x *lir.Node) {
				if x.Kind == lir.NOp && strings.HasPrefix(x.Note, "attention") {
					att = x
				}
			})
		}
		require.NotNil(t, att, c.name)
		// The outer loops down to the first over the positions (a count
		// in a register), through the speed policy's side of faster's if.
		depth := 0
		for body := att.Body; body != nil; {
			var next []*lir.Node
			positions := false
			for _, n := range body {
				switch {
				case next != nil || positions:
				case n.Kind == lir.NLoop && n.Count != lir.NoReg:
					positions = true
				case n.Kind == lir.NIf:
					next = n.Then
				case n.Kind == lir.NLoop && n.Count == lir.NoReg:
					depth++
					next = n.Body
				}
			}
			body = next
		}
		require.Equal(t, c.headLoopsIn, depth, c.name)
	}
}
