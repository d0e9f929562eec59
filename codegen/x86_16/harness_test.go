package x86_16

// Test harness shared by the table test and the property test: encoding a
// single instruction, a normal form for comparing with x86asm, and batched
// nasm/objdump runs.

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/arch/x86/x86asm"
)

// Every test instruction is assembled alone at rowOrg, with the label
// "tgt" defined at its own address, so rows that use labels or absolute
// branch targets have fixed bytes independent of their position in a table.
const rowOrg = 0x7c00

func assembleRow(in Inst) ([]byte, error) {
	var p Program
	p.Label("tgt")
	p.Add(in)
	return p.Assemble(rowOrg)
}

var rowSyms = map[string]uint32{"tgt": rowOrg}

// ---- normal form shared by our instructions and x86asm's ----

// width is the operand width used to compare immediates: x86asm reports
// sign-extended imm8s as negative numbers, so values are compared modulo
// 2^width.
func x86Width(x x86asm.Inst) int {
	if x.MemBytes == 1 {
		return 8
	}
	for _, a := range x.Args {
		if r, ok := a.(x86asm.Reg); ok && r >= x86asm.AL && r <= x86asm.BH {
			return 8
		}
	}
	return x.DataSize
}

func mask(v int64, bits int) uint64 {
	if bits >= 64 {
		return uint64(v)
	}
	return uint64(v) & (1<<bits - 1)
}

func canonMem(seg, base, index string, scale int, disp uint64, a32 bool) string {
	s := "a16["
	if a32 {
		s = "a32["
	}
	if seg != "" {
		s += seg + ":"
	}
	s += base + "+" + index
	if index != "" && a32 {
		s += "*" + strconv.Itoa(scale)
	}
	return s + "+" + fmt.Sprintf("%#x", disp) + "]"
}

var stringOps = map[Op]bool{
	LODSB: true, LODSW: true, LODSD: true, STOSB: true, STOSW: true, STOSD: true,
	MOVSB: true, MOVSW: true, MOVSD: true, SCASB: true, SCASW: true, SCASD: true,
	CMPSB: true, CMPSW: true, CMPSD: true, XLATB: true,
}

// canonOurs renders in (assembled at pc) in the normal form; width comes
// from the decoded instruction (see x86Width).
func canonOurs(in Inst, pc uint32, width int) string {
	op := in.Op.Base()
	name := strings.ToUpper(op.String())
	args := in.Args
	var parts []string
	switch {
	case stringOps[op]:
		args = nil
	case op == INT3:
		name, args = "INT", []Operand{Imm(3)}
	case op == RETF:
		name = "LRET"
	case op == IMUL && len(args) == 2 && isImm(args[1]):
		args = []Operand{args[0], args[0], args[1]}
	case op == TEST && len(args) == 2 && isMem(args[1]):
		args = []Operand{args[1], args[0]}
	case op == MOV && len(args) == 2 && isSeg(args[0]) && isGPR32(args[1]):
		// 8E ignores the operand size, so x86asm names the 16-bit register.
		args = []Operand{args[0], args[1].(Reg) - EAX + AX}
	case op == XCHG && len(args) == 2 && args[0] == args[1] && (args[0] == Operand(AX) || args[0] == Operand(EAX)):
		name, args = "NOP", nil
	}
	for _, a := range args {
		parts = append(parts, canonArg(a, pc, width))
	}
	if len(args) == 1 {
		if _, far := args[0].(Far); far {
			name = "L" + name
		}
	}
	if op == XCHG && len(parts) == 2 {
		sort.Strings(parts)
	}
	switch in.Op.prefix() {
	case REP, REPE:
		name = "REP " + name
	case REPNE:
		name = "REPNE " + name
	}
	return name + " " + strings.Join(parts, ", ")
}

func isImm(o Operand) bool {
	switch o.(type) {
	case Imm, ImmLabel, SizedImm:
		return true
	}
	return false
}

func isSeg(o Operand) bool   { r, ok := o.(Reg); return ok && r.IsSeg() }
func isGPR32(o Operand) bool { r, ok := o.(Reg); return ok && r.isGPR32() }

func isMem(o Operand) bool { _, ok := o.(Mem); return ok }

