package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/checkpoint"
	"tfc/qemu"

	x86 "tfc/codegen/x86_16"
)

// sharedConsole is the console for c's boot sector, calling its routines.
func sharedConsole(t *testing.T, c BootConfig, pieces uint32) Console {
	t.Helper()
	r, err := SharedRoutines(c)
	require.NoError(t, err, "%+v", c)
	shared := []uint32{r.Putc, r.Exit}
	if c.Lean && !c.Input {
		shared = append(shared, r.Finish)
	}
	for _, at := range shared {
		require.GreaterOrEqual(t, at, uint32(BootAddr), "%+v: shared routines %+v outside the boot sector", c, r)
		require.Less(t, at, uint32(BootAddr+510), "%+v: shared routines %+v outside the boot sector", c, r)
	}
	return Console{Flat: c.Flat, PiecesAddr: pieces, BootPutc: r.Putc, BootExit: r.Exit, BootFinish: r.Finish}
}

// TestFinish: the lean sector's finish prints AL and exits with AH; EmitEnd
// ends with '\n' and exit code 0 through it, or through putc and exit.
func TestFinish(t *testing.T) {
	// A typed prompt's sector has none: its generations never end.
	r, err := SharedRoutines(BootConfig{Lean: true, Input: true})
	require.NoError(t, err)
	require.Zero(t, r.Finish, "finish with input")
	for _, tc := range []struct {
		name   string
		lean   bool
		emit   func(p *x86.Program)
		serial string
		code   int
	}{
		{"finish", true, func(p *x86.Program) {
			p.I(x86.MOV, x86.AX, x86.Imm(3<<8|'A'))
			p.I(x86.JMP, x86.Label(Finish))
		}, "A", 3},
		{"end_lean", true, func(p *x86.Program) { EmitEnd(p, true) }, "\n", 0},
		{"end_full", false, func(p *x86.Program) { EmitEnd(p, false) }, "\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := BootConfig{Lean: tc.lean}
			p := &x86.Program{}
			p.I(x86.MOV, x86.AX, x86.Imm(0x0900|'x')) // code 9 where the emitted code does nothing
			tc.emit(p)
			p.I(x86.MOV, x86.AL, x86.Imm(9))
			p.I(x86.JMP, x86.Label(Exit))
			con := sharedConsole(t, c, c.dataAddr())
			if !tc.lean {
				require.Zero(t, con.BootFinish, "the full sector has no finish")
			}
			EmitConsole(p, con)
			img, err := Link(nil, p, nil, c)
			require.NoError(t, err)
			res := boot(t, img, 20*time.Second)
			assert.Equal(t, tc.serial, string(res.Serial), "COM1 (exit %d)", res.ExitCode)
			assert.Equal(t, tc.code, res.ExitCode, "exit code (COM1 %q)", res.Serial)
		})
	}
}

// The shared routines stay where SharedRoutines says, whatever the counts.
func TestSharedRoutinesIgnoreCounts(t *testing.T) {
	counts := [][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}, {3, 1000}, {64, 64}, {65, 1100},
		{5, 200}, {20, 700}, {2, 65535}, {40, 1 << 20}, {1, 4 << 20}}
	for _, base := range []BootConfig{
		{Flat: true}, {}, {Flat: true, ForceCHS: true}, {ForceCHS: true}, {DataAddr: 0x23458},
		{Flat: true, Lean: true}, {Lean: true}, {Flat: true, Lean: true, DataAddr: 0x345678},
		{Lean: true, DataAddr: 0x23458},
	} {
		want, err := SharedRoutines(base)
		require.NoError(t, err, "%+v", base)
		built := 0
		for _, n := range counts {
			c := base
			c.CodeSectors, c.DataSectors = n[0], n[1]
			if c.check() != nil {
				continue // too much data for the memory model
			}
			p, err := BootSector(c)
			require.NoError(t, err, "%+v", c)
			assert.Equal(t, want, routinesOf(p), "%+v: routines (SharedRoutines, the sector's)", c)
			built++
		}
		assert.GreaterOrEqual(t, built, 6, "%+v: sector counts checked", base)
	}
}

