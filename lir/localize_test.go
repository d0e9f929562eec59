package lir

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// localize copies four dwords a loop reads at an offset it does not change
// (one of them in an if) and rewrites the reads; it leaves alone a loop
// that stores into the buffer, one whose offset changes, and three reads.
func TestLocalize(t *testing.T) {
	f := &Func{}
	q := &Buf{Name: "q", Kind: BufVar, Size: 64}
	f.Bufs = []*Buf{q}
	off := f.NewReg(I32)
	load := func(index Reg, disp int64) *Node {
		return &Node{Kind: NInst, Inst: Inst{Op: OpLoad, Dst: f.NewReg(I32), A: NoReg, B: NoReg, C: NoReg,
			Mem: Mem{Buf: q, Index: index, Scale: 1, Base: NoReg, Disp: disp, Width: 4, Signed: true}}}
	}
	loop := func(body ...*Node) *Node {
		return &Node{Kind: NLoop, Index: f.NewReg(I32), Count: NoReg, CountImm: 9, Body: body}
	}
	guarded := load(off, 12)
	reads := []*Node{load(off, 8), load(off, 0), load(off, 4), {Kind: NIf, Cond: off, Then: []*Node{guarded}}, load(off, 4)}
	localized := loop(reads...)
	store := &Node{Kind: NInst, Inst: Inst{Op: OpStore, Dst: NoReg, A: off, B: NoReg, C: NoReg, Mem: Mem{Buf: q, Base: NoReg, Index: NoReg, Width: 4}}}
	stores := loop(load(off, 0), load(off, 4), load(off, 8), load(off, 12), store)
	changing := loop()
	changing.Body = []*Node{load(changing.Index, 0), load(changing.Index, 4), load(changing.Index, 8), load(changing.Index, 12)}
	few := loop(load(off, 0), load(off, 4), load(off, 8))
	f.Body = []*Node{{Kind: NInst, Inst: Inst{Op: OpPos, Dst: off, A: NoReg, B: NoReg, C: NoReg}}, localized, stores, changing, few}
	localize(f)

	require.Len(t, f.Bufs, 2)
	local := f.Bufs[1]
	assert.Equal(t, int64(16), local.Size)
	require.Len(t, f.Body, 1+8+4, "the copy, a load and a store a dword, before the one loop localized")
	assert.Same(t, localized, f.Body[9])
	for i, disp := range []int64{8, 0, 4, 12} {
		ld, st := f.Body[1+2*i].Inst, f.Body[2+2*i].Inst
		assert.Equal(t, Mem{Buf: q, Index: off, Scale: 1, Base: NoReg, Disp: disp, Width: 4, Signed: true}, ld.Mem)
		assert.Equal(t, OpStore, st.Op)
		assert.Equal(t, ld.Dst, st.A)
		assert.Equal(t, Mem{Buf: local, Base: NoReg, Index: NoReg, Disp: disp, Width: 4}, st.Mem)
	}
	for _, x := range append(reads[:3:3], reads[4], guarded) {
		assert.Same(t, local, x.Inst.Mem.Buf)
		assert.Equal(t, NoReg, x.Inst.Mem.Index)
	}
	for _, l := range []*Node{stores, changing, few} {
		for _, x := range l.Body {
			if x.Inst.Op == OpLoad {
				assert.Same(t, q, x.Inst.Mem.Buf)
			}
		}
	}
}