func canonArg(a Operand, pc uint32, width int) string {
	switch a := a.(type) {
	case Reg:
		if a.isXMM() {
			return fmt.Sprintf("X%d", a-XMM0) // x86asm's names
		}
		return strings.ToUpper(a.String())
	case Imm:
		return fmt.Sprintf("%#x", mask(int64(a), width))
	case ImmLabel:
		return fmt.Sprintf("%#x", mask(int64(rowSyms[a.Name])+a.Add, width))
	case SizedImm:
		return canonArg(a.Val, pc, width)
	case Label:
		return fmt.Sprintf("T%#x", rowSyms[string(a)])
	case Addr:
		return fmt.Sprintf("T%#x", uint32(a)&0xFFFF)
	case Short:
		return canonArg(a.To, pc, width)
	case Near:
		return canonArg(a.To, pc, width)
	case Far:
		off := a.Off
		if a.Label != "" {
			off += rowSyms[a.Label]
		}
		return fmt.Sprintf("%#x:%#x", a.Seg, off)
	case Mem:
		seg := ""
		if a.Seg != NoReg {
			seg = strings.ToUpper(a.Seg.String())
		}
		disp := int64(a.Disp)
		if a.Label != "" {
			disp += int64(rowSyms[a.Label])
		}
		up := func(r Reg) string {
			if r == NoReg {
				return ""
			}
			return strings.ToUpper(r.String())
		}
		if a.is32() {
			b, x, s, err := a.norm32()
			if err != nil {
				return "BAD"
			}
			return canonMem(seg, up(b), up(x), s, mask(disp, 32), true)
		}
		b, x := a.Base, a.Index
		if b == SI || b == DI || x == BX || x == BP {
			b, x = x, b
		}
		return canonMem(seg, up(b), up(x), 1, mask(disp, 16), false)
	}
	return fmt.Sprintf("?%T", a)
}

// x86asm lists the implicit operands of string instructions; we have none.
var x86StringOps = map[x86asm.Op]bool{
	x86asm.LODSB: true, x86asm.LODSW: true, x86asm.LODSD: true,
	x86asm.STOSB: true, x86asm.STOSW: true, x86asm.STOSD: true,
	x86asm.MOVSB: true, x86asm.MOVSW: true, x86asm.MOVSD: true,
	x86asm.SCASB: true, x86asm.SCASW: true, x86asm.SCASD: true,
	x86asm.CMPSB: true, x86asm.CMPSW: true, x86asm.CMPSD: true,
	x86asm.XLATB: true,
}

// canonX86 renders a decoded instruction in the normal form.
func canonX86(x x86asm.Inst, pc uint32) string {
	name := x.Op.String()
	for _, p := range x.Prefix {
		if p == 0 {
			break
		}
		if p&(x86asm.PrefixImplicit|x86asm.PrefixIgnored) != 0 {
			continue
		}
		switch p & 0xFF {
		case 0xF3:
			name = "REP " + name
		case 0xF2:
			name = "REPNE " + name
		}
	}
	w := x86Width(x)
	var parts []string
	if x.Op == x86asm.LJMP || x.Op == x86asm.LCALL {
		parts = []string{fmt.Sprintf("%#x:%#x", int64(x.Args[0].(x86asm.Imm)), int64(x.Args[1].(x86asm.Imm)))}
	} else if !x86StringOps[x.Op] {
		for _, a := range x.Args {
			if a == nil {
				break
			}
			parts = append(parts, canonX86Arg(x, a, pc, w))
		}
	}
	if x.Op == x86asm.XCHG {
		sort.Strings(parts)
	}
	return name + " " + strings.Join(parts, ", ")
}

func canonX86Arg(x x86asm.Inst, a x86asm.Arg, pc uint32, w int) string {
	switch a := a.(type) {
	case x86asm.Reg:
		return a.String()
	case x86asm.Imm:
		return fmt.Sprintf("%#x", mask(int64(a), w))
	case x86asm.Rel:
		return fmt.Sprintf("T%#x", (int64(pc)+int64(x.Len)+int64(a))&0xFFFF)
	case x86asm.Mem:
		reg := func(r x86asm.Reg) string {
			if r == 0 {
				return ""
			}
			return r.String()
		}
		scale := int(a.Scale)
		if scale == 0 {
			scale = 1
		}
		bits := x.AddrSize
		if bits == 16 && a.Index == 0 && (a.Base == x86asm.SI || a.Base == x86asm.DI) {
			// x86asm reports [si] as a base; we file si/di as index.
			a.Base, a.Index = 0, a.Base
		}
		return canonMem(reg(a.Segment), reg(a.Base), reg(a.Index), scale, mask(a.Disp, bits), bits == 32)
	}
	return fmt.Sprintf("?%T", a)
}

