package loopgen

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"tfc/lir"
)

// Flat with low activations, a proc's param that every call passes an
// activation's address, and that the proc only steps and addresses
// memory with, is an offset in ES's segment, and so is what it derives;
// its calls pass the offset (a word). A param the proc also compares, or
// whose address a caller reads besides, stays a linear address.
func TestESOffsets(t *testing.T) {
	const (
		ptr, cmpd, i, sum, v, lt, addrA, addrB, addrC lir.Reg = 0, 1, 2, 3, 4, 5, 6, 7, 8
	)
	n := func(in lir.Inst) *lir.Node { return &lir.Node{Kind: lir.NInst, Inst: in} }
	inst := func(op lir.Opcode, dst, a, b lir.Reg) lir.Inst {
		return lir.Inst{Op: op, Dst: dst, A: a, B: b, C: lir.NoReg}
	}
	act := &lir.Buf{Name: "x", Kind: lir.BufVar, Size: 64}
	weights := &lir.Buf{Name: "w", Kind: lir.BufParam, Size: 64}
	build := func(readAgain bool) (*lir.Func, *Layout) {
		f := &lir.Func{Types: make([]lir.Type, 9), Bufs: []*lir.Buf{act, weights}}
		for r := range f.Types {
			f.Types[r] = lir.I32
		}
		load := inst(lir.OpLoad, v, lir.NoReg, lir.NoReg)
		load.Mem = lir.Mem{Base: sum, Index: i, Scale: 4, Width: 4}
		p := &lir.Proc{Name: "proc0", Params: []lir.Reg{ptr, cmpd}, Calls: 1, Body: []*lir.Node{
			{Kind: lir.NLoop, Index: i, Count: lir.NoReg, CountImm: 4, Body: []*lir.Node{
				n(inst(lir.OpAdd, sum, ptr, i)),
				n(load),
				n(lir.Inst{Op: lir.OpCmp, Dst: lt, A: cmpd, B: v, C: lir.NoReg, Cond: lir.LT}),
			}},
		}}
		f.Procs = []*lir.Proc{p}
		a := inst(lir.OpAddr, addrA, lir.NoReg, lir.NoReg)
		a.Mem = lir.Mem{Buf: act, Base: lir.NoReg, Index: lir.NoReg, Disp: 8}
		b := inst(lir.OpAddr, addrB, lir.NoReg, lir.NoReg)
		b.Mem = lir.Mem{Buf: act, Base: lir.NoReg, Index: lir.NoReg}
		body := []*lir.Node{n(a), n(b), {Kind: lir.NCall, Proc: p, Args: []lir.Reg{addrA, addrB}}}
		if readAgain {
			body = append(body, n(inst(lir.OpCopy, addrC, addrA, lir.NoReg)))
		}
		f.Body = []*lir.Node{{Kind: lir.NOp, Body: body}}
		l := &Layout{Low: true, LowBase: LowActivations, Group: map[*lir.Buf]Group{act: activations},
			Addr: map[*lir.Buf]uint32{act: LowActivations + 0x100, weights: 0x200000}}
		return f, l
	}
	f, l := build(false)
	l.esOffsets = esOffsets(f, l)
	for _, r := range []lir.Reg{ptr, sum, addrA} {
		assert.True(t, l.esOffsets[r], "r%d is an offset in ES's segment", r)
	}
	for _, r := range []lir.Reg{cmpd, addrB, i, v} {
		assert.False(t, l.esOffsets[r], "r%d is not", r)
	}
	k := constants(f, l, f.Body[0].Body)
	assert.Equal(t, int64(0x108), k[addrA], "the offset")
	assert.Equal(t, int64(LowActivations+0x100), k[addrB], "the linear address")

	f, l = build(true)
	assert.Empty(t, esOffsets(f, l), "its address read besides the call")
	l.Low, l.LowBase = false, 0
	assert.Nil(t, esOffsets(f, l), "activations above 1 MiB")
}

// So is an activation's address that an op itself (a proc that one call
// ran, inlined) only steps and addresses memory with; one it also
// compares stays a linear address.
func TestESOffsetsInForward(t *testing.T) {
	const (
		a, p, four, v, lt, i lir.Reg = 0, 1, 2, 3, 4, 5
	)
	n := func(in lir.Inst) *lir.Node { return &lir.Node{Kind: lir.NInst, Inst: in} }
	inst := func(op lir.Opcode, dst, x, y lir.Reg) lir.Inst {
		return lir.Inst{Op: op, Dst: dst, A: x, B: y, C: lir.NoReg}
	}
	act := &lir.Buf{Name: "x", Kind: lir.BufVar, Size: 64}
	for _, compared := range []bool{false, true} {
		f := &lir.Func{Types: make([]lir.Type, 6), Bufs: []*lir.Buf{act}}
		for r := range f.Types {
			f.Types[r] = lir.I32
		}
		addr := inst(lir.OpAddr, a, lir.NoReg, lir.NoReg)
		addr.Mem = lir.Mem{Buf: act, Base: lir.NoReg, Index: lir.NoReg, Disp: 8}
		load := inst(lir.OpLoad, v, lir.NoReg, lir.NoReg)
		load.Mem = lir.Mem{Base: p, Index: lir.NoReg, Width: 4}
		loop := []*lir.Node{n(load), n(inst(lir.OpAdd, p, p, four))}
		if compared {
			loop = append(loop, n(lir.Inst{Op: lir.OpCmp, Dst: lt, A: p, B: v, C: lir.NoReg, Cond: lir.LT}))
		}
		f.Body = []*lir.Node{{Kind: lir.NOp, Body: []*lir.Node{
			n(addr), n(inst(lir.OpCopy, p, a, lir.NoReg)), n(lir.Inst{Op: lir.OpConst, Dst: four, A: lir.NoReg, B: lir.NoReg, C: lir.NoReg, Imm: 4}),
			{Kind: lir.NLoop, Index: i, Count: lir.NoReg, CountImm: 4, Body: loop},
		}}}
		l := &Layout{Low: true, LowBase: LowActivations, Group: map[*lir.Buf]Group{act: activations},
			Addr: map[*lir.Buf]uint32{act: LowActivations + 0x100}}
		l.esOffsets = esOffsets(f, l)
		for _, r := range []lir.Reg{a, p} {
			assert.Equal(t, !compared, l.esOffsets[r], "r%d, compared %v", r, compared)
		}
		if !compared {
			assert.Equal(t, int64(0x108), constants(f, l, f.Body[0].Body)[a], "the offset")
		}
	}
}