func TestLeanLoadAndSum(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    BootConfig
		n    int
		code int // bytes of padding after the program: a bigger code stream
	}{
		{"flat", BootConfig{Flat: true}, 300 << 10, 0},
		{"flat_whole_chunks", BootConfig{Flat: true}, 64 << 10, 0},
		{"flat_high", BootConfig{Flat: true, DataAddr: 0x345678}, 100<<10 + 12, 0},
		// 65 sectors of code: two chunks, the second copied over the start
		// of the bounce buffer it comes from.
		{"flat_max_code", BootConfig{Flat: true}, 40 << 10, MaxCodeSize - 1024},
		{"segmented", BootConfig{}, 100 << 10, 0},
		{"segmented_unaligned", BootConfig{DataAddr: 0x23458}, 200<<10 + 20, 0},
		{"segmented_big_code", BootConfig{}, 50 << 10, MaxCodeSize - 1024},
		// Up to just below ConventionalTop: 64-sector padding would cross
		// it, so the chunk is 2 sectors.
		{"segmented_top", BootConfig{DataAddr: 0x10000}, ConventionalTop - 0x10000 - 512, 0},
		// The chunk is 8 sectors.
		{"segmented_top8", BootConfig{DataAddr: 0x10000}, ConventionalTop - 0x10000 - 4096, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := tc.c
			c.Lean = true
			data := randomData(tc.n, uint64(tc.n))
			p := sumProgramWith(sharedConsole(t, c, 0), c.dataAddr(), len(data))
			if tc.code > 0 {
				p.Times(tc.code, 0xCC)
			}
			img, err := Link(nil, p, data, c)
			require.NoError(t, err)
			res := boot(t, img, 30*time.Second)
			want := fmt.Sprintf("%08X\n", sum32(data))
			assert.Equal(t, want, string(res.Serial), "COM1 (exit %d, %v)", res.ExitCode, res.Elapsed)
			assert.Equal(t, 0, res.ExitCode, "exit code (COM1 %q)", res.Serial)
		})
	}
}

// The chunk sizes that the tests above rely on.
func TestLeanPlan(t *testing.T) {
	for _, tc := range []struct {
		c      BootConfig
		k      int
		chunks []int
	}{
		{BootConfig{Flat: true, CodeSectors: 3, DataSectors: 600}, 64, []int{1, 10}},
		{BootConfig{Flat: true, CodeSectors: 65, DataSectors: 128}, 64, []int{2, 2}},
		{BootConfig{Flat: true, CodeSectors: 1}, 64, []int{1}},
		{BootConfig{CodeSectors: 3, DataSectors: 200}, 64, []int{5}}, // 65 sectors up to 0x10000
		{BootConfig{CodeSectors: 3}, 64, []int{1}},
		{BootConfig{CodeSectors: 1, DataSectors: (ConventionalTop - 0x10000 - 512) / 512}, 2, []int{607}},
		{BootConfig{CodeSectors: 1, DataSectors: (ConventionalTop - 0x10000 - 4096) / 512}, 8, []int{151}},
	} {
		tc.c.Lean = true
		k, streams := tc.c.leanPlan()
		var chunks []int
		for _, s := range streams {
			chunks = append(chunks, s.chunks)
		}
		assert.Equal(t, tc.k, k, "%+v: chunk", tc.c)
		assert.Equal(t, tc.chunks, chunks, "%+v: chunks", tc.c)
		assert.NoError(t, tc.c.check(), "%+v", tc.c)
	}
	// Padding that cannot fit.
	for _, c := range []BootConfig{
		{Lean: true, Flat: true, DataAddr: 0xFFFF1000, CodeSectors: 1, DataSectors: 65},
		{Lean: true, Flat: true, CodeSectors: 1, DataSectors: 0x10000 * 64},
		{Lean: true, ForceCHS: true, CodeSectors: 1},
	} {
		assert.Error(t, c.check(), "%+v", c)
	}
}

