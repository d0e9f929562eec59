package loopgen

import (
	"regexp"
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
	body := inputs()
	for _, in := range ins {
		body = append(body, &lir.Node{Kind: lir.NInst, Inst: in})
	}
	return listing(t, f, &Layout{}, body)
}

// inputs are the nodes that read the token into r0 and the position into
// r1.
func inputs() []*lir.Node {
	return []*lir.Node{
		{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpToken, Dst: 0, A: lir.NoReg, B: lir.NoReg, C: lir.NoReg}},
		{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpPos, Dst: 1, A: lir.NoReg, B: lir.NoReg, C: lir.NoReg}},
	}
}

// listing selects body's instructions, allocates them and returns the
// listing.
func listing(t *testing.T, f *lir.Func, l *Layout, body []*lir.Node) string {
	t.Helper()
	return listingFor(t, f, l, body, false)
}

// listingFor is listing, for size where short is set.
func listingFor(t *testing.T, f *lir.Func, l *Layout, body []*lir.Node, short bool) string {
	t.Helper()
	return listingWith(t, f, l, body, short, false)
}

// listingWith is listingFor, sign extensions with cdq where cdq is set.
func listingWith(t *testing.T, f *lir.Func, l *Layout, body []*lir.Node, short, cdq bool) string {
	t.Helper()
	return listingOf(t, f, l, body, short, variant{cdq: cdq})
}

// listingOf is listingFor, selected as variant v.
func listingOf(t *testing.T, f *lir.Func, l *Layout, body []*lir.Node, short bool, v variant) string {
	t.Helper()
	k := newKernel(f, l, "t", body)
	k.short, k.variant = short, v
	k.bound(body, 256)
	k.nodes(body)
	deadCode(&k.k)
	out, as, _, err := regalloc.AllocateSpilling(&k.k, allocOptions(), func(i int) x86.Mem {
		return x86.D(x86.Abs16(uint16(spillBase + 4*i)))
	})
	require.NoError(t, err)
	var p x86.Program
	require.NoError(t, regalloc.Rewrite(out, as, &p))
	return p.Listing()
}

// oneBuf is a layout of buf alone, at offset 0x100 of the low
// activations (flat, in ES's segment) where low is set, else past 1 MiB.
func oneBuf(buf *lir.Buf, low bool) *Layout {
	if low {
		return &Layout{Low: true, LowBase: LowActivations, Group: map[*lir.Buf]Group{buf: activations},
			Addr: map[*lir.Buf]uint32{buf: LowActivations + 0x100}}
	}
	return &Layout{Addr: map[*lir.Buf]uint32{buf: 0x100000 + 0x100}}
}

func in(op lir.Opcode, dst, a, b lir.Reg, imm int64) lir.Inst {
	return lir.Inst{Op: op, Dst: dst, A: a, B: b, C: lir.NoReg, Imm: imm}
}

// count is r3 = r0 + (r0 cond b), b r1 or (4) the constant 0x7f, then
// its store.
func count(c lir.Cond, b lir.Reg) []lir.Inst {
	const no = lir.NoReg
	return []lir.Inst{in(lir.OpConst, 4, no, no, 0x7f), in(lir.OpCopy, 3, 0, no, 0),
		{Op: lir.OpCmp, Cond: c, Dst: 2, A: 0, B: b, C: no}, in(lir.OpAdd, 3, 3, 2, 0),
		{Op: lir.OpStore, Dst: no, A: 3, B: no, C: no, Mem: lir.Mem{Base: 1, Index: no, Width: 4}}}
}

