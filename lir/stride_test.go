package lir

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// stride makes a loop whose index only indexes memory by one scale step
// by that scale, its operands unscaled; scaled two ways (4 and 8), by
// the least, the others by what remains (2); an index that is also a
// value, or scaled by 1 somewhere, stays. An index shifted left by the scale or more is
// shifted by that much less; by less, it stays. A loop of a count in a
// register runs below a limit computed just before it, the count times
// the scale. In the flat model (no 16-bit addresses) only a loop of
// three operands or more indexed by it alone pays for its step.
func TestStride(t *testing.T) {
	for _, c := range []struct {
		name      string
		scale2    int64 // the second operand's scale
		value     bool  // the index is also added to a value
		counted   bool  // the count is in a register
		flat      bool
		operands  int
		shift     int64 // the index is also shifted left by this (0: not)
		wantStep  int64
		wantScale int64
		wantShift int64
	}{
		{"dwords", 4, false, false, false, 2, 0, 4, 1, 0},
		{"scales 4 and 1", 1, false, false, false, 2, 0, 0, 4, 0},
		{"scales 4 and 8", 8, false, false, false, 2, 0, 4, 1, 0},
		{"a value", 4, true, false, false, 2, 0, 0, 4, 0},
		{"a count in a register", 4, false, true, false, 2, 0, 4, 1, 0},
		{"flat, two operands", 4, false, false, true, 2, 0, 0, 4, 0},
		{"flat, three operands", 4, false, false, true, 3, 0, 4, 1, 0},
		{"shifted by 5", 4, false, false, false, 2, 5, 4, 1, 3},
		{"shifted by 1", 4, false, false, false, 2, 1, 0, 4, 1},
	} {
		f := &Func{Segmented: !c.flat}
		buf := &Buf{Name: "x", Kind: BufVar, Size: 64}
		f.Bufs = []*Buf{buf}
		i, a, b, n := f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32)
		load := func(dst Reg, scale, disp int64) *Node {
			return &Node{Kind: NInst, Inst: Inst{Op: OpLoad, Dst: dst, A: NoReg, B: NoReg, C: NoReg,
				Mem: Mem{Buf: buf, Base: NoReg, Index: i, Scale: scale, Disp: disp, Width: 4}}}
		}
		body := []*Node{load(a, 4, 0)}
		for k := 1; k < c.operands; k++ {
			body = append(body, load(b, c.scale2, 32+4*int64(k)))
		}
		if c.value {
			body = append(body, &Node{Kind: NInst, Inst: Inst{Op: OpAdd, Dst: a, A: a, B: i, C: NoReg}})
		}
		var shl *Node
		if c.shift > 0 {
			shl = &Node{Kind: NInst, Inst: Inst{Op: OpShlI, Dst: b, A: i, B: NoReg, C: NoReg, Imm: c.shift}}
			body = append(body, shl)
		}
		loop := &Node{Kind: NLoop, Index: i, Count: NoReg, CountImm: 8, Body: body}
		f.Body = []*Node{{Kind: NInst, Inst: Inst{Op: OpConst, Dst: n, A: NoReg, B: NoReg, C: NoReg, Imm: 8}}, loop}
		if c.counted {
			loop.Count = n
		}
		stride(f)
		assert.Equal(t, c.wantStep, loop.Step, "%s: step", c.name)
		assert.Equal(t, c.wantScale, body[0].Inst.Mem.Scale, "%s: scale", c.name)
		if c.scale2 == 8 {
			assert.Equal(t, int64(2), body[1].Inst.Mem.Scale, "%s: the second's scale", c.name)
		}
		if shl != nil {
			assert.Equal(t, c.wantShift, shl.Inst.Imm, "%s: shift", c.name)
		}
		if c.counted {
			// The limit, the count times 4, just before the loop.
			assert.Len(t, f.Body, 3, c.name)
			lim := f.Body[1].Inst
			assert.Equal(t, Inst{Op: OpShlI, Dst: loop.Limit, A: n, B: NoReg, C: NoReg, Imm: 2}, lim, c.name)
			assert.Same(t, loop, f.Body[2], c.name)
		}
	}
}

