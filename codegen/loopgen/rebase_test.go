package loopgen

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	x86 "tfc/codegen/x86_16"
	"tfc/regalloc"
)

// rebaseLines is the kernel that rebase makes of ins, one line each.
func rebaseLines(ins ...x86.Inst) []string {
	k := &regalloc.Kernel{Name: "t"}
	for _, in := range ins {
		k.Items = append(k.Items, regalloc.Item{Inst: in})
	}
	rebase(k)
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(k.String()), "\n") {
		out = append(out, strings.TrimSpace(l))
	}
	return out
}

func inst(op x86.Op, args ...x86.Operand) x86.Inst { return x86.Inst{Op: op, Args: args} }

// The cache's pointer, v0, loaded from its slot; an offset, v1, defined
// by an imul and stepped by adds, read through [v0+v1]; a copy of it, v2,
// stepped and read alike.
func TestRebase(t *testing.T) {
	v0, v1, v2, v3 := regalloc.V(0), regalloc.V(1), regalloc.V(2), regalloc.V(3)
	slot := x86.D(x86.Abs16(0x1008))
	got := rebaseLines(
		inst(x86.MOV, v0, slot),
		inst(x86.IMUL, v1, v3, x86.Imm(0x11)),
		inst(x86.MOV, v2, v1),
		inst(x86.MOVSX, v3, x86.W(x86.Ptr32(v0, v1, 1, 0))),
		inst(x86.ADD, v1, x86.Imm(2)),
		inst(x86.MOV, x86.D(x86.Ptr32(v2, v0, 1, 0x44)), v3),
		inst(x86.ADD, v2, v3),
	)
	assert.Equal(t, []string{
		"mov v0, dword [0x1008]",
		"imul v1, v3, 0x11", "add v1, dword [0x1008]",
		"mov v2, v1",
		"movsx v3, word [v1]",
		"add v1, 0x2",
		"mov dword [v2+0x44], v3",
		"add v2, v3",
	}, got)
}

// A value added to an offset just written (attention's head offset, v1,
// which each position's offset adds) takes the pointer itself, once: the
// sum is then an address with no add of its own.
func TestRebaseJoins(t *testing.T) {
	v0, v1, v2, v3, v4 := regalloc.V(0), regalloc.V(1), regalloc.V(2), regalloc.V(3), regalloc.V(4)
	slot := x86.D(x86.Abs16(0x1008))
	got := rebaseLines(
		inst(x86.MOV, v0, slot),
		inst(x86.IMUL, v1, v3, x86.Imm(0x11)),
		inst(x86.IMUL, v2, v3, x86.Imm(0x22)),
		inst(x86.ADD, v2, v1),
		inst(x86.MOVSX, v4, x86.W(x86.Ptr32(v0, v2, 1, 0x44))),
		inst(x86.ADD, v2, x86.Imm(2)),
		inst(x86.CMP, x86.AX, x86.Imm(0)),
	)
	assert.Equal(t, []string{
		"mov v0, dword [0x1008]",
		"imul v1, v3, 0x11", "add v1, dword [0x1008]",
		"imul v2, v3, 0x22",
		"add v2, v1",
		"movsx v4, word [v2+0x44]",
		"add v2, 0x2",
		"cmp ax, 0x0",
	}, got)
}

// An offset read other than through the pointer (compared, shifted,
// copied to what is no offset), or defined where the flags are read after
// it, stays as it was.
func TestRebaseNot(t *testing.T) {
	v0, v1, v2 := regalloc.V(0), regalloc.V(1), regalloc.V(2)
	slot := x86.D(x86.Abs16(0x1008))
	load := inst(x86.MOVSX, v2, x86.W(x86.Ptr32(v0, v1, 1, 0)))
	for name, ins := range map[string][]x86.Inst{
		"compared":              {inst(x86.XOR, v1, v1), load, inst(x86.CMP, v1, x86.Imm(8))},
		"shifted":               {inst(x86.XOR, v1, v1), load, inst(x86.SHL, v1, x86.Imm(1))},
		"copied":                {inst(x86.XOR, v1, v1), load, inst(x86.MOV, v2, v1)},
		"viewed":                {inst(x86.XOR, v1, v1), load, inst(x86.ADD, regalloc.V16(1), x86.Imm(2))},
		"scaled":                {inst(x86.XOR, v1, v1), inst(x86.MOVSX, v2, x86.W(x86.Ptr32(v0, v1, 2, 0)))},
		"flags":                 {inst(x86.XOR, v1, v1), inst(x86.JE, x86.Label("x")), load},
		"pointer written twice": {inst(x86.XOR, v1, v1), load, inst(x86.ADD, v0, x86.Imm(4))},
		"an address already":    {inst(x86.XOR, v2, v2), inst(x86.LEA, v1, x86.D(x86.Ptr32(v0, v2, 1, 0))), load},
	} {
		// Each ends writing the flags, which no add of the slot then
		// keeps from going in: only the case does.
		ins = append(append([]x86.Inst{inst(x86.MOV, v0, slot)}, ins...), inst(x86.CMP, x86.AX, x86.Imm(0)))
		got := rebaseLines(ins...)
		assert.NotContains(t, got, "add v1, dword [0x1008]", name)
		assert.Contains(t, strings.Join(got, "\n"), "[v0+v1", name)
	}
}