var countTypes = []lir.Type{lir.I32, lir.I32, lir.I32}

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
		{"a 64-bit constant with a low dword of 0 adds to the high dword alone", []lir.Type{lir.I64, lir.I64, lir.I64},
			[]lir.Inst{in(lir.OpExt, 2, 0, no, 0), in(lir.OpConst, 3, no, no, 0x40<<32), in(lir.OpAdd, 4, 2, 3, 0)},
			[]string{`add e[a-z]+, 0x40`}, []string{`adc`, `add e[a-z]+, 0x0`}},
		{"a zero-extended value plus a constant above it is two moves", []lir.Type{lir.I64, lir.I64, lir.I64},
			[]lir.Inst{in(lir.OpExtU, 2, 0, no, 0), in(lir.OpConst, 3, no, no, 0x40<<32), in(lir.OpAdd, 4, 2, 3, 0),
				{Op: lir.OpStore, Dst: no, A: 4, B: no, C: no, Mem: lir.Mem{Base: 1, Index: no, Width: 8}}},
			[]string{`mov e[a-z]+, 0x40`}, []string{`xor`, `add`}},
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
		{"a shift's count loaded from a byte is loaded into cl last, after the value's moves (the value read again after)", []lir.Type{lir.I64, lir.I32, lir.I64},
			[]lir.Inst{in(lir.OpExt, 2, 0, no, 0),
				{Op: lir.OpLoad, Dst: 3, A: no, B: no, C: no, Mem: lir.Mem{Base: 1, Index: no, Width: 1}},
				in(lir.OpShl, 4, 2, 3, 0),
				{Op: lir.OpStore, Dst: no, A: 4, B: no, C: no, Mem: lir.Mem{Base: 1, Index: no, Width: 8}},
				{Op: lir.OpStore, Dst: no, A: 2, B: no, C: no, Mem: lir.Mem{Base: 1, Index: no, Disp: 8, Width: 8}}},
			[]string{`(?m)^\s+movzx ecx, byte \[[a-z]+\]\n\s+shld e[a-z]+, e[a-z]+, cl$`}, []string{`mov ecx, e[a-z]+`}},
		{"a select jumps on its comparison's flags, a constant between them too", []lir.Type{lir.I32, lir.I32, lir.I32},
			[]lir.Inst{{Op: lir.OpCmp, Cond: lir.GEU, Dst: 2, A: 0, B: 1, C: no}, in(lir.OpConst, 3, no, no, 0),
				{Op: lir.OpSelect, Dst: 4, A: 0, B: 3, C: 2}},
			[]string{`cmp e[a-z]+, e[a-z]+\s+(mov e[a-z]+, 0x0\s+)?jb `}, []string{`set`, `test`}},
		{"an address that is a register alone is that register, not a lea", []lir.Type{lir.I32},
			[]lir.Inst{{Op: lir.OpAddr, Dst: 2, A: no, B: no, C: no, Mem: lir.Mem{Base: 1, Index: no, Width: 4}},
				{Op: lir.OpStore, Dst: no, A: 0, B: no, C: no, Mem: lir.Mem{Base: 2, Index: no, Width: 4}}},
			[]string{`mov dword \[e[a-z]+\], e[a-z]+`}, []string{`lea`}},
		{"a count of unsigned belows adds the carry", countTypes, count(lir.LTU, 1), []string{`cmp e[a-z]+, e[a-z]+\s+adc e[a-z]+, 0x0`}, []string{`set`}},
		{"a count of unsigned at-or-aboves subtracts the borrow from -1", countTypes, count(lir.GEU, 1), []string{`cmp e[a-z]+, e[a-z]+\s+sbb e[a-z]+, -0x1`}, []string{`set`}},
		{"a count of unsigned aboves a constant compares with the next one", countTypes, count(lir.GTU, 4),
			[]string{`cmp e[a-z]+, 0x80\s+sbb e[a-z]+, -0x1`}, []string{`set`}},
		{"a count of signed belows takes a setcc", countTypes, count(lir.LT, 1), []string{`setl [a-d]l`, `add e[a-z]+, e[a-z]+`}, nil},
		{"a rounding shift by a register whose low dword alone is read adds the carry of a shrd", []lir.Type{lir.I64, lir.I64, lir.I32},
			[]lir.Inst{in(lir.OpExt, 2, 0, no, 0), in(lir.OpRshr, 3, 2, 1, 0), in(lir.OpLo, 4, 3, no, 0),
				{Op: lir.OpStore, Dst: no, A: 4, B: no, C: no, Mem: lir.Mem{Base: 0, Index: no, Width: 4}}},
			[]string{`(?m)^\s+clc\n\s+shrd e[a-z]+, e[a-z]+, cl\n\s+adc e[a-z]+, 0x0$`}, []string{`shl`}},
		{"a rounding shift by a register read whole adds its bias", []lir.Type{lir.I64, lir.I64, lir.I32},
			[]lir.Inst{in(lir.OpExt, 2, 0, no, 0), in(lir.OpRshr, 3, 2, 1, 0),
				{Op: lir.OpStore, Dst: no, A: 3, B: no, C: no, Mem: lir.Mem{Base: 0, Index: no, Width: 8}}},
			[]string{`shl e[a-z]+, cl`, `sar e[a-z]+, cl`}, []string{`clc`}},
		{"an i32's magnitude through its sign mask is a test, a jns and a neg", []lir.Type{lir.I32, lir.I32, lir.I32},
			[]lir.Inst{in(lir.OpSarI, 2, 0, no, 31), in(lir.OpXor, 3, 0, 2, 0), in(lir.OpSub, 4, 3, 2, 0),
				{Op: lir.OpStore, Dst: no, A: 4, B: no, C: no, Mem: lir.Mem{Base: 1, Index: no, Width: 4}}},
			[]string{`(?m)^\s+test (e[a-z]+), (e[a-z]+)\n\s+jns [^\n]+\n\s+neg e[a-z]+$`}, []string{`sar`, `xor`}},
		{"a sign mask read elsewhere too stays", []lir.Type{lir.I32, lir.I32, lir.I32},
			[]lir.Inst{in(lir.OpSarI, 2, 0, no, 31), in(lir.OpXor, 3, 0, 2, 0), in(lir.OpSub, 4, 3, 2, 0),
				{Op: lir.OpStore, Dst: no, A: 4, B: no, C: no, Mem: lir.Mem{Base: 1, Index: no, Width: 4}},
				{Op: lir.OpStore, Dst: no, A: 2, B: no, C: no, Mem: lir.Mem{Base: 1, Index: no, Disp: 4, Width: 4}}},
			[]string{`sar e[a-z]+, 0x1f`}, []string{`jns`}},
		{"a register plus another shifted left by 2 is one lea", []lir.Type{lir.I32, lir.I32},
			[]lir.Inst{in(lir.OpShlI, 2, 0, no, 2), in(lir.OpAdd, 3, 1, 2, 0),
				{Op: lir.OpStore, Dst: no, A: 3, B: no, C: no, Mem: lir.Mem{Base: 1, Index: no, Width: 4}}},
			[]string{`lea e[a-z]+, \[e[a-z]+\+e[a-z]+\*4\]`}, []string{`shl`, `add`}},
		{"a shift by 4 stays a shift", []lir.Type{lir.I32, lir.I32},
			[]lir.Inst{in(lir.OpShlI, 2, 0, no, 4), in(lir.OpAdd, 3, 1, 2, 0),
				{Op: lir.OpStore, Dst: no, A: 3, B: no, C: no, Mem: lir.Mem{Base: 1, Index: no, Width: 4}}},
			[]string{`shl e[a-z]+, 0x4`, `add e[a-z]+, e[a-z]+`}, []string{`lea`}},
		{"an unsigned 64/32 division is two divs", []lir.Type{lir.I64, lir.I64},
			[]lir.Inst{in(lir.OpExtU, 2, 0, no, 0), in(lir.OpUDiv, 3, 2, 1, 0)},
			[]string{`(?s)div e[a-z]+.*div e[a-z]+`}, nil},
		{"a 64/32 division whose quotient fits 32 bits is one div", []lir.Type{lir.I64, lir.I32},
			[]lir.Inst{in(lir.OpExtU, 2, 0, no, 0), in(lir.OpUDiv32, 3, 2, 1, 0)},
			[]string{`div e[a-z]+`}, []string{`(?s)div e[a-z]+.*div e[a-z]+`}},
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

