package regalloc

import (
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	x86 "tfc/codegen/x86_16"
)

// summary renders what effectsOf says about an instruction: registers
// read, registers written, flow and target.
func summary(t *testing.T, in x86.Inst, o Options) (use, def string, e effects) {
	t.Helper()
	e, err := effectsOf(in, &o)
	require.NoError(t, err, InstString(in))
	var u, d []string
	for _, ac := range e.acc {
		if ac.read {
			u = append(u, regName(ac.reg))
		}
		if ac.write {
			d = append(d, regName(ac.reg))
		}
	}
	norm := func(s []string) string {
		sort.Strings(s)
		out := s[:0]
		for i, x := range s {
			if i == 0 || x != s[i-1] {
				out = append(out, x)
			}
		}
		return strings.Join(out, " ")
	}
	return norm(u), norm(d), e
}

func TestImplicitOperandTable(t *testing.T) {
	m := func(base, index x86.Reg) x86.Mem { return x86.D(x86.Ptr32(base, index, 4, 0)) }
	v1, v2, v3 := V(1), V(2), V(3)
	call := Options{CallUses: []x86.Reg{x86.ESI}, CallClobbers: []x86.Reg{x86.EAX, x86.EDX}}
	tests := []struct {
		in       x86.Inst
		o        Options
		use, def string
		flow     flow
		target   string
	}{
		// Multiply and divide by operand size.
		{in: x86.Inst{Op: x86.MUL, Args: []x86.Operand{x86.EBX}}, use: "eax ebx", def: "eax edx"},
		{in: x86.Inst{Op: x86.MUL, Args: []x86.Operand{x86.CX}}, use: "ax cx", def: "ax dx"},
		{in: x86.Inst{Op: x86.MUL, Args: []x86.Operand{x86.BL}}, use: "al bl", def: "ax"},
		{in: x86.Inst{Op: x86.IMUL, Args: []x86.Operand{v1}}, use: "eax v1", def: "eax edx"},
		{in: x86.Inst{Op: x86.IMUL, Args: []x86.Operand{V8(1)}}, use: "al v1b", def: "ax"},
		{in: x86.Inst{Op: x86.IMUL, Args: []x86.Operand{m(v1, v2)}}, use: "eax v1 v2", def: "eax edx"},
		{in: x86.Inst{Op: x86.IMUL, Args: []x86.Operand{v1, v2}}, use: "v1 v2", def: "v1"},
		{in: x86.Inst{Op: x86.IMUL, Args: []x86.Operand{v1, v2, x86.Imm(10)}}, use: "v2", def: "v1"},
		{in: x86.Inst{Op: x86.IMUL, Args: []x86.Operand{v1, x86.Imm(10)}}, use: "v1", def: "v1"},
		{in: x86.Inst{Op: x86.DIV, Args: []x86.Operand{v3}}, use: "eax edx v3", def: "eax edx"},
		{in: x86.Inst{Op: x86.IDIV, Args: []x86.Operand{x86.W(x86.Ptr16(x86.BX, x86.NoReg, 0))}}, use: "ax bx dx", def: "ax dx"},
		{in: x86.Inst{Op: x86.DIV, Args: []x86.Operand{x86.B(x86.Abs16(0x500))}}, use: "ax", def: "ax"},
		// Sign extension of the accumulator.
		{in: x86.Inst{Op: x86.CDQ}, use: "eax", def: "edx"},
		{in: x86.Inst{Op: x86.CWD}, use: "ax", def: "dx"},
		{in: x86.Inst{Op: x86.CBW}, use: "al", def: "ax"},
		{in: x86.Inst{Op: x86.CWDE}, use: "ax", def: "eax"},
		// Loops count in cx.
		{in: x86.Inst{Op: x86.LOOP, Args: []x86.Operand{x86.Label("top")}}, use: "cx", def: "cx", flow: fBranch, target: "top"},
		{in: x86.Inst{Op: x86.JCXZ, Args: []x86.Operand{x86.Short{To: x86.Label("out")}}}, use: "cx", flow: fBranch, target: "out"},
		{in: x86.Inst{Op: x86.JECXZ, Args: []x86.Operand{x86.Label("out")}}, use: "ecx", flow: fBranch, target: "out"},
		{in: x86.Inst{Op: x86.JNE, Args: []x86.Operand{x86.Near{To: x86.Label("l")}}}, flow: fBranch, target: "l"},
		{in: x86.Inst{Op: x86.JMP, Args: []x86.Operand{x86.Label("l")}}, flow: fJump, target: "l"},
		{in: x86.Inst{Op: x86.RET}, flow: fExit},
		// Shifts: the count in cl is an explicit operand.
		{in: x86.Inst{Op: x86.SHL, Args: []x86.Operand{v1, x86.CL}}, use: "cl v1", def: "v1"},
		{in: x86.Inst{Op: x86.SAR, Args: []x86.Operand{v1, x86.Imm(3)}}, use: "v1", def: "v1"},
		{in: x86.Inst{Op: x86.SHRD, Args: []x86.Operand{v1, v2, x86.CL}}, use: "cl v1 v2", def: "v1"},
		{in: x86.Inst{Op: x86.SHLD, Args: []x86.Operand{v1, v2, x86.Imm(4)}}, use: "v1 v2", def: "v1"},
		// String instructions (16-bit addressing: si/di).
		{in: x86.Inst{Op: x86.LODSD}, use: "si", def: "eax si"},
		{in: x86.Inst{Op: x86.LODSB}, use: "si", def: "al si"},
		{in: x86.Inst{Op: x86.STOSW}, use: "ax di", def: "di"},
		{in: x86.Inst{Op: x86.REP | x86.STOSD}, use: "cx di eax", def: "cx di"},
		{in: x86.Inst{Op: x86.REP | x86.MOVSB}, use: "cx di si", def: "cx di si"},
		{in: x86.Inst{Op: x86.REPNE | x86.SCASB}, use: "al cx di", def: "cx di"},
		{in: x86.Inst{Op: x86.CMPSD}, use: "di si", def: "di si"},
		// With the address-size prefix: esi, edi, ecx.
		{in: x86.Inst{Op: x86.A32 | x86.LODSD}, use: "esi", def: "eax esi"},
		{in: x86.Inst{Op: x86.A32 | x86.LODSW}, use: "esi", def: "ax esi"},
		{in: x86.Inst{Op: x86.A32 | x86.REP | x86.MOVSD}, use: "ecx edi esi", def: "ecx edi esi"},
		{in: x86.Inst{Op: x86.A32 | x86.REPE | x86.SCASB}, use: "al ecx edi", def: "ecx edi"},
		{in: x86.Inst{Op: x86.A32 | x86.STOSB}, use: "al edi", def: "edi"},
		{in: x86.Inst{Op: x86.A32 | x86.LOOP, Args: []x86.Operand{x86.Label("top")}}, use: "ecx", def: "ecx", flow: fBranch, target: "top"},
		// Calls follow the convention in Options.
		{in: x86.Inst{Op: x86.CALL, Args: []x86.Operand{x86.Label("f")}}, o: call, use: "esi", def: "eax edx", flow: fCall, target: "f"},
		{in: x86.Inst{Op: x86.CALL, Args: []x86.Operand{x86.Label("f")}}, use: "", def: "eax ebp ebx ecx edi edx esi", flow: fCall, target: "f"},
		{in: x86.Inst{Op: x86.CALL, Args: []x86.Operand{x86.Label("f")}}, o: Options{CallClobbers: []x86.Reg{}}, flow: fCall, target: "f"},
		{in: x86.Inst{Op: x86.CALL, Args: []x86.Operand{v2}}, o: call, use: "esi v2", def: "eax edx", flow: fCall},
		{in: x86.Inst{Op: x86.INT, Args: []x86.Operand{x86.Imm(0x10)}}, o: call, use: "esi", def: "eax edx", flow: fCall},
		// Explicit operands.
		{in: x86.Inst{Op: x86.XOR, Args: []x86.Operand{v1, v1}}, def: "v1"},
		{in: x86.Inst{Op: x86.SUB, Args: []x86.Operand{V16(1), V16(1)}}, def: "v1w"},
		{in: x86.Inst{Op: x86.XOR, Args: []x86.Operand{v1, v2}}, use: "v1 v2", def: "v1"},
		{in: x86.Inst{Op: x86.ADC, Args: []x86.Operand{v1, x86.Imm(0)}}, use: "v1", def: "v1"},
		{in: x86.Inst{Op: x86.CMP, Args: []x86.Operand{v1, m(v2, v3)}}, use: "v1 v2 v3"},
		{in: x86.Inst{Op: x86.MOV, Args: []x86.Operand{m(v1, v2), v3}}, use: "v1 v2 v3"},
		{in: x86.Inst{Op: x86.MOV, Args: []x86.Operand{V8(3), x86.B(m(v1, x86.NoReg))}}, use: "v1", def: "v3b"},
		{in: x86.Inst{Op: x86.MOVZX, Args: []x86.Operand{v1, V16(2)}}, use: "v2w", def: "v1"},
		{in: x86.Inst{Op: x86.LEA, Args: []x86.Operand{v1, m(v1, v2)}}, use: "v1 v2", def: "v1"},
		{in: x86.Inst{Op: x86.XCHG, Args: []x86.Operand{v1, x86.EAX}}, use: "eax v1", def: "eax v1"},
		{in: x86.Inst{Op: x86.CMOVL, Args: []x86.Operand{v1, v2}}, use: "v1 v2", def: "v1"},
		{in: x86.Inst{Op: x86.SETE, Args: []x86.Operand{V8(1)}}, def: "v1b"},
		{in: x86.Inst{Op: x86.NEG, Args: []x86.Operand{v1}}, use: "v1", def: "v1"},
		{in: x86.Inst{Op: x86.PUSH, Args: []x86.Operand{v1}}, use: "v1"},
		{in: x86.Inst{Op: x86.POP, Args: []x86.Operand{v1}}, def: "v1"},
		{in: x86.Inst{Op: x86.PUSH, Args: []x86.Operand{x86.ES}}},
		{in: x86.Inst{Op: x86.MOV, Args: []x86.Operand{x86.DS, x86.AX}}, use: "ax"},
		{in: x86.Inst{Op: x86.MOV, Args: []x86.Operand{x86.ESP, v1}}, use: "v1"},
		{in: x86.Inst{Op: x86.POPAD}, def: "eax ebp ebx ecx edi edx esi"},
		{in: x86.Inst{Op: x86.OUT, Args: []x86.Operand{x86.DX, x86.AL}}, use: "al dx"},
		{in: x86.Inst{Op: x86.IN, Args: []x86.Operand{x86.AL, x86.Imm(0x60)}}, def: "al"},
		{in: x86.Inst{Op: x86.RDTSC}, def: "eax edx"},
		{in: x86.Inst{Op: x86.CPUID}, use: "eax ecx", def: "eax ebx ecx edx"},
		{in: x86.Inst{Op: x86.XLATB}, use: "al bx", def: "al"},
	}
	type row struct {
		Use, Def string
		Flow     flow
		Target   string
	}
	for _, tc := range tests {
		use, def, e := summary(t, tc.in, tc.o)
		assert.Equal(t, row{tc.use, tc.def, tc.flow, tc.target}, row{use, def, e.flow, e.target}, InstString(tc.in))
	}
}

