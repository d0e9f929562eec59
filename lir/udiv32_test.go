package lir

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// udiv32 divides a 64-bit dividend by a 32-bit divisor to a 32-bit
// quotient (the one div x86 has); a quotient of 2^32 or more, which the
// machine's div would fault on, is the lowering's fault: a BUG.
func TestUDiv32(t *testing.T) {
	run := func(a int64, d int64) int64 {
		f := &Func{}
		ra, rd, q := f.NewReg(I64), f.NewReg(I32), f.NewReg(I32)
		c := func(r Reg, v int64) *Node {
			return &Node{Kind: NInst, Inst: Inst{Op: OpConst, Dst: r, A: NoReg, B: NoReg, C: NoReg, Imm: v}}
		}
		f.Body = []*Node{c(ra, a), c(rd, d), {Kind: NInst, Inst: Inst{Op: OpUDiv32, Dst: q, A: ra, B: rd, C: NoReg}}}
		assert.NoError(t, Verify(f))
		m := testMachine(f, nil)
		m.run(f.Body)
		return m.regs[q]
	}
	assert.Equal(t, int64(7), run(7*1000+999, 1000))
	assert.Equal(t, int64(-1), run(1<<32-1, 1), "2^32-1, as an i32")
	assert.Equal(t, int64(-1<<31), run(1<<62, 1<<31), "2^31: attention's largest")
	assert.PanicsWithValue(t, "BUG: lir: udiv32's quotient 0x100000000 is above 32 bits", func() { run(1<<32, 1) })
}