// -march sse2's two instructions: OpSplit turns four dwords into three
// rows of word digits (low 11 bits sign-extended by a shift pair, the rest
// ((x >> 10) + 1) >> 1 with xmm7's −1s), and OpDot's first chunk of
// products starts each digit row's sum (no pxor, no paddd into zeros); a
// row of 12 columns ends with a movq of its last four weights.
func TestSimdSelection(t *testing.T) {
	x := &lir.Buf{Name: "x", Kind: lir.BufVar, Size: 4 * 12}
	w := &lir.Buf{Name: "w", Kind: lir.BufParam, Size: 2 * 12}
	d := &lir.Buf{Name: "digits", Kind: lir.BufScratch, Size: 6 * lir.DigitRow(12)}
	l := &Layout{Addr: map[*lir.Buf]uint32{x: 0x100000, w: 0x110000, d: 0x120000}}
	f := &lir.Func{Types: []lir.Type{lir.I32, lir.I64}}
	body := []*lir.Node{
		{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpToken, Dst: 0, A: lir.NoReg, B: lir.NoReg, C: lir.NoReg}},
		{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpSplit, Dst: lir.NoReg, A: lir.NoReg, B: lir.NoReg, C: lir.NoReg, Imm: 2 * lir.DigitRow(12),
			Mem:  lir.Mem{Buf: x, Base: lir.NoReg, Index: 0, Scale: 4, Width: 4},
			Mem2: lir.Mem{Buf: d, Base: lir.NoReg, Index: 0, Scale: 2, Width: 2, Signed: true}}},
		{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpDot, Dst: 1, A: lir.NoReg, B: lir.NoReg, C: lir.NoReg, Imm: 12,
			Mem:  lir.Mem{Buf: w, Base: lir.NoReg, Index: lir.NoReg, Width: 2, Signed: true},
			Mem2: lir.Mem{Buf: d, Base: lir.NoReg, Index: lir.NoReg, Width: 2, Signed: true}}},
	}
	got := listing(t, f, l, body)
	for _, want := range []string{
		`movdqu xmm0, oword \[e[a-z]+\*4\+0x100000\]\n\s+pcmpeqd xmm7, xmm7\n`,
		`pslld xmm1, 0x15\n\s+psrad xmm1, 0x15\n\s+packssdw xmm1, xmm1\n\s+movq qword \[e[a-z]+\*2\+0x120000\], xmm1\n` +
			`\s+psrad xmm0, 0xa\n\s+psubd xmm0, xmm7\n\s+psrad xmm0, 0x1\n`,
		`movq qword \[e[a-z]+\*2\+0x120020\], xmm1\n`,
		`packssdw xmm0, xmm0\n\s+movq qword \[e[a-z]+\*2\+0x120040\], xmm0\n`,
		`movdqu xmm3, oword \[dword 0x110000\]\n\s+movdqu xmm0, oword \[dword 0x120000\]\n\s+pmaddwd xmm0, xmm3\n` +
			`\s+movdqu xmm1, oword \[dword 0x120020\]\n\s+pmaddwd xmm1, xmm3\n`,
		`movq xmm3, qword \[dword 0x110010\]\n\s+movdqu xmm4, oword \[dword 0x120010\]\n\s+pmaddwd xmm4, xmm3\n\s+paddd xmm0, xmm4\n`,
	} {
		assert.Regexp(t, want, got, "listing:\n%s", strings.TrimSpace(got))
	}
	assert.NotContains(t, got, "pxor", "listing:\n%s", strings.TrimSpace(got))
}

