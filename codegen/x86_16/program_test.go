package x86_16

import (
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nasmSource assembles a whole NASM source file.
func nasmSource(t *testing.T, src string) []byte {
	t.Helper()
	nasm := needTool(t, "nasm")
	dir := t.TempDir()
	asm, bin := filepath.Join(dir, "p.asm"), filepath.Join(dir, "p.bin")
	require.NoError(t, os.WriteFile(asm, []byte(src), 0o644))
	out, err := exec.Command(nasm, "-f", "bin", "-o", bin, asm).CombinedOutput()
	require.NoError(t, err, "nasm:\n%s\nsource:\n%s", out, src)
	require.Empty(t, string(out), "nasm's diagnostics; source:\n%s", src)
	b, err := os.ReadFile(bin)
	require.NoError(t, err)
	return b
}

func mustAssemble(t *testing.T, p *Program, org uint32) []byte {
	t.Helper()
	b, err := p.Assemble(org)
	require.NoError(t, err, "Assemble")
	return b
}

// checkWithNASM compares our bytes with nasm's for the listing (with the
// layout's short/near hints) and, when plain is set, for the source without
// hints, i.e. with NASM doing its own branch relaxation.
func checkWithNASM(t *testing.T, p *Program, got []byte, plain bool) {
	t.Helper()
	// A subtest, so that a missing nasm skips only this part.
	t.Run("nasm", func(t *testing.T) {
		// hex.Dump, so that a difference shows as a diff of dump lines
		assert.Equal(t, hex.Dump(got), hex.Dump(nasmSource(t, p.Listing())),
			"what the listing assembles to (expected: our bytes); listing:\n%s", p.Listing())
		if plain {
			assert.Equal(t, hex.Dump(got), hex.Dump(nasmSource(t, p.listing(false))),
				"nasm relaxes differently (expected: our bytes)")
		}
	})
}

func TestRelaxBoundaries(t *testing.T) {
	tests := []struct {
		name    string
		op      Op
		forward bool
		pad     int
		want    string // the jump's bytes
	}{
		// forward: rel = pad
		{"jmp +127", JMP, true, 127, "eb7f"},
		{"jmp +128", JMP, true, 128, "e98000"},
		{"jne +127", JNE, true, 127, "757f"},
		{"jne +128", JNE, true, 128, "0f858000"},
		// backward: rel = -(pad + short length)
		{"jmp -128", JMP, false, 126, "eb80"},
		{"jmp -129", JMP, false, 127, "e97eff"},
		{"jl -128", JL, false, 126, "7c80"},
		{"jl -129", JL, false, 127, "0f8c7dff"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p Program
			if tc.forward {
				p.I(tc.op, Label("there"))
				p.Times(tc.pad, 0x90)
				p.Label("there")
				p.I(HLT)
			} else {
				p.Label("there")
				p.Times(tc.pad, 0x90)
				p.I(tc.op, Label("there"))
			}
			got := mustAssemble(t, &p, 0x7c00)
			j := got
			if tc.forward {
				j = got[:len(tc.want)/2]
			} else {
				j = got[tc.pad:]
			}
			assert.Equal(t, tc.want, hex.EncodeToString(j), "jump encoded")
			checkWithNASM(t, &p, got, true)
		})
	}
}

// A jump that grows can push another one out of rel8 range: the layout must
// iterate until nothing changes.
func TestRelaxCascade(t *testing.T) {
	var p Program
	p.I(JMP, Label("a"))  // 2 bytes if j2 stays short: rel 127; else 128
	p.Times(125, 0x90)    //
	p.I(JE, Label("far")) // j2: must be near
	p.Label("a")
	p.Times(200, 0x90)
	p.Label("far")
	p.I(RET)
	got := mustAssemble(t, &p, 0)
	assert.Equal(t, byte(0xE9), got[0], "first jump near, got % x ... % x", got[:3], got[128:132])
	assert.Equal(t, byte(0x0F), got[128], "second jump near, got % x ... % x", got[:3], got[128:132])
	assert.Equal(t, uint32(3+125+4), p.Symbols()["a"], "a")
	checkWithNASM(t, &p, got, true)
}