// A main program that prints "ok" and exits with 0, with no data: one
// stream.
func TestLeanCodeOnly(t *testing.T) {
	for _, flat := range []bool{true, false} {
		t.Run(map[bool]string{true: "flat", false: "segmented"}[flat], func(t *testing.T) {
			t.Parallel()
			c := BootConfig{Flat: flat, Lean: true}
			p := &x86.Program{}
			emitCheckEntry(p, flat, true)
			for _, ch := range "ok" {
				p.I(x86.MOV, x86.AL, x86.Imm(int64(ch)))
				p.I(x86.CALL, x86.Label(Putc))
			}
			p.I(x86.CALL, x86.Label(Newline))
			p.I(x86.MOV, x86.AL, x86.Imm(0))
			p.I(x86.JMP, x86.Label(Exit))
			EmitConsole(p, sharedConsole(t, c, 0))
			img, err := Link(nil, p, nil, c)
			require.NoError(t, err)
			assert.Equal(t, CylinderSectors(1+64)*SectorSize, len(img), "image bytes")
			res := boot(t, img, 10*time.Second)
			assert.Equal(t, "ok\n", string(res.Serial), "COM1 (exit %d)", res.ExitCode)
			assert.Equal(t, 0, res.ExitCode, "exit code (COM1 %q)", res.Serial)
		})
	}
}

func TestLeanCutShort(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    BootConfig
		n    int
	}{
		{"flat", BootConfig{Flat: true}, 100 << 10},
		{"flat_last_chunk", BootConfig{Flat: true}, 100 << 10},
		{"segmented", BootConfig{}, 100 << 10},
		{"segmented_k2", BootConfig{DataAddr: 0x10000}, ConventionalTop - 0x10000 - 512},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := tc.c
			c.Lean = true
			data := randomData(tc.n, 7)
			l, err := LinkImage(nil, sumProgramWith(sharedConsole(t, c, 0), c.dataAddr(), len(data)), data, c)
			require.NoError(t, err)
			cut := len(data) / 2 / SectorSize * SectorSize
			if tc.name == "flat_last_chunk" {
				cut = SectorSize // only the padding's last sector is missing
			}
			img := l.Bytes[:l.StreamsEnd()-cut]
			res := boot(t, img, 10*time.Second)
			assert.Equal(t, "E", string(res.Serial), "COM1 (exit %d)", res.ExitCode)
			assert.Equal(t, 2, res.ExitCode, "exit code (COM1 %q)", res.Serial)
			assert.LessOrEqual(t, res.Elapsed, 5*time.Second, "time to fail")
		})
	}
}

// Without the extensions (an unknown function in place of AH=41h) the
// lean sector prints "E" and exits with 2.
func TestLeanNoExtensions(t *testing.T) {
	for _, flat := range []bool{true, false} {
		t.Run(map[bool]string{true: "flat", false: "segmented"}[flat], func(t *testing.T) {
			t.Parallel()
			c := BootConfig{Flat: flat, Lean: true, extFn: 0x7F}
			data := randomData(10<<10, 7)
			img, err := Link(nil, sumProgramWith(sharedConsole(t, c, 0), c.dataAddr(), len(data)), data, c)
			require.NoError(t, err)
			res := boot(t, img, 10*time.Second)
			assert.Equal(t, "E", string(res.Serial), "COM1 (exit %d)", res.ExitCode)
			assert.Equal(t, 2, res.ExitCode, "exit code (COM1 %q)", res.Serial)
		})
	}
}

// Lean images: boot sector, then the streams padded to whole chunks.
func TestLeanLinkLayout(t *testing.T) {
	data := randomData(5000, 3)
	for _, c := range []BootConfig{{Flat: true, Lean: true}, {Lean: true}, {Lean: true, DataAddr: 0x23458}} {
		main := smallMain(c.Flat)
		img, err := Link(nil, main, data, c)
		require.NoError(t, err, "%+v", c)
		code, _ := main.Assemble(CodeAddr)
		var at, size int
		if c.Flat {
			at, size = (1+64)*SectorSize, (1+64+64)*SectorSize
		} else {
			at = SectorSize + int(c.dataAddr()-CodeAddr)
			size = SectorSize + roundUp(at-SectorSize+len(data), 64*SectorSize)
		}
		size = CylinderSectors(size/SectorSize) * SectorSize
		assert.Equal(t, size, len(img), "%+v: bytes", c)
		assert.Equal(t, []byte{0x55, 0xAA}, img[510:512], "%+v: signature", c)
		// bytes.Equal: a diff of kilobytes is no help.
		assert.True(t, bytes.Equal(img[SectorSize:][:len(code)], code), "%+v: code not where it belongs", c)
		assert.True(t, bytes.Equal(img[at:][:len(data)], data), "%+v: data not where it belongs", c)
		b, _ := BootSector(withSizes(c, len(code), len(data)))
		bs, _ := b.Assemble(BootAddr)
		assert.Equal(t, bs, img[:len(bs)], "%+v: sector 0 is not the boot sector", c)
		assert.Equal(t, make([]byte, magicOffset-len(bs)), img[len(bs):magicOffset], "%+v: sector 0 is not zeros after the boot sector", c)
	}
}