// A loop over a count in a register tests the count before its first
// pass, unless the lowering knows it runs at least once (Once).
func TestLoopOnce(t *testing.T) {
	for _, once := range []bool{false, true} {
		f := &lir.Func{Types: []lir.Type{lir.I32, lir.I32, lir.I32, lir.I32}}
		body := append(inputs(),
			&lir.Node{Kind: lir.NLoop, Index: 3, Count: 1, Once: once, Body: []*lir.Node{
				{Kind: lir.NInst, Inst: in(lir.OpAdd, 0, 0, 3, 0)},
			}},
			&lir.Node{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpStore, Dst: lir.NoReg, A: 0, B: lir.NoReg, C: lir.NoReg,
				Mem: lir.Mem{Base: 1, Index: lir.NoReg, Width: 4}}},
		)
		got := listing(t, f, &Layout{}, body)
		if once {
			assert.NotContains(t, got, "jge", "once: listing:\n%s", got)
		} else {
			assert.Contains(t, got, "jge", "listing:\n%s", got)
		}
		assert.Contains(t, got, "jl", "listing:\n%s", got)
	}
}

// For size, a loop whose index stays below 0x8000 steps and compares its
// low 16 bits (no 0x66 prefix); at -O2, beyond 0x7fff, or where the body
// writes the index too, all 32 bits.
func TestShortLoop(t *testing.T) {
	for _, c := range []struct {
		name   string
		short  bool
		count  int64
		writes bool
		want   string
	}{
		{"for size", true, 64, false, `(?m)^\s+inc [a-ds][xi]\n\s+cmp [a-ds][xi], 0x40\n\s+jl `},
		{"for speed", false, 64, false, `(?m)^\s+inc e[a-ds][xi]\n\s+cmp e[a-ds][xi], 0x40\n\s+jl `},
		{"the index reaches 0x8000", true, 0x8000, false, `(?m)^\s+inc e[a-ds][xi]\n\s+cmp e[a-ds][xi], 0x8000\n`},
		{"the body writes the index", true, 64, true, `(?m)^\s+inc e[a-ds][xi]\n\s+cmp e[a-ds][xi], 0x40\n`},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &lir.Func{Types: []lir.Type{lir.I32, lir.I32, lir.I32}}
			body := []*lir.Node{{Kind: lir.NInst, Inst: in(lir.OpAdd, 0, 0, 2, 0)}}
			if c.writes {
				body = append(body, &lir.Node{Kind: lir.NInst, Inst: in(lir.OpAdd, 2, 2, 0, 0)})
			}
			nodes := append(inputs(),
				&lir.Node{Kind: lir.NLoop, Index: 2, Count: lir.NoReg, CountImm: c.count, Body: body},
				&lir.Node{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpStore, Dst: lir.NoReg, A: 0, B: lir.NoReg, C: lir.NoReg,
					Mem: lir.Mem{Base: 1, Index: lir.NoReg, Width: 4}}},
			)
			got := listingFor(t, f, &Layout{}, nodes, c.short)
			assert.Regexp(t, c.want, got, "listing:\n%s", got)
		})
	}
}

// A loop's index (below its count) shifted right shifts its low word,
// arithmetic or logical alike (its sign is clear): for size, where
// only a word of the result is read, the move before it takes a word
// too; a value that may reach 0x10000 shifts all 32 bits.
func TestShiftLowWord(t *testing.T) {
	for _, c := range []struct {
		name  string
		op    lir.Opcode
		count int64
		want  string
	}{
		{"logical", lir.OpShrI, 64, `(?m)^\s+shr [a-ds][xi], 0x1$`},
		{"arithmetic", lir.OpSarI, 64, `(?m)^\s+shr [a-ds][xi], 0x1$`},
		{"0x10000 or more", lir.OpShrI, 0x10001, `(?m)^\s+shr e[a-ds][xi], 0x1$`},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &lir.Func{Types: []lir.Type{lir.I32, lir.I32, lir.I32, lir.I32}}
			body := []*lir.Node{
				{Kind: lir.NInst, Inst: in(c.op, 3, 2, lir.NoReg, 1)},
				{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpStore, Dst: lir.NoReg, A: 3, B: lir.NoReg, C: lir.NoReg,
					Mem: lir.Mem{Base: 1, Index: lir.NoReg, Width: 2}}},
			}
			nodes := append(inputs(), &lir.Node{Kind: lir.NLoop, Index: 2, Count: lir.NoReg, CountImm: c.count, Body: body})
			got := listingFor(t, f, &Layout{}, nodes, true)
			assert.Regexp(t, c.want, got, "listing:\n%s", got)
		})
	}
}

// A loop whose index nothing reads counts its passes down to 0 (dec,
// jnz), in 16 bits for size; one over a count in a register that may be
// 0 tests it first and counts up.
func TestCountDown(t *testing.T) {
	for _, c := range []struct {
		name      string
		short     bool
		count     lir.Reg
		once      bool
		want, not string
	}{
		{"for size", true, lir.NoReg, false, `(?m)^\s+mov ([a-ds][xi]), 0x40\n[^\n]*:\n(.*\n)+\s+dec ([a-ds][xi])\n\s+jne `, `cmp`},
		{"for speed", false, lir.NoReg, false, `(?m)^\s+mov (e[a-ds][xi]), 0x40\n[^\n]*:\n(.*\n)+\s+dec e[a-ds][xi]\n\s+jne `, `cmp`},
		{"a count in a register, once", false, 1, true, `(?m)^\s+dec e[a-ds][xi]\n\s+jne `, `cmp`},
		{"a count in a register", false, 1, false, `(?m)^\s+inc e[a-ds][xi]\n\s+cmp `, `dec`},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &lir.Func{Types: []lir.Type{lir.I32, lir.I32, lir.I32}}
			nodes := append(inputs(),
				&lir.Node{Kind: lir.NLoop, Index: 2, Count: c.count, CountImm: 64, Once: c.once, Body: []*lir.Node{
					{Kind: lir.NInst, Inst: in(lir.OpAdd, 0, 0, 1, 0)}}},
				&lir.Node{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpStore, Dst: lir.NoReg, A: 0, B: lir.NoReg, C: lir.NoReg,
					Mem: lir.Mem{Base: 1, Index: lir.NoReg, Width: 4}}},
			)
			got := listingFor(t, f, &Layout{}, nodes, c.short)
			assert.Regexp(t, c.want, got, "listing:\n%s", got)
			assert.NotContains(t, got, c.not, "listing:\n%s", got)
		})
	}
}