// A loop of a count in a register, strided, computes what it did: the
// machine runs it below its limit, stepping by the scale, and the index's
// shift and its multiply by a constant (by 72, a row of 72 bytes: then
// by 18) read the same offsets (a sum of dwords and of row offsets).
func TestStrideRegisterCountRuns(t *testing.T) {
	run := func(strided bool) int64 {
		f := &Func{Segmented: true}
		buf := &Buf{Name: "x", Kind: BufVar, Size: 64}
		f.Bufs = []*Buf{buf}
		n, i, v, sum, row := f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32)
		k72, row72 := f.NewReg(I32), f.NewReg(I32)
		in := func(op Opcode, dst, a, b Reg, imm int64) *Node {
			return &Node{Kind: NInst, Inst: Inst{Op: op, Dst: dst, A: a, B: b, C: NoReg, Imm: imm}}
		}
		load := in(OpLoad, v, NoReg, NoReg, 0)
		load.Inst.Mem = Mem{Buf: buf, Base: NoReg, Index: i, Scale: 4, Width: 4, Signed: true}
		mul := in(OpMul, row72, k72, i, 0)
		loop := &Node{Kind: NLoop, Index: i, Count: n, Once: true, Body: []*Node{
			load,
			in(OpAdd, sum, sum, v, 0),
			in(OpShlI, row, i, NoReg, 5),
			in(OpAdd, sum, sum, row, 0),
			mul,
			in(OpAdd, sum, sum, row72, 0),
		}}
		f.Body = []*Node{in(OpConst, n, NoReg, NoReg, 5), in(OpConst, sum, NoReg, NoReg, 0), in(OpConst, k72, NoReg, NoReg, 72), loop}
		if strided {
			stride(f)
			assert.Equal(t, int64(4), loop.Step)
			var by int64
			for _, x := range f.Body {
				if x.Kind == NInst && x.Inst.Op == OpConst && x.Inst.Dst == mul.Inst.B {
					by = x.Inst.Imm
				}
			}
			assert.Equal(t, int64(18), by, "the multiply's constant")
		}
		return runOver(f, buf, 3, 1, sum)
	}
	assert.Equal(t, run(false), run(true))
}

// A procedure's loop of a count in a register keeps its index (its
// limit would cost a call more than the scales save); one of a constant
// count strides there as anywhere.
func TestStrideInProcedures(t *testing.T) {
	for _, counted := range []bool{true, false} {
		f := &Func{Segmented: true}
		buf := &Buf{Name: "x", Kind: BufVar, Size: 64}
		f.Bufs = []*Buf{buf}
		i, a, n := f.NewReg(I32), f.NewReg(I32), f.NewReg(I32)
		load := &Node{Kind: NInst, Inst: Inst{Op: OpLoad, Dst: a, A: NoReg, B: NoReg, C: NoReg,
			Mem: Mem{Buf: buf, Base: NoReg, Index: i, Scale: 4, Width: 4}}}
		loop := &Node{Kind: NLoop, Index: i, Count: NoReg, CountImm: 8, Body: []*Node{load}}
		if counted {
			loop.Count = n
		}
		f.Procs = []*Proc{{Name: "p", Params: []Reg{n}, Body: []*Node{loop}}}
		stride(f)
		want := int64(4)
		if counted {
			want = 0
		}
		assert.Equal(t, want, loop.Step, "counted %v", counted)
	}
}

// A loop whose index is only shifted left (the store of k and v: each
// head's offset, i<<5) steps by the least shift's amount, and the shift
// by as much, a copy of the index, gives way to the index in what reads
// it (the loop then counts to 0, its index an address's base), unless
// something after the loop reads the copy. The sum it computes stays.
func TestStrideShiftedOnly(t *testing.T) {
	run := func(strided, readAfter bool) int64 {
		f := &Func{Segmented: true}
		buf := &Buf{Name: "x", Kind: BufVar, Size: 64}
		f.Bufs = []*Buf{buf}
		i, row, v, sum := f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32)
		in := func(op Opcode, dst, a, b Reg, imm int64) *Node {
			return &Node{Kind: NInst, Inst: Inst{Op: op, Dst: dst, A: a, B: b, C: NoReg, Imm: imm}}
		}
		load := in(OpLoad, v, NoReg, NoReg, 0)
		load.Inst.Mem = Mem{Buf: buf, Base: row, Index: NoReg, Scale: 1, Disp: 4, Width: 4, Signed: true}
		shl := in(OpShlI, row, i, NoReg, 3)
		loop := &Node{Kind: NLoop, Index: i, Count: NoReg, CountImm: 7, Body: []*Node{
			shl,
			load,
			in(OpAdd, sum, sum, v, 0),
		}}
		f.Body = []*Node{in(OpConst, sum, NoReg, NoReg, 0), loop}
		if readAfter {
			f.Body = append(f.Body, in(OpAdd, sum, sum, row, 0))
		}
		if strided {
			stride(f)
			assert.Equal(t, int64(8), loop.Step, "read after %v", readAfter)
			assert.Equal(t, OpCopy, shl.Inst.Op, "read after %v", readAfter)
			want := i
			if readAfter {
				want = row
			}
			assert.Equal(t, want, load.Inst.Mem.Base, "read after %v: the load's base", readAfter)
		}
		return runOver(f, buf, 5, 2, sum)
	}
	for _, after := range []bool{false, true} {
		assert.Equal(t, run(false, after), run(true, after), "read after %v", after)
	}
}

