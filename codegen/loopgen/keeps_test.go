package loopgen

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	x86 "tfc/codegen/x86_16"
	"tfc/lir"
	"tfc/regalloc"
)

// A proc pushes and pops a segment register it loads only where a caller
// holds one across the call (the caller loaded FS at its entry): it then
// keeps the caller's.
func TestProcKeepsCallersSegments(t *testing.T) {
	f := &lir.Func{Types: []lir.Type{lir.I32}}
	l := &Layout{Segmented: true, Group: map[*lir.Buf]Group{}}
	for _, holds := range []bool{false, true} {
		p := &lir.Proc{Name: "proc0"}
		g := &gen{prog: &x86.Program{}, f: f, l: l, o: Options{Size: true}, keeps: map[*lir.Proc]bool{}}
		caller := newKernel(f, l, "op1", nil)
		caller.calls = []*lir.Proc{p}
		if holds {
			caller.segment(Group{Slot: addrSegs + 2})
		}
		_, err := g.allocateKernel(caller, "op1", "op1", spillBase, false)
		require.NoError(t, err)
		proc := newKernel(f, l, "proc0", nil)
		proc.proc = p
		assert.Equal(t, x86.FS, proc.segment(Group{Slot: addrSegs + 4}))
		a, err := g.allocateKernel(proc, "proc0", "proc0", procSpillBase, true)
		require.NoError(t, err)
		var prog x86.Program
		require.NoError(t, regalloc.Rewrite(a.k, a.as, &prog))
		got := prog.Listing()
		assert.Contains(t, got, "mov fs, word [0x1020]", "holds %v:\n%s", holds, got)
		if holds {
			assert.Regexp(t, `(?s)push fs\n.*mov fs, .*pop fs\n\s+ret`, got, "listing:\n%s", got)
		} else {
			assert.NotContains(t, got, "push fs", "listing:\n%s", got)
		}
	}
}