// A loop whose body ends shifting right by one a running bit that
// starts at the count's highest bit ends on the shift's zero flag, with
// no count; a bit that starts lower counts down.
func TestBitLoop(t *testing.T) {
	for _, c := range []struct {
		start     int64
		want, not string
	}{
		{-1 << 31, `(?m)^\s+shr e[a-z]+, 0x1\n\s+jne `, `dec`},
		{1 << 30, `(?m)^\s+dec [a-ds][xi]\n\s+jne `, `cmp`},
	} {
		f := &lir.Func{Types: []lir.Type{lir.I32, lir.I32, lir.I32, lir.I32}}
		nodes := append(inputs(),
			&lir.Node{Kind: lir.NInst, Inst: in(lir.OpConst, 2, lir.NoReg, lir.NoReg, c.start)},
			&lir.Node{Kind: lir.NLoop, Index: 3, Count: lir.NoReg, CountImm: 32, Body: []*lir.Node{
				{Kind: lir.NInst, Inst: in(lir.OpOr, 0, 0, 2, 0)},
				{Kind: lir.NInst, Inst: in(lir.OpShrI, 2, 2, lir.NoReg, 1)}}},
			&lir.Node{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpStore, Dst: lir.NoReg, A: 0, B: lir.NoReg, C: lir.NoReg,
				Mem: lir.Mem{Base: 1, Index: lir.NoReg, Width: 4}}},
		)
		got := listingFor(t, f, &Layout{}, nodes, true)
		assert.Regexp(t, c.want, got, "start %#x: listing:\n%s", c.start, got)
		assert.NotContains(t, got, c.not, "start %#x: listing:\n%s", c.start, got)
	}
}

// For size, a loop over the positions so far (a count of pos+1, below
// the steps the image runs, 256 here) steps and compares in 16 bits.
func TestShortLoopToPosition(t *testing.T) {
	const no = lir.NoReg
	f := &lir.Func{Types: []lir.Type{lir.I32, lir.I32, lir.I32, lir.I32, lir.I32}}
	nodes := append(inputs(),
		&lir.Node{Kind: lir.NInst, Inst: in(lir.OpConst, 2, no, no, 1)},
		&lir.Node{Kind: lir.NInst, Inst: in(lir.OpAdd, 3, 1, 2, 0)},
		&lir.Node{Kind: lir.NLoop, Index: 4, Count: 3, Once: true, Body: []*lir.Node{
			{Kind: lir.NInst, Inst: in(lir.OpAdd, 0, 0, 4, 0)}}},
		&lir.Node{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpStore, Dst: no, A: 0, B: no, C: no,
			Mem: lir.Mem{Base: 1, Index: no, Width: 4}}},
	)
	got := listingFor(t, f, &Layout{}, nodes, true)
	assert.Regexp(t, `(?m)^\s+inc [a-ds][xi]\n\s+cmp [a-ds][xi], [a-ds][xi]\n\s+jl `, got, "listing:\n%s", got)
}

// A sign extension to 64 bits is a copy and a shift, or (the variant
// the size policy tries too) cdq from eax into edx.
func TestExtCdq(t *testing.T) {
	const no = lir.NoReg
	for _, cdq := range []bool{false, true} {
		f := &lir.Func{Types: []lir.Type{lir.I32, lir.I32, lir.I64}}
		nodes := append(inputs(), &lir.Node{Kind: lir.NInst, Inst: in(lir.OpExt, 2, 0, no, 0)},
			&lir.Node{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpStore, Dst: no, A: 2, B: no, C: no,
				Mem: lir.Mem{Base: 1, Index: no, Width: 8}}})
		got := listingWith(t, f, &Layout{}, nodes, true, cdq)
		if cdq {
			assert.Regexp(t, `(?m)^\s+cdq$`, got, "listing:\n%s", got)
			assert.NotContains(t, got, "sar", "listing:\n%s", got)
		} else {
			assert.Regexp(t, `sar e[a-z]+, 0x1f`, got, "listing:\n%s", got)
			assert.NotContains(t, got, "cdq", "listing:\n%s", got)
		}
	}
}