func TestImplicitOperandTableErrors(t *testing.T) {
	for _, in := range []x86.Inst{
		{Op: x86.JMP, Args: []x86.Operand{x86.EAX}},
		{Op: x86.JMP, Args: []x86.Operand{x86.D(x86.Abs16(0x500))}},
		{Op: x86.MUL, Args: []x86.Operand{x86.Abs16(0x500)}}, // no size
		{Op: x86.ADD, Args: []x86.Operand{x86.EAX}},
		{Op: x86.BadOp},
	} {
		_, err := effectsOf(in, &Options{})
		assert.Error(t, err, InstString(in))
	}
}

// Every mnemonic of the encoder has a row.
func TestImplicitOperandTableCoversEncoder(t *testing.T) {
	for op := x86.ADD; op <= x86.UD2; op++ {
		if op == x86.SHR+1 { // the unused /6 of the shift group
			continue
		}
		assert.NotEmpty(t, rowsByOp[op], "%v has no row", op)
	}
}

func TestVirtualRegisterRange(t *testing.T) {
	// The encoder's registers end below the virtual range.
	require.Equal(t, "reg?", x86.Reg(vBase-1).String(), "Reg(%d): the encoder's registers reach the virtual range", vBase-1)
	require.Less(t, V(MaxVirtual-1), V16(0), "virtual ranges overlap")
	require.Less(t, V16(MaxViews-1), V8(0), "virtual ranges overlap")
	require.Less(t, int(V8(MaxViews-1)), 1<<16, "virtual ranges overlap")
	for _, r := range []x86.Reg{V(0), V(MaxVirtual - 1), V16(5), V8(MaxViews - 1)} {
		assert.True(t, IsVirtual(r), "%s not virtual", regName(r))
	}
	for r := x86.NoReg; r <= x86.CR0; r++ {
		assert.False(t, IsVirtual(r), "%s virtual", r)
	}
	assert.Equal(t, "v7", regName(V(7)), "name")
	assert.Equal(t, "v7w", regName(V16(7)), "name")
	assert.Equal(t, "v7b", regName(V8(7)), "name")
	in := x86.Inst{Op: x86.MOV, Args: []x86.Operand{x86.D(x86.Ptr32(V(1), V(2), 4, -4)), V(3)}}
	assert.Equal(t, "mov dword [v1+v2*4-0x4], v3", InstString(in), "InstString")
	in = x86.Inst{Op: x86.ADD, Args: []x86.Operand{V8(0), x86.Imm(5)}}
	assert.Equal(t, "add v0b, 0x5", InstString(in), "InstString")
}
