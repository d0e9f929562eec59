package loopgen

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	x86 "tfc/codegen/x86_16"
	"tfc/lir"
	"tfc/regalloc"
)

// snippet selects and allocates the instructions of a tiny op: registers
// r0 (token) and r1 (pos) are i32 inputs, then each of ins in turn; it
// returns the listing.
func snippet(t *testing.T, types []lir.Type, ins ...lir.Inst) string {
	t.Helper()
	f := &lir.Func{Types: append([]lir.Type{lir.I32, lir.I32}, types...)}
	body := []*lir.Node{
		{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpToken, Dst: 0, A: lir.NoReg, B: lir.NoReg, C: lir.NoReg}},
		{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpPos, Dst: 1, A: lir.NoReg, B: lir.NoReg, C: lir.NoReg}},
	}
	for _, in := range ins {
		body = append(body, &lir.Node{Kind: lir.NInst, Inst: in})
	}
	k := newKernel(f, &Layout{}, "t", body)
	k.nodes(body)
	out, as, _, err := regalloc.AllocateSpilling(&k.k, regalloc.Options{}, func(i int) x86.Mem {
		return x86.D(x86.Abs16(uint16(spillBase + 4*i)))
	})
	require.NoError(t, err)
	var p x86.Program
	require.NoError(t, regalloc.Rewrite(out, as, &p))
	return p.Listing()
}

func in(op lir.Opcode, dst, a, b lir.Reg, imm int64) lir.Inst {
	return lir.Inst{Op: op, Dst: dst, A: a, B: b, C: lir.NoReg, Imm: imm}
}

// Each lir form selects the x86 form it should (as Go's test/codegen
// checks its compiler): the listing matches every pattern.
func TestSelection(t *testing.T) {
	const no = lir.NoReg
	for _, c := range []struct {
		name  string
		types []lir.Type
		ins   []lir.Inst
		want  []string
		not   []string // patterns the listing must not match
	}{
		{"a 32x32 product in edx:eax is one imul", []lir.Type{lir.I64},
			[]lir.Inst{in(lir.OpMulWide, 2, 0, 1, 0)}, []string{`(?m)^\s+imul e[a-z]x$`}, nil},
		{"unsigned: mul", []lir.Type{lir.I64},
			[]lir.Inst{in(lir.OpMulWideU, 2, 0, 1, 0)}, []string{`(?m)^\s+mul e[a-z]x$`}, nil},
		{"a rounding shift to 32 bits is shrd and adc", []lir.Type{lir.I64, lir.I32},
			[]lir.Inst{in(lir.OpMulWide, 2, 0, 1, 0), in(lir.OpRshrLo, 3, 2, no, 16)},
			[]string{`shrd e[a-z]+, e[a-z]+, 0x10`, `adc e[a-z]+, 0x0`}, nil},
		{"a constant factor is the immediate of a three-operand imul", []lir.Type{lir.I32, lir.I32},
			[]lir.Inst{in(lir.OpConst, 2, no, no, 100), in(lir.OpMul, 3, 0, 2, 0)},
			[]string{`imul e[a-z]+, e[a-z]+, 0x64`}, nil},
		{"a constant addend is an immediate, not a register", []lir.Type{lir.I32, lir.I32},
			[]lir.Inst{in(lir.OpConst, 2, no, no, 7), in(lir.OpAdd, 3, 0, 2, 0)},
			[]string{`add e[a-z]+, 0x7`}, nil},
		{"a 64-bit add carries", []lir.Type{lir.I64, lir.I64, lir.I64},
			[]lir.Inst{in(lir.OpExt, 2, 0, no, 0), in(lir.OpExt, 3, 1, no, 0), in(lir.OpAdd, 4, 2, 3, 0)},
			[]string{`add e[a-z]+, e[a-z]+`, `adc e[a-z]+, e[a-z]+`}, nil},
		{"a zero-extended addend's high dword is the immediate 0", []lir.Type{lir.I64, lir.I64, lir.I64},
			[]lir.Inst{in(lir.OpExt, 2, 0, no, 0), in(lir.OpExtU, 3, 1, no, 0), in(lir.OpAdd, 4, 2, 3, 0)},
			[]string{`add e[a-z]+, e[a-z]+`, `adc e[a-z]+, 0x0`}, []string{`xor`, `mov e[a-z]+, 0x0`}},
		{"an i64's sign mask (>> 63) is its high dword's sign, shifted once", []lir.Type{lir.I64, lir.I64},
			[]lir.Inst{in(lir.OpMulWide, 2, 0, 1, 0), in(lir.OpSarI, 3, 2, no, 63)},
			[]string{`sar e[a-z]+, 0x1f`}, []string{`(?s)sar.*sar`, `shrd`}},
		{"a shift by a register counts in cl", []lir.Type{lir.I32},
			[]lir.Inst{in(lir.OpShl, 2, 0, 1, 0)}, []string{`shl e[a-z]+, cl`}, nil},
		{"an unsigned 64/32 division is two divs", []lir.Type{lir.I64, lir.I64},
			[]lir.Inst{in(lir.OpExtU, 2, 0, no, 0), in(lir.OpUDiv, 3, 2, 1, 0)},
			[]string{`(?s)div e[a-z]+.*div e[a-z]+`}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := snippet(t, c.types, c.ins...)
			for _, w := range c.want {
				assert.Regexp(t, w, got, "listing:\n%s", strings.TrimSpace(got))
			}
			for _, w := range c.not {
				assert.NotRegexp(t, w, got, "listing:\n%s", strings.TrimSpace(got))
			}
		})
	}
}
