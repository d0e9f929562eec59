package lir

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nest is a proc of a loop over count (its param) around a loop of 4
// passes that steps a pointer by 4 from row = pos·rowBytes each outer
// pass, and two calls of it passing 8 and 4; extra edits the nest
// before collapse runs.
func nest(rowBytes int64, extra func(f *Func, outer, inner *Node, ptr Reg) []*Node) (*Func, *Proc) {
	f := &Func{}
	inst := func(op Opcode, dst, a, b Reg, imm int64) *Node {
		return &Node{Kind: NInst, Inst: Inst{Op: op, Dst: dst, A: a, B: b, C: NoReg, Imm: imm}}
	}
	count, pos, size, row, step, ptr, sum := f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32)
	inner := &Node{Kind: NLoop, Index: f.NewReg(I32), Count: NoReg, CountImm: 4, Body: []*Node{
		inst(OpAdd, sum, ptr, ptr, 0),
		inst(OpAdd, ptr, ptr, step, 0),
	}}
	outer := &Node{Kind: NLoop, Index: f.NewReg(I32), Count: count, Once: true, Body: []*Node{
		inst(OpConst, step, NoReg, NoReg, 4),
		inst(OpCopy, ptr, row, NoReg, 0),
		inner,
	}}
	p := &Proc{Name: "proc0", Params: []Reg{count}, Calls: 2, Body: []*Node{
		inst(OpPos, pos, NoReg, NoReg, 0),
		inst(OpConst, size, NoReg, NoReg, rowBytes),
		inst(OpMul, row, pos, size, 0),
		outer,
	}}
	if extra != nil {
		p.Body = append(p.Body, extra(f, outer, inner, ptr)...)
	}
	f.Procs = []*Proc{p}
	for _, n := range []int64{8, 4} {
		a := f.NewReg(I32)
		f.Body = append(f.Body, inst(OpConst, a, NoReg, NoReg, n), &Node{Kind: NCall, Proc: p, Args: []Reg{a}})
	}
	return f, p
}

// loops counts the loops among nodes, inner ones too.
func loops(nodes []*Node) int {
	n := 0
	Walk(nodes, func(x *Node) {
		if x.Kind == NLoop {
			n++
		}
	})
	return n
}

// A nest collapses into one loop whose count each call passes
// multiplied by the inner count, the pointer wrapped by an and that
// clears the bit its four steps of 4 reach (16): its row a multiple of
// 32.
func TestCollapse(t *testing.T) {
	f, p := nest(64, nil)
	collapse(f)
	require.NoError(t, Verify(f))
	require.Equal(t, 1, loops(p.Body), "%s", f)
	loop := p.Body[len(p.Body)-1]
	require.Equal(t, NLoop, loop.Kind, "%s", f)
	last := loop.Body[len(loop.Body)-1].Inst
	assert.Equal(t, OpAnd, last.Op, "%s", f)
	assert.Equal(t, last.Dst, last.A, "%s", f)
	assert.Equal(t, int64(^16), constants(f)[last.B], "%s", f)
	var passed []int64
	Walk(f.Body, func(n *Node) {
		if n.Kind == NCall {
			passed = append(passed, constants(f)[n.Args[0]])
		}
	})
	assert.Equal(t, []int64{32, 16}, passed)
}

// A nest stays where a wrap could not restore the pointer (a row of 48
// bytes, 16 of whose multiples have bit 4 set), where the outer index
// is read, or where the pointer is read after the nest (its last value
// would be its first).
func TestCollapseRefuses(t *testing.T) {
	cases := map[string]func() (*Func, *Proc){
		"row of 48": func() (*Func, *Proc) { return nest(48, nil) },
		"outer index read": func() (*Func, *Proc) {
			return nest(64, func(f *Func, outer, inner *Node, ptr Reg) []*Node {
				inner.Body = append([]*Node{{Kind: NInst, Inst: Inst{Op: OpCopy, Dst: f.NewReg(I32), A: outer.Index, B: NoReg, C: NoReg}}}, inner.Body...)
				return nil
			})
		},
		"pointer read after": func() (*Func, *Proc) {
			return nest(64, func(f *Func, outer, inner *Node, ptr Reg) []*Node {
				return []*Node{{Kind: NInst, Inst: Inst{Op: OpCopy, Dst: f.NewReg(I32), A: ptr, B: NoReg, C: NoReg}}}
			})
		},
	}
	for name, mk := range cases {
		f, p := mk()
		collapse(f)
		assert.Equal(t, 2, loops(p.Body), "%s: %s", name, f)
	}
	f, p := nest(64, nil)
	collapse(f)
	assert.Equal(t, 1, loops(p.Body), "the nest these cases change: %s", f)
}