// withSizes is c with the counts for code and data bytes.
func withSizes(c BootConfig, code, data int) BootConfig {
	c.CodeSectors, c.DataSectors = sectors(code), sectors(data)
	return c
}

// TestSharedPrintPiece: print_piece with the boot sector's putc prints
// what llama2.c prints, in both memory models; flat, through 32-bit
// addresses and, with the table's size known, through segment FFFFh (the
// HMA) with the offsets biased.
func TestSharedPrintPiece(t *testing.T) {
	tok := handTokenizer()
	var expect []byte
	type call struct{ prev, tok int }
	var calls []call
	for i := range tok.Pieces {
		for _, prev := range []int{checkpoint.BOS, 5} {
			calls = append(calls, call{prev, i})
			expect = append(expect, want(tok, prev, i)...)
		}
	}
	expect = append(expect, '\n')
	// seg0: the table in segment 0, loaded with the code (at seg0At).
	const seg0At = 0x9003
	for _, tc := range []struct {
		name            string
		flat, hma, seg0 bool
	}{{"flat", true, false, false}, {"flat_hma", true, true, false}, {"segmented", false, false, false},
		{"flat_seg0", true, false, true}, {"segmented_seg0", false, false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := BootConfig{Flat: tc.flat, Lean: true}
			pad := 7
			con := sharedConsole(t, c, c.dataAddr()+uint32(pad))
			if tc.hma {
				con.Narrow = true
			}
			if tc.seg0 {
				con = PieceConsole(tc.flat, seg0At, tok)
				r, err := SharedRoutines(c)
				require.NoError(t, err)
				con.BootPutc, con.BootExit, con.BootFinish = r.Putc, r.Exit, r.Finish
			}
			segment, _, seg := con.pieceSeg()
			require.Equal(t, tc.hma || tc.seg0 || !tc.flat, seg, "16-bit print_piece")
			require.Equal(t, tc.seg0, seg && segment == 0, "DS as it is")
			var data []byte
			if !tc.seg0 {
				data = append(make([]byte, pad), con.PieceTable(tok)...)
			}
			p := &x86.Program{}
			for _, cl := range calls {
				p.I(x86.MOV, x86.AX, x86.Imm(int64(cl.tok)))
				p.I(x86.MOV, x86.BX, x86.Imm(int64(cl.prev)))
				p.I(x86.CALL, x86.Label(PrintPiece))
			}
			p.I(x86.CALL, x86.Label(Newline))
			p.I(x86.MOV, x86.AL, x86.Imm(0))
			p.I(x86.JMP, x86.Label(Exit))
			EmitConsole(p, con)
			if tc.seg0 {
				p.PadTo(seg0At-CodeAddr, 0)
				p.DB(con.PieceTable(tok)...)
			}
			img, err := Link(nil, p, data, c)
			require.NoError(t, err)
			res := boot(t, img, 20*time.Second)
			assert.Equal(t, string(expect), string(res.Serial), "COM1 (exit %d)", res.ExitCode)
			assert.Equal(t, 0, res.ExitCode, "exit code (COM1 %q)", res.Serial)
		})
	}
}

