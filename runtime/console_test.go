package runtime

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/checkpoint"

	x86 "tfc/codegen/x86_16"
)

// handTokenizer has the cases print_piece must get right.
func handTokenizer() *checkpoint.Tokenizer {
	pieces := []string{
		"<unk>", "<s>", "</s>",
		"<0x0A>",       // byte token: newline
		" hello",       // leading space: dropped after BOS
		"world",        // no space
		" ",            // the dummy prefix: nothing after BOS
		"<0x20>",       // a space byte: printed after BOS too
		"<0x01>",       // unprintable byte: never printed
		" \x01",        // printed, but not after BOS (a lone \x01 is unprintable)
		"<0x00>",       // NUL: nothing
		"<0x41>",       // 'A'
		"ab\x00cd",     // a C string: "ab"
		"",             // empty
		"\xe2\x96\x81", // UTF-8, several bytes
		"<0xFF>",       // a high byte alone: unprintable
		"\t",           // white space counts as printable
		"  two",        // only one space dropped
		"<0x0a>",       // lower-case hex
	}
	t := &checkpoint.Tokenizer{}
	for _, p := range pieces {
		t.Pieces = append(t.Pieces, []byte(p))
		t.Scores = append(t.Scores, 0)
		t.MaxTokenLength = max(t.MaxTokenLength, len(p))
	}
	return t
}

// simulate is print_piece in Go: what it reads from a table of entries
// of entry bytes (PieceTable), with bias 0.
func simulate(data []byte, entry, prev, tok int) []byte {
	k := 2 * tok
	if prev == checkpoint.BOS {
		k++
	}
	var start int
	if entry == 2 {
		start = int(binary.LittleEndian.Uint16(data[2*k:]))
	} else {
		start = int(binary.LittleEndian.Uint32(data[4*k:]))
	}
	end := bytes.IndexByte(data[start:], 0)
	return data[start : start+end]
}

// want is llama2.c: decode, then safe_printf.
func want(t *checkpoint.Tokenizer, prev, tok int) []byte {
	p := t.Piece(prev, tok)
	if !checkpoint.Printable(p) {
		return nil
	}
	return p
}

func checkPieceData(t *testing.T, name string, tok *checkpoint.Tokenizer) {
	t.Helper()
	for _, entry := range []int{2, 4} {
		data := pieceTable(tok, entry, 0)
		if entry == 2 && len(data) > 0x10000 {
			continue // 16-bit offsets only for a table within a segment
		}
		for i := range tok.Pieces {
			for _, prev := range []int{checkpoint.BOS, 0, 2, i} {
				// As strings: bytes.Equal's nil equals empty, and %q shows them.
				assert.Equal(t, string(want(tok, prev, i)), string(simulate(data, entry, prev, i)), "%s: %d-byte entries: token %d %q after %d", name, entry, i, tok.Pieces[i], prev)
			}
		}
	}
}

func TestPieceData(t *testing.T) {
	checkPieceData(t, "hand", handTokenizer())
	checkPieceData(t, "synthetic512", checkpoint.Synthetic(512))
	checkPieceData(t, "synthetic32000", checkpoint.Synthetic(32000))
	if b, err := os.ReadFile("../models/tok512.bin"); err == nil {
		tok, err := checkpoint.ParseTokenizer(b, 512)
		require.NoError(t, err)
		checkPieceData(t, "tok512", tok)
	}
}

// The console reads the flat table at 1 MiB through segment FFFFh while
// it fits there, with 16-bit entries; its first string follows them.
func TestPieceConsole(t *testing.T) {
	small, big := checkpoint.Synthetic(512), checkpoint.Synthetic(32000)
	for _, tc := range []struct {
		flat  bool
		addr  uint32
		tok   *checkpoint.Tokenizer
		entry int
	}{
		{false, 0x10008, small, 2},
		{false, 0x9000, small, 2}, // segment 0
		{true, 0x9000, small, 2},
		{true, 0x100000, small, 2},
		{true, 0x100000, big, 4},   // beyond 0x10FFEF
		{true, 0x200000, small, 4}, // out of segment FFFFh's reach
	} {
		c := PieceConsole(tc.flat, tc.addr, tc.tok)
		table := c.PieceTable(tc.tok)
		first := binary.LittleEndian.Uint32(table)
		if tc.entry == 2 {
			first &= 0xFFFF
		}
		assert.Equal(t, c.pieceBias()+uint32(2*tc.entry*len(tc.tok.Pieces)), first, "%+v", c)
	}
}