// runOver runs f's body on the machine, buf's byte k holding a·k + b,
// and returns register r.
func runOver(f *Func, buf *Buf, a, b int, r Reg) int64 {
	data := make([]byte, buf.Size)
	for k := range data {
		data[k] = byte(a*k + b)
	}
	m := testMachine(f, map[*Buf][]byte{buf: data})
	m.run(f.Body)
	return m.regs[r]
}

// Flat, a loop strides where an operand that its index alone addresses
// is an activation in low memory, whose address then takes a 16-bit
// form (llama2.tf's norm: x alone, the weights and the result through
// the procedure's pointers); not where the activations lie above 1 MiB.
func TestStrideFlatLowActivation(t *testing.T) {
	for _, low := range []bool{true, false} {
		f := &Func{LowActivations: low}
		x := &Buf{Name: "x", Kind: BufVar, Size: 256}
		w := &Buf{Name: "w", Kind: BufParam, Size: 256}
		f.Bufs = []*Buf{x, w}
		i, p, a, b := f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32)
		load := func(dst Reg, buf *Buf, base Reg) *Node {
			return &Node{Kind: NInst, Inst: Inst{Op: OpLoad, Dst: dst, A: NoReg, B: NoReg, C: NoReg,
				Mem: Mem{Buf: buf, Base: base, Index: i, Scale: 4, Width: 4}}}
		}
		body := []*Node{load(a, x, NoReg), load(b, w, p)}
		loop := &Node{Kind: NLoop, Index: i, Count: NoReg, CountImm: 64, Body: body}
		f.Body = []*Node{{Kind: NInst, Inst: Inst{Op: OpToken, Dst: p, A: NoReg, B: NoReg, C: NoReg}}, loop}
		stride(f)
		want := map[bool]int64{true: 4, false: 0}[low]
		assert.Equal(t, want, loop.Step, "low activations %v: step", low)
		assert.Equal(t, 4/max(want, 1), body[0].Inst.Mem.Scale, "low activations %v: x's scale", low)
	}
}

// An index that a compare with 0 also reads (attention's first position)
// still strides: index·scale is 0 where the index is. A compare with
// another constant, or an order, keeps it unscaled.
func TestStrideTestsForZero(t *testing.T) {
	for _, c := range []struct {
		name     string
		cond     Cond
		k        int64
		wantStep int64
	}{
		{"equal to 0", EQ, 0, 4},
		{"not 0", NE, 0, 4},
		{"equal to 1", EQ, 1, 0},
		{"above 0", GT, 0, 0},
	} {
		f := &Func{Segmented: true}
		buf := &Buf{Name: "x", Kind: BufVar, Size: 64}
		f.Bufs = []*Buf{buf}
		i, v, k, first := f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32)
		load := &Node{Kind: NInst, Inst: Inst{Op: OpLoad, Dst: v, A: NoReg, B: NoReg, C: NoReg,
			Mem: Mem{Buf: buf, Base: NoReg, Index: i, Scale: 4, Width: 4}}}
		test := &Node{Kind: NInst, Inst: Inst{Op: OpCmp, Dst: first, A: i, B: k, C: NoReg, Cond: c.cond}}
		loop := &Node{Kind: NLoop, Index: i, Count: NoReg, CountImm: 8, Body: []*Node{load, test}}
		f.Body = []*Node{{Kind: NInst, Inst: Inst{Op: OpConst, Dst: k, A: NoReg, B: NoReg, C: NoReg, Imm: c.k}}, loop}
		stride(f)
		assert.Equal(t, c.wantStep, loop.Step, "%s: step", c.name)
		assert.Equal(t, i, test.Inst.A, c.name)
	}
}
