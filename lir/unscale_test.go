package lir

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// unscale: a table's index, x>>11 scaled by 4, becomes (x>>9)&-4
// unscaled; a shift by less than the scale's power, an index scaled two
// ways or read as a value besides, and the flat model's index stay.
func TestUnscale(t *testing.T) {
	for _, c := range []struct {
		name      string
		shift     int64
		scale2    int64 // the second operand's scale
		value     bool  // the index is also added to a value
		flat      bool
		wantShift int64
		wantScale int64
	}{
		{"a table's entry", 11, 4, false, false, 9, 1},
		{"shifted by 1", 1, 4, false, false, 1, 4},
		{"two scales", 11, 1, false, false, 11, 4},
		{"a value", 11, 4, true, false, 11, 4},
		{"flat", 11, 4, false, true, 11, 4},
	} {
		f, x, shr, loads := tableFunc(c.shift, c.scale2, c.value)
		f.Segmented = !c.flat
		unscale(f)
		assert.Equal(t, c.wantShift, shr.Inst.Imm, "%s: shift", c.name)
		assert.Equal(t, c.wantScale, loads[0].Inst.Mem.Scale, "%s: scale", c.name)
		if c.wantScale == 1 {
			// x>>9, then and with -4 into the index the loads read.
			assert.Equal(t, x, shr.Inst.A, c.name)
			and := f.Body[3].Inst
			assert.Equal(t, OpAnd, and.Op, c.name)
			assert.Equal(t, shr.Inst.Dst, and.A, c.name)
			assert.Equal(t, int64(-4), f.Body[2].Inst.Imm, c.name)
			assert.Equal(t, and.Dst, loads[0].Inst.Mem.Index, c.name)
		}
		assert.NoError(t, Verify(f), c.name)
	}
}

// tableFunc is x = 0x12345; i = x>>shift; a = tab[i*4]; b = tab[i*scale2 + 4]
// (and a += i where value).
func tableFunc(shift, scale2 int64, value bool) (*Func, Reg, *Node, []*Node) {
	f := &Func{}
	tab := &Buf{Name: "tab", Kind: BufVar, Size: 1 << 12}
	f.Bufs = []*Buf{tab}
	x, i, a, b := f.NewReg(I32), f.NewReg(I32), f.NewReg(I32), f.NewReg(I32)
	in := func(op Opcode, dst, a, b Reg, imm int64) *Node {
		return &Node{Kind: NInst, Inst: Inst{Op: op, Dst: dst, A: a, B: b, C: NoReg, Imm: imm}}
	}
	shr := in(OpShrI, i, x, NoReg, shift)
	la, lb := in(OpLoad, a, NoReg, NoReg, 0), in(OpLoad, b, NoReg, NoReg, 0)
	la.Inst.Mem = Mem{Buf: tab, Base: NoReg, Index: i, Scale: 4, Width: 4, Signed: true}
	lb.Inst.Mem = Mem{Buf: tab, Base: NoReg, Index: i, Scale: scale2, Disp: 4, Width: 4, Signed: true}
	f.Body = []*Node{in(OpConst, x, NoReg, NoReg, 0x12345), shr, la, lb, in(OpSub, a, b, a, 0)}
	if value {
		f.Body = append(f.Body, in(OpAdd, a, a, i, 0))
	}
	return f, x, shr, []*Node{la, lb}
}

// The rewritten index reads the entries it read: the machine computes
// the same difference of two entries.
func TestUnscaleRuns(t *testing.T) {
	run := func(unscaled bool) int64 {
		f, _, _, loads := tableFunc(11, 4, false)
		f.Segmented = true
		if unscaled {
			unscale(f)
			assert.Equal(t, int64(1), loads[0].Inst.Mem.Scale)
		}
		tab := f.Bufs[0]
		data := make([]byte, tab.Size)
		for k := range data {
			data[k] = byte(7*k + 3)
		}
		m := testMachine(f, map[*Buf][]byte{tab: data})
		m.run(f.Body)
		return m.regs[loads[0].Inst.Dst]
	}
	assert.Equal(t, run(false), run(true))
}