// A piece " <0x42>": after BOS llama2.c decodes it as the byte "B", which
// is no tail of the piece after other tokens: a string of its own.
func TestPieceDataByteTokenWithSpace(t *testing.T) {
	tok := &checkpoint.Tokenizer{Pieces: [][]byte{[]byte("<unk>"), []byte("<s>"), []byte(" <0x42>")}}
	data := pieceTable(tok, 2, 0)
	assert.Equal(t, " <0x42>", string(simulate(data, 2, 0, 2)), "after a token")
	assert.Equal(t, "B", string(simulate(data, 2, 1, 2)), "after BOS")
}

// TestPrintPiece boots print_piece over every (BOS or not, token) pair of
// the hand-made tokenizer, in both memory models, with the table at an
// address that is not paragraph aligned.
func TestPrintPiece(t *testing.T) {
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
	for _, flat := range []bool{true, false} {
		name := map[bool]string{true: "flat", false: "segmented"}[flat]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := BootConfig{Flat: flat}
			pad := 7
			con := Console{Flat: flat, PiecesAddr: c.dataAddr() + uint32(pad)}
			data := append(make([]byte, pad), con.PieceTable(tok)...)
			p := &x86.Program{}
			for _, cl := range calls {
				p.I(x86.MOV, x86.AX, x86.Imm(int64(cl.tok)))
				p.I(x86.MOV, x86.BX, x86.Imm(int64(cl.prev)))
				p.I(x86.CALL, x86.Label(PrintPiece))
			}
			p.I(x86.CALL, x86.Label(Newline))
			p.I(x86.MOV, x86.AL, x86.Imm(0))
			p.I(x86.CALL, x86.Label(Exit))
			EmitConsole(p, con)
			img, err := Link(nil, p, data, c)
			require.NoError(t, err)
			res := boot(t, img, 20*time.Second)
			assert.Equal(t, string(expect), string(res.Serial), "COM1 (exit %d)", res.ExitCode)
			assert.Equal(t, 0, res.ExitCode, "exit code (COM1 %q)", res.Serial)
		})
	}
}

// TestConsolePreservesRegisters: print_piece and putc keep every register,
// newline all but AL (exit code 4 otherwise).
func TestConsolePreservesRegisters(t *testing.T) {
	tok := handTokenizer()
	for _, tc := range []struct {
		flat, lean bool
	}{{true, false}, {false, false}, {true, true}, {false, true}} {
		flat := tc.flat
		name := map[bool]string{true: "flat", false: "segmented"}[flat]
		if tc.lean {
			name += "_shared"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := BootConfig{Flat: flat, Lean: tc.lean}
			p := &x86.Program{}
			regs := []x86.Reg{x86.EAX, x86.ECX, x86.EDX, x86.EBX, x86.EBP, x86.ESI, x86.EDI}
			for _, routine := range []string{PrintPiece, Putc, Newline} {
				for i, r := range regs {
					p.I(x86.MOV, r, x86.Imm(int64(0x11111111*(i+1))))
				}
				if routine == PrintPiece {
					p.I(x86.MOV, x86.EAX, x86.Imm(4)) // " hello"
					p.I(x86.MOV, x86.EBX, x86.Imm(5))
				} else {
					p.I(x86.MOV, x86.AL, x86.Imm('x'))
				}
				p.I(x86.PUSHAD)
				p.I(x86.CALL, x86.Label(routine))
				for _, r := range regs {
					if routine == Newline && r == x86.EAX {
						p.I(x86.CMP, x86.AX, x86.Imm(0x1100|'\n'))
					} else {
						p.I(x86.CMP, r, x86.Ptr32(x86.ESP, x86.NoReg, 1, int32(pushadOffset(r))))
					}
					p.I(x86.JNE, x86.Label("bad"))
				}
				p.I(x86.POPAD)
			}
			p.I(x86.MOV, x86.AL, x86.Imm(0))
			p.I(x86.CALL, x86.Label(Exit))
			p.Label("bad")
			p.I(x86.MOV, x86.AL, x86.Imm(4))
			p.I(x86.CALL, x86.Label(Exit))
			con := Console{Flat: flat, PiecesAddr: c.dataAddr()}
			if tc.lean {
				con = sharedConsole(t, c, c.dataAddr())
			}
			EmitConsole(p, con)
			img, err := Link(nil, p, con.PieceTable(tok), c)
			require.NoError(t, err)
			res := boot(t, img, 20*time.Second)
			assert.Equal(t, " hellox\n", string(res.Serial), "COM1 (exit %d)", res.ExitCode)
			assert.Equal(t, 0, res.ExitCode, "exit code: 4 a register changed (COM1 %q)", res.Serial)
		})
	}
}

// pushadOffset is where pushad leaves r, from ESP.
func pushadOffset(r x86.Reg) int {
	return map[x86.Reg]int{x86.EDI: 0, x86.ESI: 4, x86.EBP: 8, x86.EBX: 16, x86.EDX: 20, x86.ECX: 24, x86.EAX: 28}[r]
}