// checkDecode decodes b with x86asm and compares it with in.
func checkDecode(in Inst, b []byte) error {
	x, err := x86asm.Decode(b, 16)
	if err != nil {
		return fmt.Errorf("x86asm: %v", err)
	}
	if x.Len != len(b) {
		return fmt.Errorf("x86asm decoded %d of %d bytes (%v)", x.Len, len(b), x)
	}
	got, want := canonX86(x, rowOrg), canonOurs(in, rowOrg, x86Width(x))
	if got != want {
		return fmt.Errorf("x86asm: decoded %q, want %q", got, want)
	}
	for _, a := range in.Args {
		if m, ok := a.(Mem); ok && m.Size != 0 && !noSizeOps[in.Op.Base()] && x.MemBytes*8 != m.Size {
			return fmt.Errorf("x86asm: memory operand is %d bytes, want %d bits", x.MemBytes, m.Size)
		}
	}
	return nil
}

// ---- nasm ----

func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("SKIPPED: %s is not installed (apt-get install -y %s); this cross-check did not run", name, map[string]string{"nasm": "nasm", "objdump": "binutils"}[name])
	}
	return path
}

// nasmRows assembles each text as one instruction at rowOrg (with "tgt"
// at its address): every row gets its own section starting at rowOrg,
// padded to 16 bytes, the last byte holding its length. Rows go to nasm in
// chunks run in parallel (nasm slows down with many sections). It returns
// the bytes per row and nasm's diagnostics per row (row -1: not tied to a
// row). Warnings count as much as errors: either means the text does not
// say what we meant.
func nasmRows(t *testing.T, texts []string) ([][]byte, map[int]string) {
	t.Helper()
	nasm := needTool(t, "nasm")
	dir := t.TempDir()
	const chunk = 300
	type result struct {
		rows     [][]byte
		problems map[int]string
		err      error
	}
	var results []chan result
	for lo := 0; lo < len(texts); lo += chunk {
		hi := min(lo+chunk, len(texts))
		ch := make(chan result, 1)
		results = append(results, ch)
		go func(lo, hi int) {
			rows, problems, err := nasmChunk(nasm, filepath.Join(dir, fmt.Sprintf("rows%d", lo)), texts[lo:hi], lo)
			ch <- result{rows, problems, err}
		}(lo, hi)
	}
	var rows [][]byte
	problems := map[int]string{}
	failed := false
	for _, ch := range results {
		r := <-ch
		require.NoError(t, r.err)
		for k, v := range r.problems {
			problems[k] += v
		}
		failed = failed || r.rows == nil
		rows = append(rows, r.rows...)
	}
	if failed {
		return nil, problems
	}
	return rows, problems
}

func nasmChunk(nasm, base string, texts []string, first int) ([][]byte, map[int]string, error) {
	var src strings.Builder
	src.WriteString("bits 16\n")
	lineRow := map[int]int{}
	line := 1
	emit := func(row int, s string) {
		src.WriteString(s + "\n")
		line++
		if row >= 0 {
			lineRow[line] = first + row
		}
	}
	for i, text := range texts {
		emit(-1, fmt.Sprintf("section s%d vstart=%#x align=16", i, rowOrg))
		emit(-1, fmt.Sprintf("%%define tgt t%d_", i))
		emit(-1, fmt.Sprintf("t%d_:", i))
		emit(i, text)
		emit(i, fmt.Sprintf("e%d_: times 15-(e%d_-t%d_) db 0", i, i, i))
		emit(-1, fmt.Sprintf("db e%d_-t%d_", i, i))
		emit(-1, "%undef tgt")
	}
	asm, bin := base+".asm", base+".bin"
	if err := os.WriteFile(asm, []byte(src.String()), 0o644); err != nil {
		return nil, nil, err
	}
	out, err := exec.Command(nasm, "-f", "bin", "-o", bin, asm).CombinedOutput()
	problems := map[int]string{}
	re := regexp.MustCompile(`\.asm:(\d+): (.*)`)
	for _, m := range re.FindAllStringSubmatch(string(out), -1) {
		n, _ := strconv.Atoi(m[1])
		row, ok := lineRow[n]
		if !ok {
			row = -1
		}
		problems[row] += m[2] + "; "
	}
	if err != nil {
		if len(problems) == 0 {
			return nil, nil, fmt.Errorf("nasm failed: %v\n%s", err, out)
		}
		return nil, problems, nil
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, nil, err
	}
	if len(data) != 16*len(texts) {
		return nil, nil, fmt.Errorf("nasm output is %d bytes, want %d", len(data), 16*len(texts))
	}
	rows := make([][]byte, len(texts))
	for i := range rows {
		slot := data[16*i : 16*i+16]
		rows[i] = slot[:slot[15]]
	}
	return rows, problems, nil
}

