package lir

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"tfc/ir"
)

// argmax scans backwards with a non-strict compare, its index undefined
// before the first pass (OpUndef: the interpreter's Poison): the first of
// equal maxima wins, as llama2.c's forward scan with a strict one, where
// the maximum is the first element, the last, both, or every one; lowered,
// and after the size policy's passes in the segmented model (offsets
// gives the count its byte offset).
func TestArgmaxFirstOfEqual(t *testing.T) {
	for _, c := range []struct {
		name string
		x    []int32
	}{
		{"first", []int32{9, 1, 2, 3}},
		{"last", []int32{1, 2, 3, 9}},
		{"first and last", []int32{9, 1, 2, 9}},
		{"all equal", []int32{-5, -5, -5, -5, -5}},
		{"middle ties", []int32{-7, 4, 0, 4, 4, -1}},
		{"two", []int32{3, 3}},
	} {
		want := 0
		for i, v := range c.x {
			if v > c.x[want] {
				want = i
			}
		}
		for _, compiled := range []bool{false, true} {
			f := &Func{Segmented: true}
			lw := &lowerer{f: f, vars: map[*ir.Var]*Buf{}}
			lw.b = builder{f: f, cur: &f.Body}
			v := &ir.Var{Name: "x", Len: len(c.x)}
			x := lw.buf(&Buf{Name: "x", Kind: BufVar, Size: int64(4 * len(c.x))})
			lw.vars[v] = x
			lw.next = lw.buf(&Buf{Name: "next", Kind: BufNext, Size: 4})
			lw.argmax(&ir.Op{Kind: ir.Argmax, Args: []*ir.Var{v}})
			if compiled {
				require.NoError(t, Compile(f, Options{Policy: "size"}), c.name)
			}
			data := make([]byte, 4*len(c.x))
			for i, e := range c.x {
				binary.LittleEndian.PutUint32(data[4*i:], uint32(e))
			}
			m := testMachine(f, map[*Buf][]byte{x: data})
			m.run(f.Body)
			got := int32(binary.LittleEndian.Uint32(m.mem[lw.next][0]))
			require.Equal(t, int32(want), got, "%s (compiled %v)", c.name, compiled)
		}
	}
}
