package regalloc

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	x86 "tfc/codegen/x86_16"
)

// A reload of a slot that its register holds since the store (or the
// load) before goes; one that another register holds becomes a move from
// it. A write to the register or to the slot, a label or a call forgets.
func TestReloads(t *testing.T) {
	s := x86.D(x86.Abs16(0x700))
	w := s
	w.Size = 16
	k := &Kernel{Name: "reloads"}
	k.I(x86.MOV, s, x86.EAX)
	k.I(x86.MOV, x86.EAX, s) // eax holds it: goes
	k.I(x86.MOV, x86.ECX, s) // a move from eax
	k.I(x86.ADD, x86.EAX, x86.Imm(1))
	k.I(x86.MOV, x86.EDX, s) // ecx holds it still
	k.I(x86.MOV, x86.EAX, s) // and edx
	k.I(x86.INC, w)          // the slot changes: nothing holds it
	k.I(x86.MOV, x86.ESI, s)
	k.I(x86.MOV, x86.ESI, s) // goes
	k.Label("join")
	k.I(x86.MOV, x86.ESI, s)
	k.I(x86.CALL, x86.Label("f"))
	k.I(x86.MOV, x86.ESI, s)
	k.I(x86.MOV, x86.EAX, s)         // a move from esi
	k.I(x86.MOV, x86.AL, x86.Imm(1)) // a part of eax: it holds the slot no more
	k.I(x86.MOV, x86.ECX, s)         // from esi, not eax (the first that holds it)
	inv := x86.W(x86.Abs16(0x1002))
	k.I(x86.MOVZX, x86.EBX, inv)                    // invariant memory: tracked too
	k.I(x86.MOVZX, x86.EDX, inv)                    // a move from ebx
	k.I(x86.MOV, x86.EBX, x86.D(x86.Abs16(0x1002))) // a load of another kind
	o := Options{}
	o.Invariant.From, o.Invariant.To = 0x1000, 0x1040
	out := reloads(k, o, map[int]x86.Reg{}, []x86.Mem{s})
	got := lines(out)
	assert.Equal(t, []string{
		"mov dword [0x700], eax", "mov ecx, eax", "add eax, 0x1", "mov edx, ecx", "mov eax, ecx",
		"inc word [0x700]", "mov esi, dword [0x700]", "join:", "mov esi, dword [0x700]", "call f",
		"mov esi, dword [0x700]", "mov eax, esi", "mov al, 0x1", "mov ecx, esi",
		"movzx ebx, word [0x1002]", "mov edx, ebx", "mov ebx, dword [0x1002]",
	}, got)
}

// A register holds every slot it was loaded from or stored to since it
// was last written: a store of it to another slot, then a write to that
// slot, leave it holding the first.
func TestReloadsHoldSeveral(t *testing.T) {
	a, b := x86.D(x86.Abs16(0x700)), x86.D(x86.Abs16(0x704))
	k := &Kernel{Name: "several"}
	k.I(x86.MOV, x86.EAX, a)
	k.I(x86.MOV, b, x86.EAX)
	k.I(x86.SHL, b, x86.Imm(1))
	k.I(x86.MOV, x86.EAX, a) // goes
	k.I(x86.MOV, x86.ECX, b) // b changed: a load
	out := reloads(k, Options{}, map[int]x86.Reg{}, []x86.Mem{a, b})
	got := lines(out)
	assert.Equal(t, []string{"mov eax, dword [0x700]", "mov dword [0x704], eax", "shl dword [0x704], 0x1",
		"mov ecx, dword [0x704]"}, got)
}

// lines are k's instructions and labels as it prints them, one a string.
func lines(k *Kernel) []string {
	var got []string
	for _, l := range strings.Split(k.String(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			got = append(got, l)
		}
	}
	return got
}

// A store to a slot that a second store to the whole slot overwrites,
// nothing reading the slot between, goes; a read of it, a word written
// in place, a label or a call between keep it.
func TestDeadStores(t *testing.T) {
	a, b := x86.D(x86.Abs16(0x700)), x86.D(x86.Abs16(0x704))
	k := &Kernel{Name: "dead"}
	k.I(x86.MOV, a, x86.EAX) // goes: overwritten below, unread
	k.I(x86.MOV, x86.ECX, b)
	k.I(x86.SHRD, x86.EAX, x86.ECX, x86.Imm(1))
	k.I(x86.MOV, a, x86.EAX)
	k.I(x86.ADD, x86.EDX, a) // read
	k.I(x86.MOV, a, x86.Imm(0))
	k.I(x86.INC, x86.W(a)) // a read and written in part
	k.I(x86.MOV, b, x86.EAX)
	k.I(x86.MOV, a, x86.EAX) // a label next
	k.Label("join")
	k.I(x86.MOV, a, x86.ECX) // a call next
	k.I(x86.CALL, x86.Label("f"))
	k.I(x86.MOV, a, x86.EDX)
	got := lines(deadStores(k, []x86.Mem{a, b}))
	assert.Equal(t, []string{
		"mov ecx, dword [0x704]", "shrd eax, ecx, 0x1", "mov dword [0x700], eax", "add edx, dword [0x700]",
		"mov dword [0x700], 0x0", "inc word [0x700]", "mov dword [0x704], eax", "mov dword [0x700], eax", "join:",
		"mov dword [0x700], ecx", "call f", "mov dword [0x700], edx",
	}, got)
}

// A second `xor r, r` with only moves since the first (which write no
// flags) and r not written goes: r and the flags are as it would leave
// them. A write to r, another instruction or a label keeps it.
func TestReloadsClearOnce(t *testing.T) {
	a, b := x86.D(x86.Abs16(0x700)), x86.D(x86.Abs16(0x704))
	k := &Kernel{Name: "clear"}
	k.I(x86.XOR, x86.EAX, x86.EAX)
	k.I(x86.MOV, a, x86.EAX)
	k.I(x86.XOR, x86.ECX, x86.ECX)
	k.I(x86.XOR, x86.EAX, x86.EAX) // goes
	k.I(x86.MOV, b, x86.EAX)
	k.I(x86.XOR, x86.ECX, x86.ECX) // goes
	k.I(x86.MOV, x86.AL, x86.Imm(1))
	k.I(x86.XOR, x86.EAX, x86.EAX) // al written
	k.I(x86.ADD, x86.EDX, x86.Imm(1))
	k.I(x86.XOR, x86.ECX, x86.ECX) // the add wrote the flags
	k.Label("join")
	k.I(x86.XOR, x86.ECX, x86.ECX) // a label
	got := lines(reloads(k, Options{}, map[int]x86.Reg{}, []x86.Mem{a, b}))
	assert.Equal(t, []string{
		"xor eax, eax", "mov dword [0x700], eax", "xor ecx, ecx", "mov dword [0x704], eax", "mov al, 0x1",
		"xor eax, eax", "add edx, 0x1", "xor ecx, ecx", "join:", "xor ecx, ecx",
	}, got)
}