func TestRel8Only(t *testing.T) {
	for _, op := range []Op{LOOP, LOOPE, LOOPNE, JCXZ} {
		// in range at the boundary: rel -128
		var p Program
		p.Label("top")
		p.Times(126, 0x90)
		p.I(op, Label("top"))
		got := mustAssemble(t, &p, 0)
		assert.Equal(t, byte(0x80), got[len(got)-1], "%v: rel8", op)
		checkWithNASM(t, &p, got, true)

		// one past
		var q Program
		q.Label("top")
		q.Times(127, 0x90)
		q.I(op, Label("top"))
		_, err := q.Assemble(0)
		assert.ErrorContains(t, err, "out of rel8 range", "%v out of range", op)
		// and forward
		var r Program
		r.I(op, Label("end"))
		r.Times(128, 0x90)
		r.Label("end")
		_, err = r.Assemble(0)
		assert.ErrorContains(t, err, "out of rel8 range", "%v forward out of range", op)
	}
	var p Program
	p.I(JMP, Short{Label("end")})
	p.Times(200, 0)
	p.Label("end")
	_, err := p.Assemble(0)
	assert.ErrorContains(t, err, "rel8", "forced short out of range")
}

// bootProgram is a small real-mode → protected-mode boot sector that uses
// most Program features.
func bootProgram() *Program {
	var p Program
	p.Mark("setup")
	p.Label("start")
	p.I(CLI)
	p.I(XOR, AX, AX)
	p.I(MOV, DS, AX)
	p.I(MOV, ES, AX)
	p.I(MOV, SS, AX)
	p.I(MOV, SP, Imm(0x7c00))
	p.I(JMP, Far{Seg: 0, Label: "norm"})
	p.Label("norm")
	p.I(STI)
	p.I(MOV, SI, ImmLabel{"msg", 0})
	p.Mark("print")
	p.Label("print")
	p.I(LODSB)
	p.I(TEST, AL, AL)
	p.I(JZ, Label("done"))
	p.I(MOV, AH, Imm(0x0e))
	p.I(INT, Imm(0x10))
	p.I(JMP, Label("print"))
	p.Label("done")
	p.Mark("pm")
	p.I(IN, AL, Imm(0x92))
	p.I(OR, AL, Imm(2))
	p.I(OUT, Imm(0x92), AL)
	p.I(LGDT, At("gdt_desc", 0))
	p.I(MOV, EAX, CR0)
	p.I(OR, AL, Imm(1))
	p.I(MOV, CR0, EAX)
	p.I(JMP, Far{Seg: 8, Label: "pm32", Size: 32})
	p.Label("pm32")
	p.I(MOV, ECX, Imm(100))
	p.Label("spin")
	p.I(MOV, EAX, D(Mem{Base: ESI, Index: ECX, Scale: 4, Label: "table", Disp: 8}))
	p.I(ADD, W(At("counter", 0)), Imm(1))
	p.I(LOOP, Label("spin"))
	p.I(CMP, ECX, Imm(0))
	p.I(JNE, Label("fail"))
	p.I(HLT)
	p.Times(150, 0x90)
	p.Label("fail")
	p.I(JMP, Label("start"))
	p.Mark("data")
	p.Label("msg")
	p.DB([]byte("tfc boot\r\n\x00")...)
	p.Align(8, 0)
	p.Label("gdt")
	p.DD(0, 0)
	p.DD(0x0000ffff, 0x00cf9a00)
	p.DD(0x0000ffff, 0x00cf9200)
	p.Label("gdt_desc")
	p.DW(3*8 - 1)
	p.DDAddr("gdt", 0)
	p.Label("counter")
	p.DW(0)
	p.Label("table")
	p.DWAddr("msg", 2)
	p.PadTo(510, 0)
	p.DB(0x55, 0xAA)
	return &p
}

