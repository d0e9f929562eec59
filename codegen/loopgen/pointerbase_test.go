package loopgen

import (
	"testing"

	"github.com/stretchr/testify/assert"

	x86 "tfc/codegen/x86_16"
	"tfc/regalloc"
)

// A register that a kernel sets to 0, steps and addresses through
// (argmax's byte offset into the logits, [si-0x17a8]) starts at the
// address instead, and lods takes the load; jumps inside the loop do
// not matter. It stays where the register is read as a value, its step's
// flags are read, it is live at the kernel's entry (a param) or its 32-
// bit register is named, or a proc is called.
func TestPointerBase(t *testing.T) {
	inst := func(op x86.Op, args ...x86.Operand) x86.Inst { return x86.Inst{Op: op, Args: args} }
	at := x86.D(x86.Mem{Base: x86.SI, Disp: -0x17a8})
	set := []x86.Inst{inst(x86.XOR, x86.SI, x86.SI)}
	load := []x86.Inst{inst(x86.MOV, x86.EAX, at), inst(x86.ADD, x86.SI, x86.Imm(4))}
	// The best so far: if eax > ebx { ebx = eax; cx = dx }.
	best := []x86.Inst{inst(x86.CMP, x86.EAX, x86.EBX), inst(x86.JLE, x86.Label("t.else")), inst(x86.MOV, x86.EBX, x86.EAX), inst(x86.MOV, x86.CX, x86.DX)}
	end := []x86.Inst{inst(x86.INC, x86.DX), inst(x86.CMP, x86.DX, x86.Imm(0x200)), inst(x86.JL, x86.Label("t.loop"))}
	for _, c := range []struct {
		name             string
		set, load, extra []x86.Inst
		want             []string // nil: unchanged
	}{
		{"argmax", set, load, nil, []string{"mov si, -0x17a8", "xor dx, dx", "t.loop:", "lodsd", "cmp eax, ebx"}},
		// The allocator leaves a lone register in the index as often: lods
		// takes it once it is the base.
		{"a lone index", set, []x86.Inst{inst(x86.MOV, x86.EAX, x86.D(x86.Mem{Index: x86.SI, Disp: -0x17a8})), inst(x86.ADD, x86.SI, x86.Imm(4))}, nil, []string{"mov si, -0x17a8", "xor dx, dx", "t.loop:", "lodsd", "cmp eax, ebx"}},
		{"from a constant", []x86.Inst{inst(x86.MOV, x86.SI, x86.Imm(8))}, load, nil, []string{"mov si, -0x17a0", "xor dx, dx", "t.loop:", "lodsd", "cmp eax, ebx"}},
		{"read as a value", set, load, []x86.Inst{inst(x86.MOV, x86.DI, x86.SI)}, nil},
		{"its step's flags read", set, []x86.Inst{inst(x86.MOV, x86.EAX, at), inst(x86.ADD, x86.SI, x86.Imm(4)), inst(x86.JE, x86.Label("t.else"))}, nil, nil},
		{"the xor's flags read", []x86.Inst{inst(x86.XOR, x86.SI, x86.SI), inst(x86.SETE, x86.AL)}, load, nil, nil},
		{"live at the entry", []x86.Inst{inst(x86.MOV, x86.EDI, at), inst(x86.XOR, x86.SI, x86.SI)}, load, nil, nil},
		{"a jump out of the kernel", set, load, []x86.Inst{inst(x86.JMP, x86.Label("elsewhere"))}, nil},
		{"its 32-bit register", set, load, []x86.Inst{inst(x86.XOR, x86.ESI, x86.ESI)}, nil},
		{"a proc called", set, load, []x86.Inst{inst(x86.CALL, x86.Label("proc1"))}, nil},
	} {
		build := func() *regalloc.Kernel {
			k := &regalloc.Kernel{Name: "t"}
			k.I(x86.MOV, x86.EBX, x86.D(x86.Abs16(0xe858)))
			withInsts(k, c.set, []x86.Inst{inst(x86.XOR, x86.DX, x86.DX)})
			k.Label("t.loop")
			withInsts(k, c.load, best)
			k.Label("t.else")
			return withInsts(k, c.extra, end, []x86.Inst{inst(x86.XCHG, x86.AX, x86.CX), inst(x86.RET)})
		}
		k, u := build(), build()
		pointerBase(k, true)
		lodsLoads(k)
		lodsLoads(u)
		got, unchanged := listed(k), listed(u)
		if c.want == nil {
			assert.Equal(t, unchanged, got, c.name)
			continue
		}
		assert.Equal(t, c.want, got[1:len(c.want)+1], c.name)
	}
}

// An access to a constant address that a later mov sets bx, si or di to
// (argmax's first element, after pointerBase) goes through the register,
// the mov moved up. Not where something between names the register, reads
// it unnamed (a string instruction, a call of a proc), is a label, or the
// access names it; not through bp (ss's), nor at another address.
func TestLoadAtPointer(t *testing.T) {
	inst := func(op x86.Op, args ...x86.Operand) x86.Inst { return x86.Inst{Op: op, Args: args} }
	first := inst(x86.MOV, x86.ECX, x86.D(x86.Abs16(0xe858)))
	clear := inst(x86.XOR, x86.DX, x86.DX)
	set := inst(x86.MOV, x86.SI, x86.Imm(-0x17a8))
	for _, c := range []struct {
		name string
		in   []x86.Inst
		want []string // nil: unchanged
	}{
		{"argmax", []x86.Inst{first, clear, set}, []string{"mov si, -0x17a8", "mov ecx, dword [si]", "xor dx, dx"}},
		{"a store, through di", []x86.Inst{inst(x86.MOV, x86.D(x86.Abs16(0x1000)), x86.EAX), inst(x86.MOV, x86.DI, x86.Imm(0x1000))}, []string{"mov di, 0x1000", "mov dword [di], eax"}},
		{"si named between", []x86.Inst{first, inst(x86.MOV, x86.AX, x86.SI), set}, nil},
		{"a string instruction between", []x86.Inst{first, inst(x86.LODSB), set}, nil},
		{"a proc called between", []x86.Inst{first, inst(x86.CALL, x86.Label("proc1")), set}, nil},
		{"the access names it", []x86.Inst{inst(x86.MOV, x86.SI, x86.D(x86.Abs16(0xe858))), set}, nil},
		{"bp", []x86.Inst{first, inst(x86.MOV, x86.BP, x86.Imm(-0x17a8))}, nil},
		{"another address", []x86.Inst{first, inst(x86.MOV, x86.SI, x86.Imm(-0x17a4))}, nil},
		{"a 32-bit register", []x86.Inst{first, inst(x86.MOV, x86.ESI, x86.Imm(0xe858))}, nil},
	} {
		k := withInsts(&regalloc.Kernel{Name: "t"}, c.in)
		want := listed(k)
		if c.want != nil {
			want = c.want
		}
		loadAtPointer(k)
		assert.Equal(t, want, listed(k), c.name)
	}
	// A label between: the mov may be reached another way.
	k := withInsts(&regalloc.Kernel{Name: "t"}, []x86.Inst{first})
	k.Label("t.top")
	withInsts(k, []x86.Inst{set})
	want := listed(k)
	loadAtPointer(k)
	assert.Equal(t, want, listed(k), "a label between")
}