// For size, a commutative op whose second operand is read for the last
// time while its first lives on starts from the second, so the result
// takes its register: `add ecx, eax`, not `mov edx, eax; add edx, ecx`.
func TestCommuteToTheEndingOperand(t *testing.T) {
	for _, short := range []bool{false, true} {
		f := &lir.Func{Types: []lir.Type{lir.I32, lir.I32, lir.I32, lir.I32}}
		nodes := append(inputs(),
			&lir.Node{Kind: lir.NInst, Inst: in(lir.OpAdd, 2, 0, 1, 0)}, // pos ends here, token lives on
			&lir.Node{Kind: lir.NInst, Inst: in(lir.OpXor, 3, 2, 0, 0)},
			&lir.Node{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpStore, Dst: lir.NoReg, A: 3, B: lir.NoReg, C: lir.NoReg,
				Mem: lir.Mem{Base: 0, Index: lir.NoReg, Width: 4}}},
		)
		got := listingFor(t, f, &Layout{}, nodes, short)
		copies := regexp.MustCompile(`(?m)^\s+mov e[a-z]+, e[a-z]+$`).FindAllString(got, -1)
		if short {
			assert.Empty(t, copies, "listing:\n%s", got)
		} else {
			assert.NotEmpty(t, copies, "at -O2 the operands stay in order; listing:\n%s", got)
		}
	}
}

// The high dword of an i64 whose low dword alone is read is not computed:
// a rounding shift by cl whose result is stored as a byte shifts the high
// dword into the low one (shrd) but not on by itself (sar), which
// deadCode drops before allocation.
func TestDeadHighDword(t *testing.T) {
	const no = lir.NoReg
	got := snippet(t, []lir.Type{lir.I64, lir.I64, lir.I32},
		in(lir.OpExt, 2, 0, no, 0), in(lir.OpRshr, 3, 2, 1, 0), in(lir.OpLo, 4, 3, no, 0),
		lir.Inst{Op: lir.OpStore, Dst: no, A: 4, B: no, C: no, Mem: lir.Mem{Base: 1, Index: no, Width: 1}},
		in(lir.OpAdd, 4, 4, 0, 0), // writes the flags: the sar's are dead
		lir.Inst{Op: lir.OpStore, Dst: no, A: 4, B: no, C: no, Mem: lir.Mem{Base: 1, Index: no, Width: 4}})
	assert.Regexp(t, `shrd e[a-z]+, e[a-z]+, cl`, got)
	assert.NotRegexp(t, `sar e[a-z]+, cl`, got, "listing:\n%s", got)
}

// A loop of a constant count that only stores zeros, each pass the next
// bytes of an activation in ES's segment (attention's sums: two dwords a
// pass), is rep stosd from the first byte; one whose stores leave a gap,
// or above 1 MiB (no ES), stays a loop.
func TestFill(t *testing.T) {
	const no = lir.NoReg
	for _, c := range []struct {
		name   string
		second int64 // the second store's displacement
		low    bool
		want   string
	}{
		{"contiguous", 4, true, `(?m)^\s+mov di, 0x140\n\s+mov cx, 0x10\n\s+xor eax, eax\n\s+rep stosd\n`},
		{"a gap", 8, true, ``},
		{"above 1 MiB", 4, false, ``},
	} {
		t.Run(c.name, func(t *testing.T) {
			acc := &lir.Buf{Name: "acc", Kind: lir.BufScratch, Size: 128}
			f := &lir.Func{Types: []lir.Type{lir.I32, lir.I32, lir.I32, lir.I32}, Bufs: []*lir.Buf{acc}}
			store := func(disp int64) *lir.Node {
				return &lir.Node{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpStore, Dst: no, A: 3, B: no, C: no,
					Mem: lir.Mem{Buf: acc, Base: no, Index: 2, Scale: 1, Disp: disp, Width: 4}}}
			}
			nodes := append(inputs(),
				&lir.Node{Kind: lir.NLoop, Index: 2, Count: no, CountImm: 8, Step: 8, Body: []*lir.Node{
					{Kind: lir.NInst, Inst: in(lir.OpConst, 3, no, no, 0)}, store(0x40), store(0x40 + c.second)}})
			got := listingFor(t, f, oneBuf(acc, c.low), nodes, true)
			if c.want == "" {
				assert.NotContains(t, got, "stos", "listing:\n%s", got)
				assert.Contains(t, got, "jl ", "listing:\n%s", got)
				return
			}
			assert.Regexp(t, c.want, got, "listing:\n%s", got)
			assert.NotContains(t, got, "jl ", "listing:\n%s", got)
		})
	}
}