func TestListingRoundTrip(t *testing.T) {
	p := bootProgram()
	got := mustAssemble(t, p, 0x7c00)
	require.Len(t, got, 512, "boot sector")
	require.Equal(t, []byte{0x55, 0xAA}, got[510:], "boot signature")
	lst := p.Listing()
	for _, want := range []string{"bits 16\n", "org 0x7c00\n", "start:\n", "jmp 0x0:norm", "jmp dword 0x8:pm32",
		"je short done", "jne near fail", "lgdt [gdt_desc]", "dd gdt\n", "dw msg+0x2\n", "db 0x74, 0x66, 0x63"} {
		assert.Contains(t, lst, want, "listing:\n%s", lst)
	}
	checkWithNASM(t, p, got, true)

	syms := p.Symbols()
	assert.Equal(t, uint32(0x7c00), syms["start"], "start")
	assert.Zero(t, syms["gdt"]%8, "gdt at %#x, not 8-aligned", syms["gdt"])
	var names []string
	total := uint32(0)
	for _, r := range p.Regions() {
		names = append(names, r.Name)
		total += r.End - r.Start
	}
	assert.Empty(t, cmp.Diff([]string{"setup", "print", "pm", "data"}, names), "regions (-want +got)")
	assert.Equal(t, uint32(512), total, "bytes the regions cover")
	for _, pl := range p.Placed() {
		var q Program
		q.Add(pl.Inst)
		if pl.Inst.isRelaxable() || len((&item{kind: itInst, inst: pl.Inst}).references()) > 0 {
			continue
		}
		b := mustAssemble(t, &q, pl.Addr)
		off := pl.Addr - 0x7c00
		assert.Equal(t, got[off:off+uint32(pl.Size)], b, "%v at %#x: the instruction assembled alone (expected: its placed bytes)", pl.Inst, pl.Addr)
	}
}

// TestListingQEMU is left to the runtime package; here we only check that
// an unassembled program still produces a listing.
func TestListingBeforeAssemble(t *testing.T) {
	var p Program
	p.Label("x")
	p.I(JMP, Label("x"))
	assert.Contains(t, p.Listing(), "jmp short x", "listing")
	var bad Program
	bad.I(MOV, AX, BL)
	assert.Contains(t, bad.Listing(), "; does not assemble", "listing of a bad program")
}

// Equ names an address outside the program: calls and jumps reach it,
// Refers sees them, the listing says equ, and NASM agrees.
func TestEqu(t *testing.T) {
	var p Program
	p.Equ("putc", 0x7C26)
	p.I(MOV, AL, Imm('\n'))
	p.I(CALL, Label("putc"))
	p.I(JMP, Label("putc"))
	got := mustAssemble(t, &p, 0x7E00)
	want := []byte{0xB0, 0x0A, 0xE8, 0x21, 0xFE, 0xE9, 0x1E, 0xFE}
	assert.Equal(t, want, got, "code")
	assert.True(t, p.Refers("putc"), "Refers(putc)")
	assert.False(t, p.Refers("exit"), "Refers(exit)")
	assert.Contains(t, p.Listing(), "putc equ 0x7c26", "listing")
	checkWithNASM(t, &p, got, true)
	var dup Program
	dup.Equ("x", 1)
	dup.Label("x")
	_, err := dup.Assemble(0)
	assert.ErrorContains(t, err, "already defined", "an equ and a label of one name")
}

// Label names that NASM would misread: keywords, and local-label syntax
// (".x" is scoped to the previous label in NASM, flat in a Program).
func TestLabelNames(t *testing.T) {
	var p Program
	p.Label("ax")
	p.Label("loop")
	p.I(JMP, Label("ax"))
	p.I(MOV, BX, ImmLabel{"loop", 1})
	p.Label("f1")
	p.Label(".top")
	p.I(DEC, CX)
	p.I(JNE, Label(".top"))
	p.Label("f2")
	p.I(JMP, Label(".top"))
	p.I(MOV, AX, At(".top", 2))
	got := mustAssemble(t, &p, 0x100)
	lst := p.Listing()
	for _, want := range []string{"$ax:", "$loop+0x1", "..@.top:", "jne short ..@.top", "[..@.top+0x2]"} {
		assert.Contains(t, lst, want, "listing:\n%s", lst)
	}
	checkWithNASM(t, &p, got, true)
}

