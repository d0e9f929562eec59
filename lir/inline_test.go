package lir

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A proc that one call runs (rope's, its two calls joined) becomes the
// call's code: no proc, its params copies of the arguments, and its loop
// counts the constant it was passed. A proc of two calls stays.
func TestInline(t *testing.T) {
	f, _ := ropeCalls(32, 16, 0, 256)
	joinCalls(f)
	inline(f)
	assert.Empty(t, f.Procs)
	var loops []*Node
	calls := 0
	Walk(f.Body, func(n *Node) {
		switch n.Kind {
		case NLoop:
			loops = append(loops, n)
		case NCall:
			calls++
		}
	})
	assert.Zero(t, calls)
	if assert.Len(t, loops, 1) {
		assert.Equal(t, NoReg, loops[0].Count)
		assert.Equal(t, int64(48), loops[0].CountImm)
	}
	assert.NoError(t, Verify(f))

	f, proc := ropeCalls(32, 16, 0, 264) // not joined: two calls
	joinCalls(f)
	inline(f)
	assert.Equal(t, []*Proc{proc}, f.Procs)
	assert.NoError(t, Verify(f))
}