// For size (the variant toZero), a loop of a constant count whose index
// only addresses memory in a segment, unscaled, counts from −count·step
// up to 0 and ends on add's zero flag (no cmp); its addresses are 16-bit,
// their displacements count·step more. Scaled, or read otherwise, or not
// the variant, it counts up to its count.
func TestCountToZero(t *testing.T) {
	const no = lir.NoReg
	for _, c := range []struct {
		name          string
		scale, step   int64
		readsIndex, v bool
		want, not     string
	}{
		{"unscaled", 1, 4, false, true, `(?m)^\s+mov e?(bx|bp|si|di), -0x100\n[^\n]*:\n\s+add e[a-d]x, dword \[es:(bx|bp|si|di)\+0x200\]\n\s+add (bx|bp|si|di), 0x4\n\s+jne `, `cmp`},
		{"step 1", 1, 1, false, true, `(?m)^\s+mov e?(bx|bp|si|di), -0x40\n(.*\n)+\s+inc (bx|bp|si|di)\n\s+jne `, `cmp`},
		{"scaled", 4, 1, false, true, `(?m)^\s+cmp [a-ds][xi], 0x40\n\s+jl `, `jne`},
		{"read otherwise", 1, 4, true, true, `(?m)^\s+cmp [a-ds][xi], 0x100\n\s+jl `, `jne`},
		{"not the variant", 1, 4, false, false, `(?m)^\s+cmp [a-ds][xi], 0x100\n\s+jl `, `jne`},
	} {
		t.Run(c.name, func(t *testing.T) {
			acc := &lir.Buf{Name: "acc", Kind: lir.BufScratch, Size: 256}
			f := &lir.Func{Types: []lir.Type{lir.I32, lir.I32, lir.I32, lir.I32}, Bufs: []*lir.Buf{acc}}
			body := []*lir.Node{
				{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpLoad, Dst: 3, A: no, B: no, C: no,
					Mem: lir.Mem{Buf: acc, Base: no, Index: 2, Scale: c.scale, Width: 4}}},
				{Kind: lir.NInst, Inst: in(lir.OpAdd, 0, 0, 3, 0)}}
			if c.readsIndex {
				body = append(body, &lir.Node{Kind: lir.NInst, Inst: in(lir.OpAdd, 0, 0, 2, 0)})
			}
			nodes := append(inputs(),
				&lir.Node{Kind: lir.NLoop, Index: 2, Count: no, CountImm: 64, Step: c.step, Body: body},
				&lir.Node{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpStore, Dst: no, A: 0, B: no, C: no,
					Mem: lir.Mem{Buf: acc, Base: no, Index: no, Width: 4}}})
			got := listingOf(t, f, oneBuf(acc, true), nodes, true, variant{toZero: c.v})
			assert.Regexp(t, c.want, got, "listing:\n%s", got)
			assert.NotContains(t, got, c.not, "listing:\n%s", got)
		})
	}
}

// Two loops that count up to 0, one's index the address's base and the
// other's its index (the store of k and v: a head's offset, then the
// element's), each add their count·step to its displacement: 0x100 (the
// buffer), 128 and 32.
func TestCountToZeroNested(t *testing.T) {
	const no = lir.NoReg
	acc := &lir.Buf{Name: "acc", Kind: lir.BufScratch, Size: 256}
	f := &lir.Func{Types: []lir.Type{lir.I32, lir.I32, lir.I32, lir.I32, lir.I32}, Bufs: []*lir.Buf{acc}}
	inner := &lir.Node{Kind: lir.NLoop, Index: 2, Count: no, CountImm: 8, Step: 4, Body: []*lir.Node{
		{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpLoad, Dst: 3, A: no, B: no, C: no,
			Mem: lir.Mem{Buf: acc, Base: 4, Index: 2, Scale: 1, Width: 4}}},
		{Kind: lir.NInst, Inst: in(lir.OpAdd, 0, 0, 3, 0)}}}
	nodes := append(inputs(),
		&lir.Node{Kind: lir.NLoop, Index: 4, Count: no, CountImm: 4, Step: 32, Body: []*lir.Node{inner}},
		&lir.Node{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpStore, Dst: no, A: 0, B: no, C: no,
			Mem: lir.Mem{Buf: acc, Base: no, Index: no, Width: 4}}})
	got := listingOf(t, f, oneBuf(acc, true), nodes, true, variant{toZero: true})
	assert.Regexp(t, `(?m)^\s+mov e?(bx|bp|si|di), -0x80\n`, got, "listing:\n%s", got)
	assert.Regexp(t, `(?m)^\s+mov e?(bx|bp|si|di), -0x20\n`, got, "listing:\n%s", got)
	assert.Regexp(t, `\[es:(bx|bp|si|di)\+(bx|bp|si|di)\+0x1a0\]`, got, "listing:\n%s", got)
}

// Flat, an address that names an activation's buffer is an offset in
// ES's segment, with a base register (an offset within the buffer) or
// not; one that names another buffer is linear.
func TestActivationWithBase(t *testing.T) {
	const no = lir.NoReg
	for _, c := range []struct {
		name string
		low  bool
		want string
	}{
		{"an activation", true, `(?m)^\s+mov e[a-ds][xi], dword \[es:e[a-ds][xi]\+0x100\]\n`},
		{"a buffer past the activations", false, `(?m)^\s+mov e[a-ds][xi], dword \[e[a-ds][xi]\+0x100100\]\n`},
	} {
		t.Run(c.name, func(t *testing.T) {
			acc := &lir.Buf{Name: "acc", Kind: lir.BufScratch, Size: 256}
			f := &lir.Func{Types: []lir.Type{lir.I32, lir.I32, lir.I32}, Bufs: []*lir.Buf{acc}}
			nodes := append(inputs(),
				&lir.Node{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpLoad, Dst: 2, A: no, B: no, C: no,
					Mem: lir.Mem{Buf: acc, Base: 1, Index: no, Width: 4, Signed: true}}},
				&lir.Node{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpStore, Dst: no, A: 2, B: no, C: no,
					Mem: lir.Mem{Base: 0, Index: no, Width: 4}}})
			got := listingFor(t, f, oneBuf(acc, c.low), nodes, true)
			assert.Regexp(t, c.want, got, "listing:\n%s", got)
		})
	}
}

