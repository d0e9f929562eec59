package lir

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A gate that writes t3 in place and the mul after it, which reads t3
// and t4 of one buffer t3+t4 and writes t3, fuse: t4's elements, 4·n
// bytes on, are a range the gate never writes. Were the second loop to
// read an element that the first writes in a later pass (disp 4: t3[i+1]),
// they would not. With FuseElementwise only ops whose loop holds no loop
// fuse.
func TestFuseDisjointRanges(t *testing.T) {
	const n = 8
	build := func(disp int64, inner bool) (*Func, *Node, *Node) {
		f := &Func{}
		buf := &Buf{Name: "t3+t4", Kind: BufVar, Size: 8 * n}
		f.Bufs = []*Buf{buf}
		mem := func(i Reg, d int64) Mem { return Mem{Buf: buf, Base: NoReg, Index: i, Scale: 4, Disp: d, Width: 4} }
		i1, i2, a, b, c, d := f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32)
		body1 := []*Node{
			{Kind: NInst, Inst: Inst{Op: OpLoad, Dst: a, A: NoReg, B: NoReg, C: NoReg, Mem: mem(i1, 0)}},
			{Kind: NInst, Inst: Inst{Op: OpAdd, Dst: a, A: a, B: a, C: NoReg}},
			{Kind: NInst, Inst: Inst{Op: OpStore, Dst: NoReg, A: a, B: NoReg, C: NoReg, Mem: mem(i1, 0)}},
		}
		if inner {
			j := f.NewReg(I32)
			body1 = append(body1, &Node{Kind: NLoop, Index: j, Count: NoReg, CountImm: 2})
		}
		gate := &Node{Kind: NOp, Note: "gate t3", Body: []*Node{{Kind: NLoop, Index: i1, Count: NoReg, CountImm: n, Body: body1}}}
		mul := &Node{Kind: NOp, Note: "mul t3", Body: []*Node{{Kind: NLoop, Index: i2, Count: NoReg, CountImm: n, Body: []*Node{
			{Kind: NInst, Inst: Inst{Op: OpLoad, Dst: b, A: NoReg, B: NoReg, C: NoReg, Mem: mem(i2, 0)}},
			{Kind: NInst, Inst: Inst{Op: OpLoad, Dst: c, A: NoReg, B: NoReg, C: NoReg, Mem: mem(i2, disp)}},
			{Kind: NInst, Inst: Inst{Op: OpMul, Dst: d, A: b, B: c, C: NoReg}},
			{Kind: NInst, Inst: Inst{Op: OpStore, Dst: NoReg, A: d, B: NoReg, C: NoReg, Mem: mem(i2, 0)}},
		}}}}
		f.Body = []*Node{gate, mul}
		return f, gate, mul
	}
	for _, c := range []struct {
		name  string
		disp  int64
		inner bool
		elem  bool
		fused bool
	}{
		{"t4 after t3", 4 * n, false, false, true},
		{"t3[i+1]", 4, false, false, false},
		{"elementwise", 4 * n, false, true, true},
		{"elementwise, a loop inside the first", 4 * n, true, true, false},
		{"a loop inside the first, at -O2", 4 * n, true, false, true},
	} {
		f, gate, mul := build(c.disp, c.inner)
		assert.Equal(t, c.disp != 4, fusable(gate, mul), "%s: fusable", c.name)
		f.FuseElementwise = c.elem
		fuse(f)
		assert.Equal(t, c.fused, len(f.Body) == 1, "%s: fused", c.name)
	}
}

// A store that a second store to the same element replaces goes when
// nothing between them reads that element: a load of another element of
// the buffer (t4's, n elements on) or of another buffer leaves the first
// store dead, a load of the same bytes, or of bytes that meet them, or of
// an element through another register, keeps it.
func TestDSEOverwrittenStore(t *testing.T) {
	const n = 8
	for _, c := range []struct {
		name  string
		other bool
		disp  int64
		index bool
		gone  bool
	}{
		{"t4's element", false, 4 * n, false, true},
		{"another buffer", true, 0, false, true},
		{"the same element", false, 0, false, false},
		{"bytes that meet", false, 2, false, false},
		{"another index", false, 4 * n, true, false},
	} {
		f := &Func{}
		buf := &Buf{Name: "t3+t4", Kind: BufVar, Size: 8 * n}
		other := &Buf{Name: "w", Kind: BufParam, Size: 4 * n}
		f.Bufs = []*Buf{buf, other}
		i, j, a, b, d := f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32)
		mem := func(bf *Buf, r Reg, disp int64) Mem {
			return Mem{Buf: bf, Base: NoReg, Index: r, Scale: 4, Disp: disp, Width: 4}
		}
		read := mem(buf, i, c.disp)
		if c.other {
			read = mem(other, i, c.disp)
		}
		if c.index {
			read = mem(buf, j, c.disp)
		}
		first := &Node{Kind: NInst, Inst: Inst{Op: OpStore, Dst: NoReg, A: a, B: NoReg, C: NoReg, Mem: mem(buf, i, 0)}}
		body := []*Node{
			{Kind: NInst, Inst: Inst{Op: OpLoad, Dst: a, A: NoReg, B: NoReg, C: NoReg, Mem: mem(buf, i, 0)}},
			first,
			{Kind: NInst, Inst: Inst{Op: OpLoad, Dst: b, A: NoReg, B: NoReg, C: NoReg, Mem: read}},
			{Kind: NInst, Inst: Inst{Op: OpMul, Dst: d, A: a, B: b, C: NoReg}},
			{Kind: NInst, Inst: Inst{Op: OpStore, Dst: NoReg, A: d, B: NoReg, C: NoReg, Mem: mem(buf, i, 0)}},
		}
		f.Body = []*Node{{Kind: NLoop, Index: j, Count: NoReg, CountImm: 2, Body: []*Node{
			{Kind: NLoop, Index: i, Count: NoReg, CountImm: n, Body: body}}}}
		dse(f)
		kept := false
		Walk(f.Body, func(nd *Node) { kept = kept || nd == first })
		assert.Equal(t, !c.gone, kept, "%s: first store kept", c.name)
	}
}

