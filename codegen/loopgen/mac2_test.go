package loopgen

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"tfc/lir"
)

// An OpMac2 whose second dword lies a constant after its first is, where
// the kernel calls routines (mac2Call), a call of its routine: the first
// dword's address in ebx (flat; bx and the segment's register in the
// routine's name in a segment), the factors in eax and ecx, the result
// read from eax. Inline, two one-operand imuls of the table's dwords,
// their sum carried, and the rounding shift.
func TestMac2Call(t *testing.T) {
	const no = lir.NoReg
	tab := &lir.Buf{Name: "rope8m", Kind: lir.BufTable, Size: 4 * 64}
	f := &lir.Func{Types: []lir.Type{lir.I32, lir.I32, lir.I32, lir.I32}, Bufs: []*lir.Buf{tab}}
	m := lir.Mem{Buf: tab, Base: 1, Index: no, Disp: 0x10, Width: 4, Signed: true}
	m2 := m
	m2.Disp += 0x10
	nodes := append(inputs(),
		&lir.Node{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpAdd, Dst: 2, A: 0, B: 1, C: no}},
		&lir.Node{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpMac2, Dst: 3, A: 0, B: 2, C: no, Imm: 30, Mem: m, Mem2: m2}},
		&lir.Node{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpStore, Dst: no, A: 3, B: no, C: no,
			Mem: lir.Mem{Base: 1, Index: no, Width: 4}}})
	for _, c := range []struct {
		name string
		low  bool
		v    variant
		want []string
		not  []string
	}{
		{"flat", false, variant{mac2Call: true},
			[]string{`(?m)^\s+lea ebx, \[e[a-ds][xip]\+0x100110\]\n`, `(?m)^\s+call mac2\.16\.30\n\s+mov dword \[e[a-ds][xip]\], eax\n`},
			[]string{`imul`}},
		{"in es's segment", true, variant{mac2Call: true},
			// (allocated drops the lea's segment after allocation.)
			[]string{`(?m)^\s+lea bx, \[(es:)?e?[a-ds][xip]\+0x110\]\n`, `call mac2\.16\.30\.es\n`}, []string{`imul`}},
		{"inline", false, variant{},
			[]string{`(?m)^\s+imul dword \[e[a-ds][xip]\+0x100110\]\n`, `(?m)^\s+imul dword \[e[a-ds][xip]\+0x100120\]\n`,
				`add eax, e[a-ds][xip]\n\s+adc edx, e[a-ds][xip]\n\s+shrd eax, edx, 0x1e\n\s+adc eax, 0x0`},
			[]string{`call`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := listingOf(t, f, oneBuf(tab, c.low), nodes, true, c.v)
			for _, w := range c.want {
				assert.Regexp(t, w, got, "listing:\n%s", got)
			}
			for _, w := range c.not {
				assert.NotRegexp(t, w, got, "listing:\n%s", got)
			}
		})
	}
}

// Where both factors are loads that the mac2 alone reads, a constant
// apart, the routine reads them itself: their address in si (their
// segment's register in the routine's name), no register holding them; a
// pointer that is their address goes to esi whole (the allocator may give
// it esi: no move), not by a lea.
func TestMac2CallReadsFactors(t *testing.T) {
	const no = lir.NoReg
	for _, c := range []struct {
		name string
		base lir.Reg // the factors' pointer (no: the buffer's address)
		disp int64
		want []string
		not  []string
	}{
		{"at an offset", no, 8, []string{`(?m)^\s+lea si, \[(es:)?0x208\]\n`}, nil},
		{"through a pointer", 1, 0, nil, []string{`lea e?si`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tab := &lir.Buf{Name: "rope8m", Kind: lir.BufTable, Size: 4 * 64}
			x := &lir.Buf{Name: "x", Kind: lir.BufVar, Size: 64}
			f := &lir.Func{Types: []lir.Type{lir.I32, lir.I32, lir.I32, lir.I32, lir.I32}, Bufs: []*lir.Buf{tab, x}}
			m := lir.Mem{Buf: tab, Base: 0, Index: no, Disp: 0x10, Width: 4, Signed: true}
			m2 := m
			m2.Disp += 0x10
			xa := lir.Mem{Buf: x, Base: c.base, Index: no, Disp: c.disp, Width: 4, Signed: true}
			if c.base != no {
				xa.Buf = nil
			}
			xb := xa
			xb.Disp += 4
			nodes := append(inputs(),
				&lir.Node{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpLoad, Dst: 2, A: no, B: no, C: no, Mem: xa}},
				&lir.Node{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpLoad, Dst: 3, A: no, B: no, C: no, Mem: xb}},
				&lir.Node{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpMac2, Dst: 4, A: 2, B: 3, C: no, Imm: 30, Mem: m, Mem2: m2}},
				&lir.Node{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpStore, Dst: no, A: 4, B: no, C: no,
					Mem: lir.Mem{Base: 0, Index: no, Width: 4}}})
			l := oneBuf(tab, false)
			l.Low, l.LowBase, l.Group = true, LowActivations, map[*lir.Buf]Group{x: activations}
			l.Addr[x] = LowActivations + 0x200
			got := listingOf(t, f, l, nodes, true, variant{mac2Call: true})
			assert.Regexp(t, `(?m)^\s+call mac2\.16\.30\.x4(\.es)?\n`, got, "listing:\n%s", got)
			assert.NotContains(t, got, "mov eax, dword [es:", "listing:\n%s", got)
			for _, w := range c.want {
				assert.Regexp(t, w, got, "listing:\n%s", got)
			}
			for _, w := range c.not {
				assert.NotRegexp(t, w, got, "listing:\n%s", got)
			}
		})
	}
}