func TestErrors(t *testing.T) {
	tests := []struct {
		in   Inst
		want string
	}{
		{inst(MOV, AX, BL), "operand size mismatch"},
		{inst(MOV, AL, EAX), "operand size mismatch"},
		{inst(ADD, EAX, W(p16(BX, 0, 0))), "operand size mismatch"},
		{inst(MOV, W(p16(BX, 0, 0)), Imm(0x10000)), "out of range"},
		{inst(MOV, AL, Imm(256)), "out of range"},
		{inst(ADD, AX, Imm(-0x8001)), "out of range"},
		{inst(MOV, p16(BX, 0, 0), Imm(1)), "operand size not specified"},
		{inst(INC, p16(SI, 0, 0)), "operand size not specified"},
		{inst(PUSH, p16(BX, 0, 0)), "operand size not specified"},
		{inst(MOVZX, AX, p16(BX, 0, 0)), "operand size not specified"},
		{inst(SHL, p16(BX, 0, 0), CL), "operand size not specified"},
		{inst(MOV, AX, p16(AX, 0, 0)), "ax cannot be used in a 16-bit address"},
		{inst(MOV, AX, p16(BX, BP, 0)), "not a valid 16-bit address"},
		{inst(MOV, AX, p16(SI, DI, 0)), "not a valid 16-bit address"},
		{inst(MOV, AX, Mem{Base: BX, Index: SI, Scale: 2}), "no scaled index"},
		{inst(MOV, AX, Mem{Base: EAX, Index: SI}), "cannot be used in a 32-bit address"},
		{inst(MOV, AX, p32(EAX, ESP, 2, 0)), "esp cannot be an index"},
		{inst(MOV, AX, p32(EAX, ECX, 3, 0)), "invalid scale"},
		{inst(MOV, AX, Mem{Disp: 0x10000}), "does not fit 16-bit addressing"},
		{inst(MOV, AX, Mem{Base: BX, Seg: AX}), "not a segment register"},
		{inst(MOV, CS, AX), "cs cannot be loaded"},
		{inst(POP, CS), "invalid combination"},
		{inst(MOV, DS, Imm(0)), "invalid combination"},
		{inst(MOV, CR0, AX), "operand size mismatch"},
		{inst(LEA, AX, BX), "invalid combination"},
		{inst(MOVZX, AX, BX), "operand size mismatch"},
		{inst(IMUL, AL, BL), "operand size mismatch"},
		{inst(INT, Imm(256)), "out of range"},
		{inst(IN, AL, Imm(-1)), "out of range"},
		{inst(LOOP, Near{Addr(0)}), "no near form"},
		{inst(CALL, Short{Addr(0)}), "no short form"},
		{inst(ADD, AX), "wrong number of operands"},
		{inst(HLT, AX), "wrong number of operands"},
		{inst(REP|ADD, AX, BX), "prefix not allowed"},
		{inst(REPE | MOVSB), "prefix not allowed"},
		{inst(BadOp), "unknown instruction"},
		{inst(MOV, AX, nil), "nil operand"},
		{inst(MOV, AX, Reg(200)), "invalid register"},
		{inst(JMP, Far{Seg: 8, Off: 0x10000}), "does not fit 16 bits"},
		{inst(PUSH, SizedImm{8, Imm(1)}), "operand size mismatch"},
		{inst(MOV, AX, Mem{Base: BX, Size: 48}), "invalid memory operand size"},
		{inst(MOV, AX, Q(p16(BX, 0, 0))), "operand size mismatch"},
		{inst(MOV, CR4, AX), "operand size mismatch"},
		{inst(MOV, XMM0, EAX), "invalid combination"},
		{inst(MOVD, XMM0, AX), "operand size mismatch"},
		{inst(MOVD, XMM0, Q(p16(BX, 0, 0))), "operand size mismatch"},
		{inst(MOVQ, XMM0, EAX), "invalid combination"},
		{inst(MOVQ, EAX, XMM0), "invalid combination"},
		{inst(MOVDQU, XMM0, D(p16(SI, 0, 0))), "operand size mismatch"},
		{inst(MOVDQU, p16(SI, 0, 0), p16(DI, 0, 0)), "invalid combination"},
		{inst(PMADDWD, p16(SI, 0, 0), XMM0), "invalid combination"},
		{inst(PMADDWD, XMM0, EAX), "invalid combination"},
		{inst(PSRLQ, p16(SI, 0, 0), Imm(4)), "invalid combination"},
		{inst(PSRAD, XMM0, Imm(256)), "out of range"},
		{inst(PSHUFD, XMM0, XMM1, Imm(-1)), "out of range"},
		{inst(MOVDQA, XMM0, p16(XMM1, 0, 0)), "cannot be used in a 16-bit address"},
	}
	for _, tc := range tests {
		_, err := assembleRow(tc.in)
		assert.ErrorContains(t, err, tc.want, "%v", tc.in)
	}
}

