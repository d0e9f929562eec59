package loopgen

import (
	"testing"

	"github.com/stretchr/testify/assert"

	x86 "tfc/codegen/x86_16"
	"tfc/regalloc"
)

// Rope's second lea of bx from di is an add to the first's, where nothing
// between writes bx or di and the add's flags are dead; a call of a
// routine that only reads bx (mac2's) writes neither.
func TestLeaStep(t *testing.T) {
	inst := func(op x86.Op, args ...x86.Operand) x86.Inst { return x86.Inst{Op: op, Args: args} }
	lea := func(r x86.Reg, base x86.Reg, d int32) x86.Inst {
		return inst(x86.LEA, r, x86.Mem{Base: base, Disp: d})
	}
	first, second := lea(x86.BX, x86.DI, -0x64c0), lea(x86.BX, x86.DI, -0x64b0)
	mac2 := regalloc.Item{Inst: inst(x86.CALL, x86.Label("mac2")), Reads: []x86.Reg{x86.EBX, x86.SI}, Clobbers: mac2Clobbers}
	proc := regalloc.Item{Inst: inst(x86.CALL, x86.Label("proc1"))}
	xchg := regalloc.Item{Inst: inst(x86.XCHG, x86.EBP, x86.EAX)}
	store := inst(x86.ADD, x86.SI, x86.Imm(8)) // writes the flags
	for _, c := range []struct {
		name    string
		between []regalloc.Item
		lea1    x86.Inst
		lea2    x86.Inst
		after   x86.Inst
		want    string // "": unchanged
	}{
		{"rope", []regalloc.Item{mac2, xchg}, first, second, store, "add bx, 0x10"},
		{"bx written", []regalloc.Item{{Inst: inst(x86.INC, x86.BX)}}, first, second, store, ""},
		{"di written", []regalloc.Item{{Inst: inst(x86.ADD, x86.DI, x86.Imm(4))}}, first, second, store, ""},
		{"a proc called", []regalloc.Item{proc}, first, second, store, ""},
		{"a string instruction", []regalloc.Item{{Inst: inst(x86.SCASD)}}, first, second, store, ""},
		{"the flags read", nil, first, second, inst(x86.JE, x86.Label("t")), ""},
		{"too far", nil, first, lea(x86.BX, x86.DI, -0x6000), store, ""},
		{"short displacements", nil, lea(x86.BX, x86.DI, 4), lea(x86.BX, x86.DI, 20), store, ""},
		{"another base", nil, first, lea(x86.BX, x86.SI, -0x64b0), store, ""},
		{"through itself", nil, lea(x86.BX, x86.BX, -0x64c0), lea(x86.BX, x86.BX, -0x64b0), store, ""},
	} {
		k := &regalloc.Kernel{Name: "t"}
		k.Items = append(k.Items, regalloc.Item{Inst: c.lea1})
		k.Items = append(k.Items, c.between...)
		k.Items = append(k.Items, regalloc.Item{Inst: c.lea2}, regalloc.Item{Inst: c.after})
		want := listed(k)
		if c.want != "" {
			want[len(want)-2] = c.want
		}
		leaStep(k)
		assert.Equal(t, want, listed(k), c.name)
	}
	k := withInsts(&regalloc.Kernel{Name: "t"}, []x86.Inst{first})
	k.Label("t.l")
	withInsts(k, []x86.Inst{second, store})
	want := listed(k)
	leaStep(k)
	assert.Equal(t, want, listed(k), "a label between")
}