// An if on a value below 256 (the position, in these listings; a flag
// that a proc is passed, addflag's) compares its register's low byte with
// 0; on another, its whole register. A compare, not a test of the
// register with itself: spilled, the byte is its slot's, in place (`cmp
// byte [m], 0`); in a register, allocated makes it `test r, r`.
func TestIfOnAByte(t *testing.T) {
	for _, c := range []struct {
		cond lir.Reg
		want string
	}{{1, `cmp [abcd]l, 0x0`}, {0, `cmp e[a-z]+, 0x0`}} {
		f := &lir.Func{Types: []lir.Type{lir.I32, lir.I32}}
		body := append(inputs(),
			&lir.Node{Kind: lir.NIf, Cond: c.cond, Then: []*lir.Node{{Kind: lir.NInst, Inst: in(lir.OpAdd, 0, 0, 0, 0)}}},
			&lir.Node{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpStore, Dst: lir.NoReg, A: 0, B: lir.NoReg, C: lir.NoReg,
				Mem: lir.Mem{Base: lir.NoReg, Index: lir.NoReg, Disp: 0x600, Width: 4}}},
		)
		got := listing(t, f, &Layout{}, body)
		assert.Regexp(t, c.want, got, "cond r%d: listing:\n%s", c.cond, got)
	}
}

// For size, a loop of a constant count whose index nothing reads and
// whose body steps a pointer set to a known value before it (through a
// copy here) runs until the pointer's low word reaches where the last
// pass leaves it: cmp, no count. For speed, with a pointer written twice,
// or with steps that wrap its low word, it counts down.
func TestEndLoop(t *testing.T) {
	const no = lir.NoReg
	for _, c := range []struct {
		name      string
		short     bool
		step      int64
		twice     bool
		want, not string
	}{
		{"for size", true, 8, false, `(?m)^\s+add e([a-ds][xi]), 0x8\n\s+cmp ([a-ds][xi]), 0x380\n\s+jne `, `dec`},
		{"for speed", false, 8, false, `(?m)^\s+dec e[a-ds][xi]\n\s+jne `, `cmp`},
		{"written twice", true, 8, true, `(?m)^\s+dec [a-ds][xi]\n\s+jne `, `cmp`},
		{"wraps", true, 0x600, false, `(?m)^\s+dec [a-ds][xi]\n\s+jne `, `cmp`},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &lir.Func{Types: []lir.Type{lir.I32, lir.I32, lir.I32, lir.I32, lir.I32, lir.I32}}
			body := []*lir.Node{
				{Kind: lir.NInst, Inst: in(lir.OpAdd, 0, 0, 2, 0)},
				{Kind: lir.NInst, Inst: in(lir.OpAdd, 2, 2, 3, 0)},
			}
			if c.twice {
				body = append(body, &lir.Node{Kind: lir.NInst, Inst: in(lir.OpAdd, 2, 2, 1, 0)})
			}
			nodes := append(inputs(),
				&lir.Node{Kind: lir.NInst, Inst: in(lir.OpConst, 5, no, no, 0x200)},
				&lir.Node{Kind: lir.NInst, Inst: in(lir.OpCopy, 2, 5, no, 0)},
				&lir.Node{Kind: lir.NInst, Inst: in(lir.OpConst, 3, no, no, c.step)},
				&lir.Node{Kind: lir.NLoop, Index: 4, Count: no, CountImm: 48, Body: body},
				&lir.Node{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpStore, Dst: no, A: 0, B: no, C: no,
					Mem: lir.Mem{Base: 1, Index: no, Width: 4}}},
			)
			got := listingFor(t, f, &Layout{}, nodes, c.short)
			assert.Regexp(t, c.want, got, "listing:\n%s", got)
			assert.NotContains(t, got, c.not, "listing:\n%s", got)
		})
	}
}

// A loop that may end where the register its body shifts right by one is
// 0 (ZeroEnds: the cache's shift count) ends on the shift's zero flag,
// with no count.
func TestZeroEnds(t *testing.T) {
	const no = lir.NoReg
	for _, zero := range []bool{true, false} {
		f := &lir.Func{Types: []lir.Type{lir.I32, lir.I32, lir.I32, lir.I32, lir.I32}}
		nodes := append(inputs(),
			&lir.Node{Kind: lir.NInst, Inst: in(lir.OpConst, 2, no, no, 0xff)},
			&lir.Node{Kind: lir.NLoop, Index: 3, Count: no, CountImm: 25, ZeroEnds: zero, Body: []*lir.Node{
				{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpCmp, Cond: lir.GEU, Dst: 4, A: 0, B: 2, C: no}},
				{Kind: lir.NInst, Inst: in(lir.OpAdd, 1, 1, 4, 0)},
				{Kind: lir.NInst, Inst: in(lir.OpShrI, 0, 0, no, 1)}}},
			&lir.Node{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpStore, Dst: no, A: 1, B: no, C: no,
				Mem: lir.Mem{Base: 1, Index: no, Width: 4}}},
		)
		got := listingFor(t, f, &Layout{}, nodes, true)
		if zero {
			assert.Regexp(t, `(?m)^\s+shr e[a-z]+, 0x1\n\s+jne `, got, "listing:\n%s", got)
			assert.NotContains(t, got, "dec", "listing:\n%s", got)
		} else {
			assert.Regexp(t, `(?m)^\s+dec [a-ds][xi]\n\s+jne `, got, "listing:\n%s", got)
		}
	}
}
