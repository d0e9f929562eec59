package loopgen

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	x86 "tfc/codegen/x86_16"
	"tfc/regalloc"
)

// The square root's running bit (lir's isqrt, as the size policy
// allocates it) becomes a count of its index, bts and btr on it, where
// the rewrite keeps what the loop computes; it stays where the bit's
// register is read after the loop, a jump may reach the xor without the
// or (from the loop's top, past it), the or's flags are read, the
// register the or sets is written before the xor, or the bit lies in a
// register some instruction writes without naming it.
func TestBitIndex(t *testing.T) {
	inst := func(op x86.Op, args ...x86.Operand) regalloc.Item {
		return regalloc.Item{Inst: x86.Inst{Op: op, Args: args}}
	}
	label := func(l string) regalloc.Item { return regalloc.Item{Label: l} }
	loop := func(bit x86.Reg, between []regalloc.Item, after ...regalloc.Item) []regalloc.Item {
		items := []regalloc.Item{
			inst(x86.XOR, x86.EDI, x86.EDI),
			inst(x86.MOV, bit, x86.Imm(-1<<31)),
			label("top"),
			inst(x86.OR, x86.EDI, bit),
		}
		items = append(items, between...)
		items = append(items,
			inst(x86.CMP, x86.EAX, x86.ECX),
			inst(x86.SBB, x86.EDX, x86.Imm(0)),
			inst(x86.JB, x86.Label("keep")),
			inst(x86.XOR, x86.EDI, bit),
			label("keep"),
			inst(x86.SHR, bit, x86.Imm(1)),
			inst(x86.JNE, x86.Label("top")),
			label("end"),
		)
		items = append(items, after...)
		return append(items, inst(x86.MOV, x86.EAX, x86.EDI), inst(x86.RET))
	}
	square := []regalloc.Item{inst(x86.MOV, x86.EAX, x86.EDI), inst(x86.MUL, x86.EDI)}
	ops := func(items []regalloc.Item) []x86.Op {
		var out []x86.Op
		for _, it := range items {
			if it.Label == "" {
				out = append(out, it.Inst.Op)
			}
		}
		return out
	}
	k := &regalloc.Kernel{Name: "t", Items: loop(x86.EBP, square)}
	bitIndex(k)
	require.Equal(t, []x86.Op{x86.XOR, x86.MOV, x86.BTS, x86.MOV, x86.MUL, x86.CMP, x86.SBB, x86.JB, x86.BTR, x86.DEC, x86.JNS, x86.MOV, x86.RET}, ops(k.Items))
	assert.Equal(t, []x86.Operand{x86.BP, x86.Imm(31)}, k.Items[1].Inst.Args)
	assert.Equal(t, []x86.Operand{x86.EDI, x86.EBP}, k.Items[3].Inst.Args)
	assert.Equal(t, []x86.Operand{x86.BP}, k.Items[len(k.Items)-5].Inst.Args)

	k = &regalloc.Kernel{Name: "t", Items: loop(x86.EBX, square)}
	bitIndex(k)
	assert.Contains(t, ops(k.Items), x86.BTS, "the bit in ebx")

	for _, c := range []struct {
		name  string
		items []regalloc.Item
	}{
		{"the bit read after", loop(x86.EBP, square, inst(x86.MOV, x86.ECX, x86.EBP))},
		{"a jump past the or", slices.Insert(loop(x86.EBP, append([]regalloc.Item{label("in")}, square...)), 3, inst(x86.TEST, x86.ECX, x86.ECX), inst(x86.JE, x86.Label("in")))},
		{"the or's flags read", loop(x86.EBP, append([]regalloc.Item{inst(x86.JE, x86.Label("keep"))}, square...))},
		{"the root written between", loop(x86.EBP, append([]regalloc.Item{inst(x86.MOV, x86.EDI, x86.EAX)}, square...))},
		{"the bit in esi", loop(x86.ESI, square)},
	} {
		k := &regalloc.Kernel{Name: "t", Items: c.items}
		before := ops(k.Items)
		bitIndex(k)
		assert.Equal(t, before, ops(k.Items), c.name)
	}
}