func TestProgramErrors(t *testing.T) {
	check := func(name string, build func(p *Program), want string) {
		t.Helper()
		var p Program
		build(&p)
		_, err := p.Assemble(0)
		assert.ErrorContains(t, err, want, name)
	}
	check("undefined", func(p *Program) { p.I(JMP, Label("nowhere")) }, `undefined label "nowhere"`)
	check("undefined in mem", func(p *Program) { p.I(MOV, AX, At("nowhere", 0)) }, `undefined label "nowhere"`)
	check("undefined in dw", func(p *Program) { p.DWAddr("nowhere", 0) }, `undefined label "nowhere"`)
	check("duplicate", func(p *Program) { p.Label("x"); p.I(NOP); p.Label("x") }, `label "x" already defined`)
	check("bad name", func(p *Program) { p.Label("a b") }, "invalid label name")
	check("bad name 2", func(p *Program) { p.Label("1abc") }, "invalid label name")
	check("align 0", func(p *Program) { p.Align(0, 0) }, "must be positive")
	check("times -1", func(p *Program) { p.Times(-1, 0) }, "negative count")
	check("pad past", func(p *Program) { p.Times(10, 0); p.PadTo(5, 0) }, "already at offset 10")
	check("address too big", func(p *Program) {
		p.Times(0x10000, 0)
		p.Label("high")
		p.I(MOV, AX, At("high", 0))
	}, "does not fit 16-bit addressing")
	check("imm label too big", func(p *Program) {
		p.Times(0x100, 0)
		p.Label("x")
		p.I(MOV, AL, ImmLabel{"x", 0})
	}, "out of range")
	check("dw too big", func(p *Program) {
		p.Times(0x10000, 0)
		p.Label("x")
		p.DWAddr("x", 0)
	}, "does not fit 2 bytes")
	// several errors are all reported
	var p Program
	p.I(MOV, AX, BL)
	p.I(MOV, CL, DX)
	_, err := p.Assemble(0)
	require.Error(t, err, "want two errors")
	assert.Equal(t, 2, strings.Count(err.Error(), "mismatch"), "errors in %v", err)
}

func TestEmptyProgram(t *testing.T) {
	var p Program
	b, err := p.Assemble(0x7c00)
	assert.NoError(t, err, "empty program")
	assert.Empty(t, b, "empty program's bytes")
	assert.Empty(t, p.Regions(), "empty program's regions")
	assert.Empty(t, p.Placed(), "empty program's instructions")
}

func TestNegate(t *testing.T) {
	pairs := [][2]Op{{JE, JNE}, {JB, JAE}, {JL, JGE}, {JLE, JG}, {JO, JNO}, {CMOVA, CMOVBE}, {SETS, SETNS}}
	for _, pr := range pairs {
		assert.Equal(t, pr[1], pr[0].Negate(), "%v.Negate()", pr[0])
		assert.Equal(t, pr[0], pr[1].Negate(), "%v.Negate()", pr[1])
	}
	op, ok := OpByName("JZ")
	assert.True(t, ok, "OpByName(JZ) found")
	assert.Equal(t, JE, op, "OpByName(JZ)")
}

// Expand replaces the instructions its function returns others for, and
// leaves labels, data and the rest where they were; Insts lists the
// instructions alone.
func TestExpand(t *testing.T) {
	var p Program
	p.Label("top")
	p.I(CALL, Label("f.3"))
	p.DB(0x90)
	p.I(JMP, Label("top"))
	p.Label("f")
	p.I(RET)
	p.Label("f.3")
	p.I(RET)
	p.Expand(func(in Inst) []Inst {
		if in.Op == CALL {
			return []Inst{{Op: MOV, Args: []Operand{CL, Imm(3)}}, {Op: CALL, Args: []Operand{Label("f")}}}
		}
		return nil
	})
	got := mustAssemble(t, &p, 0x100)
	// mov cl, 3; call f; db 0x90; jmp short top; f: ret; f.3: ret
	want := []byte{0xB1, 0x03, 0xE8, 0x03, 0x00, 0x90, 0xEB, 0xF8, 0xC3, 0xC3}
	assert.Equal(t, want, got)
	checkWithNASM(t, &p, got, true)
	assert.Len(t, p.Insts(), 5)
}
