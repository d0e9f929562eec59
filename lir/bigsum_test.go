package lir_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"tfc/difftest"
)

// Attention over more than 1023 positions of equal scores: from position
// 1024 on its sum of softmax weights passes 32 bits, and the loop code
// divides by it in two steps (lowerer.bigDivide), as exactly as the
// simulator.
func TestAttentionSumPast32Bits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bigsum.tf")
	src := difftest.BigSumSource()
	require.NoError(t, os.WriteFile(path, []byte(src), 0o644))
	p := load(t, path)
	equalRuns(t, "bigsum", p, 1100)
	compiled(t, "bigsum/speed", p, 1100, "speed")
}