// bootVGA boots img with a VGA card (SeaVGABIOS) and no display.
func bootVGA(t *testing.T, img []byte) *qemu.Result {
	t.Helper()
	if !qemu.Available() {
		t.Skip(qemu.ErrNotInstalled)
	}
	path := filepath.Join(t.TempDir(), "vga.img")
	require.NoError(t, os.WriteFile(path, img, 0o644))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemu.Binary, append(qemu.Args(path, qemu.Options{}), "-vga", "std")...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err := cmd.Run()
	res := &qemu.Result{Serial: out.Bytes(), ExitCode: -1, Stderr: stderr.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode()&1 == 1 {
		res.ExitCode = ee.ExitCode() >> 1
	} else {
		require.NoError(t, err, "qemu (COM1 %q, stderr %q)", out.Bytes(), stderr.String())
	}
	return res
}

// TestPutcScreen: putc writes "ab\ncd" on the screen as two lines (the
// '\n' a line feed and a carriage return), the lean copy with BH not the
// page. Exit codes: 5 the cursor, 6 the first line, 7 the second.
func TestPutcScreen(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    BootConfig
	}{
		{"full_segmented", BootConfig{}},
		{"lean_flat", BootConfig{Flat: true, Lean: true}},
		{"lean_segmented", BootConfig{Lean: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := &x86.Program{}
			cursor := func() {
				p.I(x86.MOV, x86.AH, x86.Imm(3))
				p.I(x86.MOV, x86.BH, x86.Imm(0))
				p.I(x86.INT, x86.Imm(0x10)) // DH = row, DL = column
			}
			cursor()
			p.I(x86.PUSH, x86.DX)
			p.I(x86.MOV, x86.BX, x86.Imm(0x1234))
			for _, ch := range "ab\ncd" {
				p.I(x86.MOV, x86.AL, x86.Imm(int64(ch)))
				p.I(x86.CALL, x86.Label(Putc))
			}
			cursor()
			p.I(x86.POP, x86.BX) // BH, BL: where "ab" starts
			p.I(x86.MOV, x86.AL, x86.BH)
			p.I(x86.INC, x86.AL)
			p.I(x86.CMP, x86.DH, x86.AL)
			p.I(x86.JNE, x86.Label("bad.cursor"))
			p.I(x86.CMP, x86.DL, x86.Imm(2))
			p.I(x86.JNE, x86.Label("bad.cursor"))
			p.I(x86.PUSH, x86.Word(0xB800))
			p.I(x86.POP, x86.ES)
			p.I(x86.MOV, x86.AL, x86.Imm(80))
			p.I(x86.MUL, x86.BH)
			p.I(x86.ADD, x86.AL, x86.BL)
			p.I(x86.ADC, x86.AH, x86.Imm(0))
			p.I(x86.SHL, x86.AX, x86.Imm(1))
			p.I(x86.MOV, x86.DI, x86.AX)
			p.I(x86.CMP, x86.B(x86.Ptr16(x86.DI, x86.NoReg, 0).In(x86.ES)), x86.Imm('a'))
			p.I(x86.JNE, x86.Label("bad.line1"))
			p.I(x86.CMP, x86.B(x86.Ptr16(x86.DI, x86.NoReg, 2).In(x86.ES)), x86.Imm('b'))
			p.I(x86.JNE, x86.Label("bad.line1"))
			p.I(x86.MOV, x86.AL, x86.Imm(160))
			p.I(x86.MUL, x86.DH)
			p.I(x86.MOV, x86.DI, x86.AX)
			p.I(x86.CMP, x86.B(x86.Ptr16(x86.DI, x86.NoReg, 0).In(x86.ES)), x86.Imm('c'))
			p.I(x86.JNE, x86.Label("bad.line2"))
			p.I(x86.CMP, x86.B(x86.Ptr16(x86.DI, x86.NoReg, 2).In(x86.ES)), x86.Imm('d'))
			p.I(x86.JNE, x86.Label("bad.line2"))
			p.I(x86.MOV, x86.AL, x86.Imm(0))
			p.I(x86.JMP, x86.Label(Exit))
			for i, name := range []string{"bad.cursor", "bad.line1", "bad.line2"} {
				p.Label(name)
				p.I(x86.MOV, x86.AL, x86.Imm(int64(5+i)))
				p.I(x86.JMP, x86.Label(Exit))
			}
			con := Console{Flat: tc.c.Flat}
			if tc.c.Lean {
				con = sharedConsole(t, tc.c, 0)
			}
			EmitConsole(p, con)
			img, err := Link(nil, p, nil, tc.c)
			require.NoError(t, err)
			res := bootVGA(t, img)
			assert.Equal(t, "ab\ncd", string(res.Serial), "COM1 (exit %d)", res.ExitCode)
			assert.Equal(t, 0, res.ExitCode, "exit code: 5 the cursor, 6 the first line, 7 the second (COM1 %q)", res.Serial)
		})
	}
}
