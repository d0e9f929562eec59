package lir

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/ir"
)

// The simd pass turns a dot product into OpDot over the vector's digits,
// and the result is the exact 64-bit sum for the extreme values too:
// activations at both ends of int32 (where x − d0 would overflow), at
// every digit boundary, and weights of ±32767 at the lanes' bound of 256
// columns, or a tail of four.
func TestSimdExact(t *testing.T) {
	for _, n := range []int64{4, 12, 64, 172, 256} {
		rng := ir.Rng(uint64(n))
		x := make([]int32, n)
		edges := []int32{math.MaxInt32, math.MinInt32, -1, 0, 1, 1023, 1024, -1024, -1025, 2047, 2048, 1<<21 - 1, 1 << 21, -1 << 21, 1<<31 - 1024, 1<<31 - 1025}
		for i := range x {
			if i < len(edges) {
				x[i] = edges[i]
			} else {
				x[i] = int32(rng.U32())
			}
		}
		rows := 3
		w := make([]int32, rows*int(n))
		for i := range w {
			switch i % 3 {
			case 0:
				w[i] = 32767
			case 1:
				w[i] = -32767
			default:
				w[i] = int32(rng.U32()%65535) - 32767
			}
		}
		if n == 256 { // every product at the lanes' largest
			for i := range w {
				w[i], x[i%int(n)] = 32767, 1<<31-1024-1024+1023
			}
		}
		got, dots := runDot(t, x, w, rows)
		assert.Equal(t, 1, dots, "%d columns: dots after simd", n)
		for r := 0; r < rows; r++ {
			var want int64
			for j := int64(0); j < n; j++ {
				want += int64(w[int64(r)*n+j]) * int64(x[j])
			}
			assert.Equal(t, want, got[r], "%d columns, row %d", n, r)
		}
	}
}

// runDot builds a matmul's rows as lir.Lower does (the row offset, the
// weight at row + 2c, the row's multiplier after them, the vector's element, their wide product into
// an i64 sum stored per row), runs simd and the verifier, and interprets
// it. It returns the sums and the number of OpDots.
func runDot(t *testing.T, x, w []int32, rows int) ([]int64, int) {
	t.Helper()
	n := int64(len(x))
	q := &ir.Param{Name: "w", Layers: 1, Rows: rows, Cols: int(n), Quant: ir.Quant{Type: "int16", Per: "row"},
		Q: &ir.QData{Bits: 16, W: w, M: make([]int32, rows)}}
	logits := &ir.Var{Name: "x", Len: int(n)}
	p := &ir.Program{Layers: 1}
	p.Blocks[ir.PostBlock] = []*ir.Op{{Kind: ir.Argmax, Args: []*ir.Var{logits}}}
	f := &Func{}
	xb := &Buf{Name: "x", Kind: BufVar, Size: 4 * n, Of: logits}
	wb := &Buf{Name: "w", Kind: BufParam, Size: int64(rows) * (4 + 2*n), Of: q}
	out := &Buf{Name: "out", Kind: BufScratch, Size: 8 * int64(rows)}
	f.Bufs = []*Buf{xb, wb, out}
	inst := func(in Inst) *Node {
		for _, r := range []*Reg{&in.A, &in.B, &in.C} {
			if *r == 0 {
				*r = NoReg
			}
		}
		return &Node{Kind: NInst, Inst: in}
	}
	reg := func(ty Type) Reg { return f.NewReg(ty) }
	_ = reg(I32) // register 0 unused: inst takes 0 for none
	r, c, row, acc := reg(I32), reg(I32), reg(I32), reg(I64)
	k, k2, tw, a, wv, xv, pr := reg(I32), reg(I32), reg(I32), reg(I32), reg(I32), reg(I32), reg(I64)
	dot := &Node{Kind: NLoop, Index: c, Count: NoReg, CountImm: n, Body: []*Node{
		inst(Inst{Op: OpConst, Dst: k2, Imm: 2}),
		inst(Inst{Op: OpMul, Dst: tw, A: c, B: k2}),
		inst(Inst{Op: OpAdd, Dst: a, A: row, B: tw}),
		inst(Inst{Op: OpLoad, Dst: wv, Mem: Mem{Buf: wb, Base: NoReg, Index: a, Scale: 1, Width: 2, Signed: true}}),
		inst(Inst{Op: OpLoad, Dst: xv, Mem: Mem{Buf: xb, Base: NoReg, Index: c, Scale: 4, Width: 4, Signed: true}}),
		inst(Inst{Op: OpMulWide, Dst: pr, A: wv, B: xv}),
		inst(Inst{Op: OpAdd, Dst: acc, A: acc, B: pr}),
	}}
	f.Body = []*Node{{Kind: NLoop, Index: r, Count: NoReg, CountImm: int64(rows), Body: []*Node{
		inst(Inst{Op: OpConst, Dst: k, Imm: 4 + 2*n}),
		inst(Inst{Op: OpMul, Dst: row, A: r, B: k}),
		inst(Inst{Op: OpConst, Dst: acc}),
		dot,
		inst(Inst{Op: OpStore, Dst: NoReg, A: acc, Mem: Mem{Buf: out, Base: NoReg, Index: r, Scale: 8, Width: 8}}),
	}}}
	require.NoError(t, Verify(f), "before simd")
	simd(f)
	require.NoError(t, Verify(f), "after simd")
	dots := 0
	Walk(f.Body, func(x *Node) {
		if x.Kind == NInst && x.Inst.Op == OpDot {
			dots++
		}
	})
	m := NewMachine(f, p)
	xs := m.mem[xb][0]
	for i, v := range x {
		binary.LittleEndian.PutUint32(xs[4*i:], uint32(v))
	}
	m.run(f.Body)
	sums := make([]int64, rows)
	for i := range sums {
		sums[i] = int64(binary.LittleEndian.Uint64(m.mem[out][0][8*i:]))
	}
	return sums, dots
}
