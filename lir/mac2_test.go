package lir

import (
	"encoding/binary"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mac2 is rshr(a·t0 + b·t1, n) with its products and their sum in 64
// bits, to the low dword: the lowering's rope (a·s + b·c, a·c + b·(−s))
// equals the simulator's a·c − b·s where the sum is exact, as it is for
// Q1.30 tables. Checked against the sum in big integers, rounded half
// up, at the extremes of the factors.
func TestMac2(t *testing.T) {
	run := func(a, b, t0, t1 int32, n int64) int64 {
		f := &Func{}
		tab := &Buf{Name: "tab", Kind: BufTable, Size: 16}
		f.Bufs = []*Buf{tab}
		ra, rb, d := f.NewReg(I32), f.NewReg(I32), f.NewReg(I32)
		c := func(r Reg, v int32) *Node {
			return &Node{Kind: NInst, Inst: Inst{Op: OpConst, Dst: r, A: NoReg, B: NoReg, C: NoReg, Imm: int64(v)}}
		}
		m0 := Mem{Buf: tab, Base: NoReg, Index: NoReg, Disp: 4, Width: 4, Signed: true}
		m1 := m0
		m1.Disp = 12
		f.Body = []*Node{c(ra, a), c(rb, b), {Kind: NInst, Inst: Inst{Op: OpMac2, Dst: d, A: ra, B: rb, C: NoReg, Imm: n, Mem: m0, Mem2: m1}}}
		require.NoError(t, Verify(f))
		data := make([]byte, 16)
		binary.LittleEndian.PutUint32(data[4:], uint32(t0))
		binary.LittleEndian.PutUint32(data[12:], uint32(t1))
		m := testMachine(f, map[*Buf][]byte{tab: data})
		m.run(f.Body)
		return m.regs[d]
	}
	want := func(a, b, t0, t1 int32, n int64) int64 {
		s := new(big.Int).Mul(big.NewInt(int64(a)), big.NewInt(int64(t0)))
		s.Add(s, new(big.Int).Mul(big.NewInt(int64(b)), big.NewInt(int64(t1))))
		s.Add(s, big.NewInt(1<<(n-1)))
		s.Rsh(s, uint(n))
		return int64(int32(uint32(s.Int64())))
	}
	const lo, hi = -1 << 31, 1<<31 - 1
	for _, c := range []struct {
		a, b, t0, t1 int32
		n            int64
	}{
		{3 << 16, -5 << 16, 1 << 30, -(1 << 29), 30},
		{lo, lo, 1 << 30, -(1 << 30), 30},
		{hi, lo, -(1 << 30), 1 << 30, 30},
		{lo, hi, 1<<30 - 1, 1<<30 - 1, 30},
		{-1, 1, 1, 0, 1}, // -0.5 rounds up to 0
		{-3, 0, 1, 5, 1}, // -1.5 rounds up to -1
	} {
		assert.Equal(t, want(c.a, c.b, c.t0, c.t1, c.n), run(c.a, c.b, c.t0, c.t1, c.n), "%+v", c)
	}
}

// A mac2 reads dwords of the function's tables, signed, and shifts by 1
// to 31: verify refuses others.
func TestVerifyMac2(t *testing.T) {
	f := &Func{}
	tab := &Buf{Name: "tab", Kind: BufTable, Size: 16}
	v := &Buf{Name: "v", Kind: BufVar, Size: 16}
	f.Bufs = []*Buf{tab, v}
	ra, d := f.NewReg(I32), f.NewReg(I32)
	konst := &Node{Kind: NInst, Inst: Inst{Op: OpConst, Dst: ra, A: NoReg, B: NoReg, C: NoReg, Imm: 1}}
	good := Mem{Buf: tab, Base: NoReg, Index: NoReg, Width: 4, Signed: true}
	mac := func(m Mem, n int64) error {
		f.Body = []*Node{konst, {Kind: NInst, Inst: Inst{Op: OpMac2, Dst: d, A: ra, B: ra, C: NoReg, Imm: n, Mem: good, Mem2: m}}}
		return Verify(f)
	}
	assert.NoError(t, mac(good, 30))
	assert.Error(t, mac(good, 0), "a shift of 0")
	bad := good
	bad.Buf = v
	assert.Error(t, mac(bad, 30), "a var")
	bad = good
	bad.Width = 2
	assert.Error(t, mac(bad, 30), "a word")
	bad = good
	bad.Signed = false
	assert.Error(t, mac(bad, 30), "unsigned")
}
