package loopgen

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"tfc/lir"
)

// A lookup the size policy keeps is a call of its routine: the table's
// offset in bx (its segment's register in the routine's name), or its
// linear address in ebx where it lies past the low activations, u in
// eax; the result read from eax.
func TestLookupCall(t *testing.T) {
	const no = lir.NoReg
	for _, c := range []struct {
		name string
		low  bool
		want string
	}{
		{"in es's segment", true, `(?m)^\s+mov bx, 0x140\n(\s+mov eax, e[a-ds][xi]\n)?\s+call lookup11\.es\n\s+mov dword \[e[a-ds][xi]\], eax\n`},
		{"flat", false, `(?m)^\s+mov ebx, 0x100140\n(\s+mov eax, e[a-ds][xi]\n)?\s+call lookup11\n\s+mov dword \[e[a-ds][xi]\], eax\n`},
	} {
		t.Run(c.name, func(t *testing.T) {
			tab := &lir.Buf{Name: "exp", Kind: lir.BufTable, Size: 4 * 513}
			f := &lir.Func{Types: []lir.Type{lir.I32, lir.I32, lir.I32, lir.I32}, Bufs: []*lir.Buf{tab}}
			nodes := append(inputs(),
				&lir.Node{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpAdd, Dst: 2, A: 0, B: 1, C: no}},
				&lir.Node{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpLookup, Dst: 3, A: 2, B: no, C: no, Imm: 11,
					Mem: lir.Mem{Buf: tab, Base: no, Index: no, Disp: 0x40, Width: 4, Signed: true}}},
				&lir.Node{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpStore, Dst: no, A: 3, B: no, C: no,
					Mem: lir.Mem{Base: 1, Index: no, Width: 4}}})
			got := listingFor(t, f, oneBuf(tab, c.low), nodes, true)
			assert.Regexp(t, c.want, got, "listing:\n%s", got)
		})
	}
}
