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

// lookupKernel is a kernel with an exp table and a var x (in ES's
// segment, the layout), twelve i32 registers, and its first nodes: the
// inputs, then n values loaded from x into r2, r3, ….
func lookupKernel(n int) (f *lir.Func, tab, x *lir.Buf, l *Layout, nodes []*lir.Node) {
	const no = lir.NoReg
	tab = &lir.Buf{Name: "exp", Kind: lir.BufTable, Size: 4 * 513}
	x = &lir.Buf{Name: "x", Kind: lir.BufVar, Size: 64}
	f = &lir.Func{Bufs: []*lir.Buf{tab, x}}
	for range 12 {
		f.Types = append(f.Types, lir.I32)
	}
	nodes = inputs()
	for r := lir.Reg(2); r < lir.Reg(2+n); r++ {
		nodes = append(nodes, &lir.Node{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpLoad, Dst: r, A: no, B: no, C: no,
			Mem: lir.Mem{Buf: x, Base: no, Index: no, Disp: 4 * int64(r), Width: 4}}})
	}
	l = oneBuf(tab, true)
	l.Group[x], l.Addr[x] = activations, LowActivations+0x1000
	return f, tab, x, l, nodes
}

// lookupThenStore is dst = the lookup of r0 in tab, then nodes, then
// the store of res to x.
func lookupThenStore(tab, x *lir.Buf, dst, res lir.Reg, nodes ...*lir.Node) []*lir.Node {
	const no = lir.NoReg
	return append(append([]*lir.Node{{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpLookup, Dst: dst, A: 0, B: no, C: no, Imm: 11,
		Mem: lir.Mem{Buf: tab, Base: no, Index: no, Disp: 0x40, Width: 4, Signed: true}}}}, nodes...),
		&lir.Node{Kind: lir.NInst, Inst: lir.Inst{Op: lir.OpStore, Dst: no, A: res, B: no, C: no,
			Mem: lir.Mem{Buf: x, Base: no, Index: no, Width: 4}}})
}

// The call of a lookup routine in a segment reads bx, the table's
// offset, not ebx: seven values live at once before it all get
// registers. Read as ebx, the upper half the mov to bx keeps would be
// live from the kernel's entry, ebx no one's, and one value spilled.
func TestLookupCallReadsBX(t *testing.T) {
	f, tab, x, l, nodes := lookupKernel(6) // six values, and their product: seven
	nodes = append(nodes, &lir.Node{Kind: lir.NInst, Inst: in(lir.OpMul, 9, 2, 3, 0)})
	for r := lir.Reg(4); r <= 7; r++ {
		nodes = append(nodes, &lir.Node{Kind: lir.NInst, Inst: in(lir.OpMul, 9, 9, r, 0)})
	}
	for r := lir.Reg(2); r <= 7; r++ { // each read twice: in registers
		nodes = append(nodes, &lir.Node{Kind: lir.NInst, Inst: in(lir.OpAdd, 9, 9, r, 0)})
	}
	nodes = append(nodes, lookupThenStore(tab, x, 10, 11, &lir.Node{Kind: lir.NInst, Inst: in(lir.OpAdd, 11, 10, 9, 0)})...)
	got := listingFor(t, f, l, nodes, true)
	assert.Contains(t, got, "call lookup11.es", "listing:\n%s", got)
	assert.NotRegexp(t, `\[0x1[1-9a-f][0-9a-f]{2}\]`, got, "a spill slot; listing:\n%s", got)
}

// The lookup routine leaves ecx alone (its shift is its own, not rshr's
// by cl), so a call of it keeps four registers: four values live across
// it all stay in registers. With ecx among its clobbers, one is spilled.
func TestLookupCallKeepsECX(t *testing.T) {
	f, tab, x, l, nodes := lookupKernel(4)
	var after []*lir.Node
	for r := lir.Reg(2); r <= 5; r++ { // each read twice after the call
		after = append(after, &lir.Node{Kind: lir.NInst, Inst: in(lir.OpMul, 10, 10, r, 0)})
	}
	for r := lir.Reg(2); r <= 5; r++ {
		after = append(after, &lir.Node{Kind: lir.NInst, Inst: in(lir.OpAdd, 10, 10, r, 0)})
	}
	nodes = append(nodes, lookupThenStore(tab, x, 10, 10, after...)...)
	got := listingFor(t, f, l, nodes, true)
	assert.Contains(t, got, "call lookup11.es", "listing:\n%s", got)
	assert.NotRegexp(t, `\[0x1[1-9a-f][0-9a-f]{2}\]|push|pop`, got, "a spill; listing:\n%s", got)
}