// ---- objdump ----

type objInst struct {
	size int
	text string
}

// objdumpAll disassembles code (as i8086, Intel syntax) and returns the
// instructions by offset.
func objdumpAll(t *testing.T, code []byte) map[int]objInst {
	t.Helper()
	objdump := needTool(t, "objdump")
	bin := filepath.Join(t.TempDir(), "code.bin")
	require.NoError(t, os.WriteFile(bin, code, 0o644))
	out, err := exec.Command(objdump, "-D", "-b", "binary", "-m", "i8086", "-M", "intel",
		"--insn-width=16", bin).Output()
	require.NoError(t, err, "objdump")
	re := regexp.MustCompile(`^\s*([0-9a-f]+):\t((?:[0-9a-f]{2} )+)\s*\t(.*)$`)
	res := map[int]objInst{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := re.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		off, _ := strconv.ParseInt(m[1], 16, 64)
		res[int(off)] = objInst{len(strings.Fields(m[2])), strings.Join(strings.Fields(m[3]), " ")}
	}
	return res
}

// objdumpMnemonic is the mnemonic objdump -M intel prints for in.
func objdumpMnemonic(in Inst) string {
	op := in.Op.Base()
	name := op.String()
	switch {
	case stringOps[op] && op != XLATB:
		name = name[:len(name)-1] // movsb -> movs; the size is in the operands
	case op == XLATB:
		name = "xlat"
	case op == LGDT || op == LIDT:
		name += "w"
	case op == XCHG && len(in.Args) == 2 && in.Args[0] == Operand(AX) && in.Args[1] == Operand(AX):
		name = "nop" // 90 is both
	}
	switch in.Op.prefix() {
	case REP:
		name = "rep " + name
	case REPE:
		name = "repz " + name
	case REPNE:
		name = "repnz " + name
	}
	return name
}

// checkObjdump compares instruction lengths and mnemonics of rows laid out
// back to back in one objdump run.
func checkObjdump(t *testing.T, ins []Inst, rows [][]byte) {
	t.Helper()
	var code []byte
	offs := make([]int, len(rows))
	for i, r := range rows {
		offs[i] = len(code)
		code = append(code, r...)
	}
	dis := objdumpAll(t, code)
	for i, in := range ins {
		d, ok := dis[offs[i]]
		// objdump marks a register-less 32-bit address with "addr32" and
		// spells a 32-bit push of an immediate "pushd".
		// It also names a ds prefix on an indirect branch "notrack" (CET).
		d.text = strings.TrimPrefix(d.text, "addr32 ")
		d.text = strings.TrimPrefix(d.text, "notrack ")
		if strings.HasPrefix(d.text, "pushd ") {
			d.text = "push " + d.text[len("pushd "):]
		}
		want := objdumpMnemonic(in)
		if !assert.True(t, ok, "objdump: %q (% x): no instruction starts at offset %d", in, rows[i], offs[i]) {
			continue
		}
		if !assert.Equal(t, len(rows[i]), d.size, "objdump: %q (% x): length of its decoding %q", in, rows[i], d.text) {
			continue
		}
		assert.True(t, d.text == want || strings.HasPrefix(d.text, want+" "),
			"objdump: %q (% x): decoded as %q, want mnemonic %q", in, rows[i], d.text, want)
	}
}
