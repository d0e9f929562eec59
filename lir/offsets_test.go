package lir

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
)

// offsets gives argmax's loop (its index loads a dword and is copied
// into the best's index) a byte offset, stepped right after the load;
// it leaves a loop whose index only addresses memory (stride's), one that
// computes in 64 bits, one that loads bytes (no scale), and the flat
// model's linear addresses.
func TestOffsets(t *testing.T) {
	for _, c := range []struct {
		name  string
		flat  bool
		low   bool // flat: the activations in low memory
		copy  bool // the index is copied into the best's
		wide  bool // the loop computes in 64 bits
		scale int64
		want  bool
	}{
		{"argmax", false, false, true, false, 4, true},
		{"the flat model's low activations", true, true, true, false, 4, true},
		{"the flat model's linear addresses", true, false, true, false, 4, false},
		{"only addresses", false, false, false, false, 4, false},
		{"64 bits", false, false, true, true, 4, false},
		{"bytes", false, false, true, false, 1, false},
	} {
		f := &Func{Segmented: !c.flat, LowActivations: c.low}
		x := &Buf{Name: "x", Kind: BufVar, Size: 64}
		f.Bufs = []*Buf{x}
		i, v, best, idx, w := f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I64)
		inst := func(in Inst) *Node { return &Node{Kind: NInst, Inst: in} }
		ld := inst(Inst{Op: OpLoad, Dst: v, A: NoReg, B: NoReg, C: NoReg, Mem: Mem{Buf: x, Base: NoReg, Index: i, Scale: c.scale, Disp: 8, Width: 4}})
		gt := f.NewReg(I32)
		body := []*Node{ld, inst(Inst{Op: OpCmp, Dst: gt, A: v, B: best, C: NoReg, Cond: GT}),
			inst(Inst{Op: OpSelect, Dst: best, A: v, B: best, C: gt})}
		if c.copy {
			body = append(body, inst(Inst{Op: OpSelect, Dst: idx, A: i, B: idx, C: gt}))
		}
		if c.wide {
			body = append(body, inst(Inst{Op: OpExt, Dst: w, A: v, B: NoReg, C: NoReg}))
		}
		loop := &Node{Kind: NLoop, Index: i, Count: NoReg, CountImm: 16, Body: body}
		start := []*Node{inst(Inst{Op: OpConst, Dst: best, A: NoReg, B: NoReg, C: NoReg}), inst(Inst{Op: OpConst, Dst: idx, A: NoReg, B: NoReg, C: NoReg})}
		f.Body = append(start, loop)
		offsets(f)
		assert.NoError(t, Verify(f), c.name)
		if !c.want {
			assert.Equal(t, append(start, loop), f.Body, c.name)
			assert.Equal(t, i, ld.Inst.Mem.Index, c.name)
			continue
		}
		off := ld.Inst.Mem.Index
		if !assert.Len(t, f.Body, 5, c.name) {
			continue
		}
		assert.Equal(t, Inst{Op: OpConst, Dst: off, A: NoReg, B: NoReg, C: NoReg}, f.Body[2].Inst, "%s: the offset's start", c.name)
		assert.Equal(t, int64(4), f.Body[3].Inst.Imm, "%s: its step", c.name)
		assert.Equal(t, Mem{Buf: x, Base: NoReg, Index: off, Scale: 1, Disp: 8, Width: 4}, ld.Inst.Mem, c.name)
		assert.Equal(t, Inst{Op: OpAdd, Dst: off, A: off, B: f.Body[3].Inst.Dst, C: NoReg}, loop.Body[1].Inst, "%s: the step right after the load", c.name)
		assert.Len(t, loop.Body, 5, c.name)
	}
}

// A counter other than the index (argmax's, from the count down to 1,
// which the best's index copies) takes a byte offset too: its start and
// step times the scale. It stays where a load through it comes after its
// step, where nothing but addresses and its step reads it, and in the
// flat model's linear addresses.
func TestOffsetsCounter(t *testing.T) {
	for _, c := range []struct {
		name      string
		flat      bool
		loadAfter bool // the load after the counter's step
		copy      bool // the best's index copies the counter
		want      bool
	}{
		{"argmax", false, false, true, true},
		{"the load after the step", false, true, true, false},
		{"only addresses", false, false, false, false},
		{"the flat model's linear addresses", true, false, true, false},
	} {
		f := &Func{Segmented: !c.flat}
		x := &Buf{Name: "x", Kind: BufVar, Size: 64}
		f.Bufs = []*Buf{x}
		i, j, m1, v, best, idx, ge := f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32)
		inst := func(in Inst) *Node { return &Node{Kind: NInst, Inst: in} }
		ld := inst(Inst{Op: OpLoad, Dst: v, A: NoReg, B: NoReg, C: NoReg, Mem: Mem{Buf: x, Base: NoReg, Index: j, Scale: 4, Disp: -4, Width: 4}})
		step := inst(Inst{Op: OpAdd, Dst: j, A: j, B: m1, C: NoReg})
		body := []*Node{ld, inst(Inst{Op: OpCmp, Dst: ge, A: v, B: best, C: NoReg, Cond: GE}),
			inst(Inst{Op: OpSelect, Dst: best, A: v, B: best, C: ge})}
		if c.copy {
			body = append(body, inst(Inst{Op: OpSelect, Dst: idx, A: j, B: idx, C: ge}))
		}
		if c.loadAfter {
			body = append([]*Node{step}, body...)
		} else {
			body = append(body, step)
		}
		loop := &Node{Kind: NLoop, Index: i, Count: NoReg, CountImm: 16, Body: body}
		start := []*Node{
			inst(Inst{Op: OpConst, Dst: best, A: NoReg, B: NoReg, C: NoReg}),
			inst(Inst{Op: OpConst, Dst: j, A: NoReg, B: NoReg, C: NoReg, Imm: 16}),
			inst(Inst{Op: OpConst, Dst: m1, A: NoReg, B: NoReg, C: NoReg, Imm: -1}),
			inst(Inst{Op: OpUndef, Dst: idx, A: NoReg, B: NoReg, C: NoReg}),
		}
		f.Body = append(slices.Clone(start), loop)
		offsets(f)
		assert.NoError(t, Verify(f), c.name)
		if !c.want {
			assert.Equal(t, append(start, loop), f.Body, c.name)
			assert.Equal(t, j, ld.Inst.Mem.Index, c.name)
			continue
		}
		off := ld.Inst.Mem.Index
		if !assert.Len(t, f.Body, 7, c.name) {
			continue
		}
		assert.Equal(t, Inst{Op: OpConst, Dst: off, A: NoReg, B: NoReg, C: NoReg, Imm: 64}, f.Body[4].Inst, "%s: the offset's start", c.name)
		assert.Equal(t, int64(-4), f.Body[5].Inst.Imm, "%s: its step", c.name)
		assert.Equal(t, Mem{Buf: x, Base: NoReg, Index: off, Scale: 1, Disp: -4, Width: 4}, ld.Inst.Mem, c.name)
		assert.Equal(t, Inst{Op: OpAdd, Dst: off, A: off, B: f.Body[5].Inst.Dst, C: NoReg}, loop.Body[1].Inst, "%s: the step right after the load", c.name)
	}
}
