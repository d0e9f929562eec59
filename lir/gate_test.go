package lir

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"tfc/ir"
)

// The gate's one unsigned compare finds the table's range as
// ir.GateLookup does, where v − GateLow wraps in 32 bits too: at both
// ends of int32, around both ends of the table and inside it; its
// lookup, an OpLookup, and that made its instructions (the pass lookups)
// give ir.GateLookup's values.
func TestGateEdges(t *testing.T) {
	for _, inline := range []bool{false, true} {
		gateEdges(t, inline)
	}
}

func gateEdges(t *testing.T, inline bool) {
	var vals []int32
	for _, base := range []int64{ir.GateLow, ir.GateHigh, 0, math.MinInt32, math.MaxInt32} {
		for d := int64(-3); d <= 3; d++ {
			if v := base + d; v >= math.MinInt32 && v <= math.MaxInt32 {
				vals = append(vals, int32(v))
			}
		}
	}
	vals = append(vals, math.MaxInt32-ir.GateHigh+ir.GateLow, 12345, -777777)
	data := make([]int32, ir.GateEntries+1)
	for j := range data {
		data[j] = int32(j * 1049) // any increasing table
	}
	tab := &ir.Table{Name: "silu", Data: data}
	x := &ir.Var{Name: "x", Len: len(vals)}
	y := &ir.Var{Name: "y", Len: len(vals)}
	f := &Func{}
	lw := &lowerer{f: f, vars: map[*ir.Var]*Buf{}, tables: map[*ir.Table]*Buf{}}
	lw.b = builder{f: f, cur: &f.Body}
	lw.vars[x] = lw.buf(&Buf{Name: "x", Kind: BufVar, Size: int64(4 * len(vals))})
	lw.vars[y] = lw.buf(&Buf{Name: "y", Kind: BufVar, Size: int64(4 * len(vals))})
	lw.gate(&ir.Op{Args: []*ir.Var{x}, Dst: y, Table: tab})
	require.Equal(t, 1, countOp(f, OpLookup))
	// The multiply is the table's path's alone: outside it, v or 0.
	muls := map[string]int{}
	Walk(f.Body, func(n *Node) {
		if n.Kind == NIf && len(n.Else) > 0 {
			muls["then"] += countOp(&Func{Body: n.Then}, OpMulWide)
			muls["else"] += countOp(&Func{Body: n.Else}, OpMulWide)
		}
	})
	require.Equal(t, map[string]int{"then": 1, "else": 0}, muls)
	if inline {
		lookups(f)
		require.Equal(t, 0, countOp(f, OpLookup))
	}
	require.NoError(t, Verify(f))
	words := func(vs []int32) []byte {
		var s []byte
		for _, v := range vs {
			s = binary.LittleEndian.AppendUint32(s, uint32(v))
		}
		return s
	}
	m := testMachine(f, map[*Buf][]byte{lw.vars[x]: words(vals), lw.tables[tab]: words(data)})
	m.run(f.Body)
	out := m.mem[lw.vars[y]][0]
	for i, v := range vals {
		want := int32(ir.Rshr(int64(v)*int64(ir.GateLookup(data, v)), ir.GateBits))
		require.Equal(t, want, int32(binary.LittleEndian.Uint32(out[4*i:])), "x = %d (inline %v)", v, inline)
	}
}

// countOp counts f's instructions of op.
func countOp(f *Func, op Opcode) int {
	n := 0
	walkAll(f, func(x *Node) {
		if x.Kind == NInst && x.Inst.Op == op {
			n++
		}
	})
	return n
}

// For size, a Func's one lookup is made its instructions (its routine
// would cost more than it saves); two or more stay lookups.
func TestLoneLookup(t *testing.T) {
	for _, n := range []int{1, 2, 3} {
		tab := &Buf{Name: "t", Kind: BufTable, Size: 4 * (ir.GateEntries + 1)}
		f := &Func{Bufs: []*Buf{tab}}
		b := &builder{f: f, cur: &f.Body}
		u := b.c32(5000)
		for range n {
			b.lookup(f.NewReg(I32), tab, u, ir.GateStepBits)
		}
		require.NoError(t, Verify(f))
		lonelookup(f)
		require.NoError(t, Verify(f))
		want := n
		if n == 1 {
			want = 0
		}
		require.Equal(t, want, countOp(f, OpLookup), "%d lookups", n)
	}
}
