package lir

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// cacheShift's binary search, and the size policy's count, give the
// count of spec.md's definition (the shifts s < 31 with rshr(m, s) > qmax) for every magnitude up to 2^18,
// around every threshold and at the ends of uint32, for both cache types;
// the count's loop, run until m is 0 (as the machine runs it), too.
func TestCacheShift(t *testing.T) {
	for _, qmax := range []int64{127, 32767} {
		f := &Func{}
		lw := &lowerer{f: f}
		lw.b = builder{f: f, cur: &f.Body}
		m := lw.b.op(OpToken, I32, NoReg, NoReg)
		s := lw.cacheShift(m, qmax)
		want := func(m uint64) int64 {
			n := int64(0)
			for sh := uint(0); sh < 31; sh++ {
				r := m
				if sh > 0 {
					r = (m + 1<<(sh-1)) >> sh
				}
				if r > uint64(qmax) {
					n++
				}
			}
			return n
		}
		var ms []uint64
		for v := uint64(0); v <= 1<<18; v++ {
			ms = append(ms, v)
		}
		for k := uint(0); k < 32; k++ {
			for _, base := range []uint64{1 << k, uint64(2*qmax+1) << k} {
				for d := -2; d <= 2; d++ {
					if v := int64(base) + int64(d); v >= 0 && v < 1<<32 {
						ms = append(ms, uint64(v))
					}
				}
			}
		}
		ms = append(ms, 1<<31, 1<<32-1)
		for _, way := range []string{"search", "count"} {
			if way == "count" {
				general(f) // the size policy's way
				// It counts from the first shift's term (s = 0: m >
				// qmax), which nothing adds after the loop.
				last := -1
				for i, n := range f.Body {
					if n.Kind == NLoop {
						last = i
					}
				}
				require.NotEqual(t, -1, last)
				// It may end where m, halved each pass, is 0: the machine
				// below runs it so (ZeroEnds).
				require.True(t, f.Body[last].ZeroEnds, "qmax %d: the count's loop ends on its zero", qmax)
				require.NoError(t, Verify(f))
				for _, n := range f.Body[last+1:] {
					require.NotEqual(t, OpAdd, n.Inst.Op, "qmax %d: an add after the count", qmax)
				}
			}
			for _, v := range ms {
				mach := &Machine{f: f, regs: make([]int64, len(f.Types)), token: int(int32(uint32(v)))}
				mach.run(f.Body)
				require.Equal(t, want(v), mach.regs[s], "%s: qmax %d, m %d", way, qmax, v)
			}
		}
	}
}

// A loop that says it may end on a zero must end shifting that register
// right by one.
func TestZeroEndsVerify(t *testing.T) {
	f := &Func{Types: []Type{I32, I32, I32}}
	shift := &Node{Kind: NInst, Inst: Inst{Op: OpShrI, Dst: 0, A: 0, B: NoReg, C: NoReg, Imm: 1}}
	add := &Node{Kind: NInst, Inst: Inst{Op: OpAdd, Dst: 1, A: 1, B: 0, C: NoReg}}
	for _, c := range []struct {
		body []*Node
		ok   bool
	}{
		{[]*Node{add, shift}, true},
		{[]*Node{shift, add}, false},
	} {
		f.Body = []*Node{
			{Kind: NInst, Inst: Inst{Op: OpToken, Dst: 0, A: NoReg, B: NoReg, C: NoReg}},
			{Kind: NInst, Inst: Inst{Op: OpConst, Dst: 1, A: NoReg, B: NoReg, C: NoReg}},
			{Kind: NLoop, Index: 2, Count: NoReg, CountImm: 25, ZeroEnds: true, Body: c.body},
		}
		if c.ok {
			require.NoError(t, Verify(f))
		} else {
			require.Error(t, Verify(f))
		}
	}
}

// The interpreter runs such a loop as the machine does: until the shift
// leaves 0 (3 passes for 5), at least once (for 0).
func TestZeroEndsRuns(t *testing.T) {
	for _, c := range []struct{ token, passes int64 }{{5, 3}, {0, 1}, {1 << 30, 31}} {
		f := &Func{Types: []Type{I32, I32, I32, I32}}
		f.Body = []*Node{
			{Kind: NInst, Inst: Inst{Op: OpToken, Dst: 0, A: NoReg, B: NoReg, C: NoReg}},
			{Kind: NInst, Inst: Inst{Op: OpConst, Dst: 1, A: NoReg, B: NoReg, C: NoReg}},
			{Kind: NInst, Inst: Inst{Op: OpConst, Dst: 3, A: NoReg, B: NoReg, C: NoReg, Imm: 1}},
			{Kind: NLoop, Index: 2, Count: NoReg, CountImm: 25, ZeroEnds: true, Body: []*Node{
				{Kind: NInst, Inst: Inst{Op: OpAdd, Dst: 1, A: 1, B: 3, C: NoReg}},
				{Kind: NInst, Inst: Inst{Op: OpShrI, Dst: 0, A: 0, B: NoReg, C: NoReg, Imm: 1}}}},
		}
		require.NoError(t, Verify(f))
		m := &Machine{f: f, regs: make([]int64, len(f.Types)), token: int(c.token)}
		m.run(f.Body)
		require.Equal(t, c.passes, m.regs[1], "m %d", c.token)
	}
}
