package loopgen

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/frontend"
	"tfc/ir"
	"tfc/lir"
	"tfc/runtime"
)

// A layout that only counts the data (tfc check's) places every buffer
// where the layout that writes it does, and counts its bytes: otherwise
// check would pass or refuse what build does not.
func TestSizedLayout(t *testing.T) {
	files, err := filepath.Glob("../../examples/*-random.tf")
	require.NoError(t, err)
	files = append(files, "../../testdata/tinyllamas/stories15M.tf")
	for _, path := range files {
		p, err := frontend.LoadFile(path, ir.Options{})
		require.NoError(t, err, path)
		f, err := lir.Lower(p)
		require.NoError(t, err, path)
		pieces := runtime.PieceData(p.Tokenizer, 0)
		prompt := []int{1, 2, 3}
		full, err := NewLayout(p, f, pieces, prompt, false)
		require.NoError(t, err, path)
		sized, err := NewLayout(p, f, pieces, prompt, true)
		require.NoError(t, err, path)
		assert.Empty(t, sized.Data, path)
		assert.Equal(t, len(full.Data), sized.DataLen(), path)
		assert.Greater(t, full.DataLen(), 0, path)
		assert.Equal(t, placement(full), placement(sized), path)
	}
}

// placement is where l puts each buffer and region, by name.
func placement(l *Layout) map[string]uint32 {
	m := map[string]uint32{"pieces": l.Pieces, "prompt": l.Prompt, "nprompt": uint32(l.NPrompt),
		"layerW": l.LayerW, "strideW": l.StrideW, "layerC": l.LayerC, "strideC": l.StrideC, "end": l.End}
	for b, a := range l.Addr {
		m["buf "+b.Name] = a
	}
	return m
}