// `dec cx; jne L` back to L is loop; it stays where the flags are read
// after it or at L, the counter is another register, the body jumps out
// of itself, or L lies beyond a byte's displacement.
func TestLoopCX(t *testing.T) {
	inst := func(op x86.Op, args ...x86.Operand) x86.Inst { return x86.Inst{Op: op, Args: args} }
	mac := []x86.Inst{inst(x86.MOVSX, x86.EAX, x86.B(x86.Mem{Base: x86.SI})), inst(x86.IMUL, x86.D(x86.Mem{Base: x86.BX})),
		inst(x86.ADD, x86.EBP, x86.EAX), inst(x86.ADC, x86.DI, x86.DX), inst(x86.INC, x86.SI), inst(x86.ADD, x86.BX, x86.Imm(4))}
	var long []x86.Inst
	for range 12 {
		long = append(long, mac...) // 12 times 16 bytes
	}
	for _, c := range []struct {
		name        string
		body, after []x86.Inst
		counter     x86.Reg
		loop        bool
	}{
		{"a sum", mac, nil, x86.CX, true},
		{"the flags read after", mac, []x86.Inst{inst(x86.ADC, x86.EAX, x86.Imm(0))}, x86.CX, false},
		// llama2.tf's matmul rows: the scan from the top passes a32
		// lodsw (a prefixed lodsw) and cwde, which leave the flags.
		{"a word's lods at the top", append([]x86.Inst{inst(x86.A32 | x86.LODSW), inst(x86.CWDE)}, mac[1:]...), nil, x86.CX, true},
		{"the flags read at the top", append([]x86.Inst{inst(x86.ADC, x86.EBP, x86.Imm(0))}, mac...), nil, x86.CX, false},
		{"bp", mac, nil, x86.BP, false},
		// argmax's skip over its new best lands in the body.
		{"a jump within the body", append(slices.Clone(mac), inst(x86.JMP, x86.Label("top"))), nil, x86.CX, true},
		{"a jump out of the body", append(slices.Clone(mac), inst(x86.JL, x86.Label("out"))), nil, x86.CX, false},
		{"too far", long, nil, x86.CX, false},
	} {
		k := &regalloc.Kernel{Name: "t"}
		k.I(x86.MOV, c.counter, x86.Imm(64))
		k.Label("top")
		for _, in := range append(append(slices.Clone(c.body), inst(x86.DEC, c.counter), inst(x86.JNE, x86.Label("top"))), c.after...) {
			k.Items = append(k.Items, regalloc.Item{Inst: in})
		}
		k.I(x86.MOV, x86.D(x86.Abs16(0x1000)), x86.EBP)
		k.I(x86.RET)
		k.Label("out")
		k.I(x86.RET)
		n := len(k.Items)
		loopCX(k)
		var ops []x86.Op
		for _, it := range k.Items {
			ops = append(ops, it.Inst.Op)
		}
		assert.Equal(t, c.loop, slices.Contains(ops, x86.LOOP), c.name)
		if c.loop {
			assert.Equal(t, n-1, len(k.Items), c.name)
			assert.NotContains(t, ops, x86.DEC, c.name)
		}
	}
}

// `dec ecx; jne L` is `a32 loop L` (ecx: stories15M's argmax, whose
// count indexes a linear address).
func TestLoopECX(t *testing.T) {
	k := &regalloc.Kernel{Name: "t"}
	k.I(x86.MOV, x86.ECX, x86.Imm(64))
	k.Label("top")
	k.I(x86.ADD, x86.EBP, x86.D(x86.Mem{Index: x86.ECX, Scale: 4, Addr32: true}))
	k.I(x86.DEC, x86.ECX)
	k.I(x86.JNE, x86.Label("top"))
	k.I(x86.RET)
	loopCX(k)
	assert.Equal(t, x86.Inst{Op: x86.LOOP | x86.A32, Args: []x86.Operand{x86.Label("top")}}, k.Items[3].Inst)
	assert.Len(t, k.Items, 5)
}

// A test of the register that the instruction before it stepped goes
// where only the zero and sign flags are read after it (the step set
// them alike); it stays where the carry or overflow flag is read, the
// register or its width differs, or a label lies between.
func TestStepTest(t *testing.T) {
	inst := func(op x86.Op, args ...x86.Operand) regalloc.Item {
		return regalloc.Item{Inst: x86.Inst{Op: op, Args: args}}
	}
	jne := inst(x86.JNE, x86.Label("top"))
	for _, c := range []struct {
		name  string
		items []regalloc.Item
		drop  bool
	}{
		{"dec", []regalloc.Item{inst(x86.DEC, x86.CX), inst(x86.TEST, x86.CX, x86.CX), jne}, true},
		{"add", []regalloc.Item{inst(x86.ADD, x86.ECX, x86.Imm(-1)), inst(x86.TEST, x86.ECX, x86.ECX), jne}, true},
		{"a signed jump", []regalloc.Item{inst(x86.DEC, x86.CX), inst(x86.TEST, x86.CX, x86.CX), inst(x86.JL, x86.Label("top"))}, false},
		{"the carry read after", []regalloc.Item{inst(x86.ADD, x86.CX, x86.Imm(-1)), inst(x86.TEST, x86.CX, x86.CX), jne, inst(x86.ADC, x86.AX, x86.Imm(0))}, false},
		{"another width", []regalloc.Item{inst(x86.DEC, x86.ECX), inst(x86.TEST, x86.CX, x86.CX), jne}, false},
		{"another register", []regalloc.Item{inst(x86.DEC, x86.CX), inst(x86.TEST, x86.DX, x86.DX), jne}, false},
		{"a label between", []regalloc.Item{inst(x86.DEC, x86.CX), {Label: "mid"}, inst(x86.TEST, x86.CX, x86.CX), jne}, false},
	} {
		items := append([]regalloc.Item{{Label: "top"}}, c.items...)
		items = append(items, inst(x86.RET))
		k := &regalloc.Kernel{Name: "t", Items: slices.Clone(items)}
		stepTest(k)
		want := items
		if c.drop {
			want = slices.Delete(slices.Clone(items), 2, 3)
		}
		assert.Equal(t, want, k.Items, c.name)
	}
}