// With FuseElementwise, an op whose loop holds a loop (a matmul's rows)
// fuses with the residual add after it, x[i] += t[i] of the t it stores,
// and not with an add into t itself (a bias, t[i] += b[i]).
func TestFuseResidual(t *testing.T) {
	const n = 8
	for _, residual := range []bool{true, false} {
		f := &Func{FuseElementwise: true}
		tb, xb := &Buf{Name: "t", Kind: BufVar, Size: 4 * n}, &Buf{Name: "x", Kind: BufVar, Size: 4 * n}
		f.Bufs = []*Buf{tb, xb}
		mem := func(b *Buf, i Reg) Mem { return Mem{Buf: b, Base: NoReg, Index: i, Scale: 4, Width: 4} }
		i1, i2, j, a, b, c, d := f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32)
		inst := func(in Inst) *Node { return &Node{Kind: NInst, Inst: in} }
		matmul := &Node{Kind: NOp, Note: "matmul t", Body: []*Node{{Kind: NLoop, Index: i1, Count: NoReg, CountImm: n, Body: []*Node{
			inst(Inst{Op: OpConst, Dst: a, A: NoReg, B: NoReg, C: NoReg, Imm: 3}),
			{Kind: NLoop, Index: j, Count: NoReg, CountImm: 2, Body: []*Node{inst(Inst{Op: OpAdd, Dst: a, A: a, B: a, C: NoReg})}},
			inst(Inst{Op: OpStore, Dst: NoReg, A: a, B: NoReg, C: NoReg, Mem: mem(tb, i1)}),
		}}}}
		into, other := xb, tb
		if !residual {
			into, other = tb, xb
		}
		add := &Node{Kind: NOp, Note: "add", Body: []*Node{{Kind: NLoop, Index: i2, Count: NoReg, CountImm: n, Body: []*Node{
			inst(Inst{Op: OpLoad, Dst: b, A: NoReg, B: NoReg, C: NoReg, Mem: mem(into, i2)}),
			inst(Inst{Op: OpLoad, Dst: c, A: NoReg, B: NoReg, C: NoReg, Mem: mem(other, i2)}),
			inst(Inst{Op: OpAdd, Dst: d, A: b, B: c, C: NoReg}),
			inst(Inst{Op: OpStore, Dst: NoReg, A: d, B: NoReg, C: NoReg, Mem: mem(into, i2)}),
		}}}}
		f.Body = []*Node{matmul, add}
		require.True(t, fusable(matmul, add))
		fuse(f)
		assert.Equal(t, residual, len(f.Body) == 1, "residual=%v: fused", residual)
	}
}

// forward takes a load back from the store before it in the same straight
// run, of a value that two paths of an if before set (the gate's, in or
// out of its table), unless an instruction between sets the value again.
func TestForwardJoinedValue(t *testing.T) {
	for _, again := range []bool{false, true} {
		f := &Func{}
		buf := &Buf{Name: "t3", Kind: BufVar, Size: 32}
		f.Bufs = []*Buf{buf}
		i, c, w, x := f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32)
		m := Mem{Buf: buf, Base: NoReg, Index: i, Scale: 4, Width: 4}
		set := func(v int64) *Node {
			return &Node{Kind: NInst, Inst: Inst{Op: OpConst, Dst: w, A: NoReg, B: NoReg, C: NoReg, Imm: v}}
		}
		load := &Node{Kind: NInst, Inst: Inst{Op: OpLoad, Dst: x, A: NoReg, B: NoReg, C: NoReg, Mem: m}}
		body := []*Node{
			{Kind: NInst, Inst: Inst{Op: OpLoad, Dst: c, A: NoReg, B: NoReg, C: NoReg, Mem: m}},
			{Kind: NIf, Cond: c, Then: []*Node{set(1)}, Else: []*Node{set(2)}},
			{Kind: NInst, Inst: Inst{Op: OpStore, Dst: NoReg, A: w, B: NoReg, C: NoReg, Mem: m}},
		}
		if again {
			body = append(body, set(3))
		}
		body = append(body, load, &Node{Kind: NInst, Inst: Inst{Op: OpStore, Dst: NoReg, A: x, B: NoReg, C: NoReg, Mem: m}})
		f.Body = []*Node{{Kind: NLoop, Index: i, Count: NoReg, CountImm: 8, Body: body}}
		forward(f)
		if again {
			assert.Equal(t, OpLoad, load.Inst.Op, "w set again between")
			continue
		}
		assert.Equal(t, Inst{Op: OpCopy, Dst: x, A: w, B: NoReg, C: NoReg}, load.Inst)
	}
}
