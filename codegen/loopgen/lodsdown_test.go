package loopgen

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"

	x86 "tfc/codegen/x86_16"
	"tfc/regalloc"
)

// A load into eax through si that an add of minus its width steps later,
// in a loop, is lods between std before the loop and cld after it
// (argmax's backward scan); it stays where the loop calls, runs another
// string instruction, jumps out or is entered in its middle, where the
// step is up (lodsLoads'), or where no loop is around it.
func TestLodsDown(t *testing.T) {
	inst := func(op x86.Op, args ...x86.Operand) regalloc.Item {
		return regalloc.Item{Inst: x86.Inst{Op: op, Args: args}}
	}
	label := func(l string) regalloc.Item { return regalloc.Item{Label: l} }
	load := inst(x86.MOV, x86.EAX, x86.Mem{Size: 32, Base: x86.SI})
	down := inst(x86.ADD, x86.SI, x86.Imm(-4))
	tail := []regalloc.Item{inst(x86.CMP, x86.EAX, x86.EBX), inst(x86.JL, x86.Label("skip")), inst(x86.XCHG, x86.EBX, x86.EAX),
		inst(x86.MOV, x86.DX, x86.CX), label("skip")}
	end := []regalloc.Item{inst(x86.DEC, x86.CX), inst(x86.JNE, x86.Label("top"))}
	after := []regalloc.Item{inst(x86.XCHG, x86.AX, x86.DX), inst(x86.RET)}
	loop := func(body ...regalloc.Item) []regalloc.Item {
		items := []regalloc.Item{inst(x86.MOV, x86.SI, x86.Imm(0x1000)), inst(x86.MOV, x86.CX, x86.Imm(0x200)), label("top")}
		items = append(append(items, body...), end...)
		return append(items, after...)
	}
	argmax := loop(append([]regalloc.Item{load, down}, tail...)...)
	for _, c := range []struct {
		name  string
		items []regalloc.Item
		ok    bool
	}{
		{"argmax", argmax, true},
		{"a call in the loop", loop(append(append([]regalloc.Item{load, down}, tail...), inst(x86.CALL, x86.Label("rshr")))...), false},
		{"another string instruction", loop(append(append([]regalloc.Item{load, down}, tail...), inst(x86.STOSD))...), false},
		{"a jump out", loop(append(append([]regalloc.Item{load, down}, tail...), inst(x86.JMP, x86.Label("out")))...), false},
		{"entered in its middle", append([]regalloc.Item{inst(x86.JMP, x86.Label("skip"))}, argmax...), false},
		{"stepped up", loop(append([]regalloc.Item{load, inst(x86.ADD, x86.SI, x86.Imm(4))}, tail...)...), false},
		{"no loop", append([]regalloc.Item{load, down}, after...), false},
	} {
		items := append(slices.Clone(c.items), label("out"), inst(x86.RET))
		k := &regalloc.Kernel{Name: "t", Items: slices.Clone(items)}
		lodsDown(k)
		if !c.ok {
			assert.Equal(t, items, k.Items, c.name)
			continue
		}
		var want []regalloc.Item
		for _, it := range items {
			switch {
			case it.Label == "top":
				want = append(want, inst(x86.STD), it)
			case it.Inst.Op == x86.MOV && it.Inst.Args[0] == x86.Operand(x86.EAX):
				want = append(want, inst(x86.LODSD))
			case it.Inst.Op == x86.ADD && it.Inst.Args[0] == x86.Operand(x86.SI):
			case it.Inst.Op == x86.JNE:
				want = append(want, it, inst(x86.CLD))
			default:
				want = append(want, it)
			}
		}
		assert.Equal(t, want, k.Items, c.name)
	}
}
