package lir

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// ropeCalls is a Func of collapse's rope proc (a loop of its count
// param that steps its pointer param by 8 and wraps a table pointer
// every 4 passes) and two ops that call it, passing counts n1 and n2
// and pointers at disp1 and disp2 of one buffer.
func ropeCalls(n1, n2, disp1, disp2 int64) (*Func, *Proc) {
	f := &Func{}
	buf := &Buf{Name: "q+k+v", Kind: BufVar, Size: 1024}
	tab := &Buf{Name: "tab", Kind: BufTable, Size: 1024}
	f.Bufs = []*Buf{buf, tab}
	inst := func(op Opcode, dst, a, b Reg, imm int64) *Node {
		return &Node{Kind: NInst, Inst: Inst{Op: op, Dst: dst, A: a, B: b, C: NoReg, Imm: imm}}
	}
	count, ptr, p, row, w, eight, four, mask, v := f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32)
	load := inst(OpLoad, v, NoReg, NoReg, 0)
	load.Inst.Mem = Mem{Buf: tab, Base: w, Index: NoReg, Width: 4}
	store := inst(OpStore, NoReg, v, NoReg, 0)
	store.Inst.Mem = Mem{Buf: buf, Base: p, Index: NoReg, Width: 4}
	proc := &Proc{Name: "proc0", Params: []Reg{count, ptr}, Calls: 2, Body: []*Node{
		inst(OpPos, row, NoReg, NoReg, 0),
		inst(OpCopy, p, ptr, NoReg, 0),
		inst(OpConst, eight, NoReg, NoReg, 8),
		inst(OpCopy, w, row, NoReg, 0),
		inst(OpConst, mask, NoReg, NoReg, ^16),
		inst(OpConst, four, NoReg, NoReg, 4),
		{Kind: NLoop, Index: f.NewReg(I32), Count: count, Once: true, Body: []*Node{
			load, store,
			inst(OpAdd, p, p, eight, 0),
			inst(OpAdd, w, w, four, 0),
			inst(OpAnd, w, w, mask, 0),
		}},
	}}
	f.Procs = []*Proc{proc}
	op := func(n, disp int64) *Node {
		c, a := f.NewReg(I32), f.NewReg(I32)
		addr := inst(OpAddr, a, NoReg, NoReg, 0)
		addr.Inst.Mem = Mem{Buf: buf, Base: NoReg, Index: NoReg, Disp: disp, Width: 4}
		return &Node{Kind: NOp, Note: "rope", Body: []*Node{inst(OpConst, c, NoReg, NoReg, n), addr, {Kind: NCall, Proc: proc, Args: []Reg{c, a}}}}
	}
	f.Body = []*Node{{Kind: NLayers, Body: []*Node{op(n1, disp1), op(n2, disp2)}}}
	return f, proc
}

// Two calls that run on (the second's pointer 32 steps of 8 past the
// first's, the wrap's period of 4 dividing 32) become one of 48; a
// second pointer elsewhere, or a first count the wrap's period does not
// divide, keeps both.
func TestJoinCalls(t *testing.T) {
	for _, c := range []struct {
		name         string
		n1, d2       int64
		joined       bool
		wantCount    int64
		wantProcCall int
	}{
		{"runs on", 32, 256, true, 48, 1},
		{"elsewhere", 32, 264, false, 32, 2},
		{"mid-period", 30, 240, false, 30, 2},
	} {
		f, proc := ropeCalls(c.n1, 16, 0, c.d2)
		joinCalls(f)
		ops := f.Body[0].Body
		if !c.joined {
			assert.Len(t, ops, 2, c.name)
			assert.Equal(t, 2, proc.Calls, c.name)
			continue
		}
		if assert.Len(t, ops, 1, c.name) {
			call := ops[0].Body[len(ops[0].Body)-1]
			assert.Equal(t, c.wantCount, constants(f)[call.Args[0]], c.name)
			assert.Equal(t, "rope + rope", ops[0].Note, c.name)
		}
		assert.Equal(t, c.wantProcCall, proc.Calls, c.name)
		assert.NoError(t, Verify(f), c.name)
	}
}
