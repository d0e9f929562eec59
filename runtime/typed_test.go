package runtime

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/checkpoint"
	x86 "tfc/codegen/x86_16"
	"tfc/ir"
	"tfc/qemu"
)

// randomLines are lines with what a typed line may hold: the tokenizer's
// pieces run together, ASCII, UTF-8, stray bytes, and the line
// discipline's control bytes (backspace, DEL, CR, NUL).
func randomLines(tok *checkpoint.Tokenizer, n int) []string {
	r := rand.New(rand.NewSource(int64(n)))
	extra := []string{" ", "  ", "42", ",", ".", "!", "é", "€", "“", "’", "世", "\xc3", "\xa9", "\x80", "\xf0\x9f\x98\x80",
		"\t", "\x01", "\xff", "\b", "\x7f", "\r", "\x00"}
	var lines []string
	for range n {
		var b []byte
		for k := r.Intn(30); k > 0; k-- {
			switch r.Intn(3) {
			case 0:
				b = append(b, extra[r.Intn(len(extra))]...)
			case 1:
				if c := byte(1 + r.Intn(255)); c != '\n' && c != ir.EOT {
					b = append(b, c)
				}
			default:
				p := tok.Pieces[3+r.Intn(len(tok.Pieces)-3)]
				if !bytes.ContainsAny(p, "\n\x04") {
					b = append(b, p...)
				}
			}
		}
		lines = append(lines, string(b)+"x") // never empty
	}
	return lines
}

// read_prompt reads lines as ir.LineReader does and encodes each as
// checkpoint.Tokenizer.Encode does (its trace on the debug console), and
// prompt_next gives the tokens after BOS; DS and ES are 0 after it; the
// end of the input exits with code 0. Flat (segment FFFFh) and segmented,
// with the synthetic tokenizer and llama2.c's tok512.bin (make models).
func TestReadPrompt(t *testing.T) {
	if !qemu.Available() {
		t.Skip(qemu.ErrNotInstalled)
	}
	toks := map[string]*checkpoint.Tokenizer{"synthetic": checkpoint.Synthetic(300)}
	if tok, err := checkpoint.LoadTokenizer("../models/tok512.bin", 512); err == nil {
		toks["tok512"] = tok
	} else {
		t.Log("SKIPPED for tok512.bin: models/ is empty (make models)")
	}
	for name, tok := range toks {
		for _, flat := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/flat=%v", name, flat), func(t *testing.T) {
				t.Parallel()
				lines := append(randomLines(tok, 150),
					"Lily wanted a puppy", "  spaces  ", " ", strings.Repeat("0123456789 ", 120), "ab\bc", "\b\b\bx", "tail\x7f\x7f\x7fl")
				input := strings.Join(lines, "\n") + "\nignored after the EOT: \x04more\n"
				testReadPrompt(t, tok, flat, input)
			})
		}
	}
	// An empty line ends it too, and a partial line before EOT counts for
	// nothing.
	t.Run("empty line", func(t *testing.T) {
		t.Parallel()
		testReadPrompt(t, checkpoint.Synthetic(300), true, "one\n\ntwo\n")
	})
	t.Run("EOT in a line", func(t *testing.T) {
		t.Parallel()
		testReadPrompt(t, checkpoint.Synthetic(300), false, "one\ntw\x04o\n")
	})
}

func testReadPrompt(t *testing.T, tok *checkpoint.Tokenizer, flat bool, input string) {
	t.Helper()
	et, err := tok.EncodeTables()
	require.NoError(t, err)
	c := BootConfig{Flat: flat, Input: true}
	ty := Typed{Tables: et, MaxLine: ir.MaxLine, Trace: true}
	if flat {
		ty.Seg, ty.Base = 0xFFFF, uint16(c.dataAddr()-0xFFFF0)
	} else {
		ty.Seg = uint16(c.dataAddr() >> 4)
	}
	require.NoError(t, ty.Check())
	// Each line: its tokens after BOS, words, on COM1, from prompt_next.
	p := &x86.Program{}
	p.Label("line")
	p.I(x86.CALL, x86.Label(ReadPrompt))
	p.I(x86.MOV, x86.AX, x86.DS)
	p.I(x86.MOV, x86.CX, x86.ES)
	p.I(x86.OR, x86.AX, x86.CX)
	p.I(x86.JNZ, x86.Label("bad"))
	p.I(x86.XOR, x86.SI, x86.SI)
	p.Label("tok")
	p.I(x86.MOV, x86.AX, x86.Imm(0xEEEE))
	p.I(x86.MOV, x86.BX, x86.SI)
	p.I(x86.MOV, x86.DI, x86.Imm(0x1234))
	p.I(x86.CALL, x86.Label(PromptNext))
	p.I(x86.CMP, x86.DI, x86.Imm(0x1234))
	p.I(x86.JNE, x86.Label("bad"))
	p.I(x86.CMP, x86.AX, x86.Imm(0xEEEE))
	p.I(x86.JE, x86.Label("end"))
	p.I(x86.CALL, x86.Label(Putc))
	p.I(x86.MOV, x86.AL, x86.AH)
	p.I(x86.CALL, x86.Label(Putc))
	p.I(x86.INC, x86.SI)
	p.I(x86.JMP, x86.Label("tok"))
	p.Label("end")
	p.I(x86.MOV, x86.AX, x86.Imm(0xFFFF))
	p.I(x86.CALL, x86.Label(Putc))
	p.I(x86.CALL, x86.Label(Putc))
	p.I(x86.JMP, x86.Label("line"))
	p.Label("bad")
	p.I(x86.MOV, x86.AL, x86.Imm(3))
	p.I(x86.CALL, x86.Label(Exit))
	img := linkTyped(t, p, ty, c, flat)
	assert.True(t, ReadsInput(img), "the image does not say that it reads COM1")
	// What it must do: ir.LineReader's lines, encoded.
	var wantIDs [][]int
	var wantSerial []byte
	lr := ir.NewLineReader(strings.NewReader(input))
	for {
		line, ok, err := lr.Next()
		require.NoError(t, err)
		if !ok || len(line) == 0 {
			break
		}
		ids, err := tok.Encode(string(line), true, false)
		require.NoError(t, err, "%q", line)
		wantIDs = append(wantIDs, ids)
		for _, id := range ids[1:] {
			wantSerial = append(wantSerial, byte(id), byte(id>>8))
		}
		wantSerial = append(wantSerial, 0xFF, 0xFF)
	}
	debugcon := filepath.Join(t.TempDir(), "debugcon")
	res, err := qemu.BootBytes(context.Background(), img, qemu.Options{Timeout: 30 * time.Second, Stdin: strings.NewReader(input), Debugcon: debugcon})
	require.NoError(t, err)
	raw, err := os.ReadFile(debugcon)
	require.NoError(t, err)
	var got [][]int
	var cur []int
	for i := 0; i+1 < len(raw); i += 2 {
		if w := int(raw[i]) | int(raw[i+1])<<8; w != 0xFFFF {
			cur = append(cur, w)
		} else {
			got, cur = append(got, cur), nil
		}
	}
	// Line by line, stopping at the first that differs.
	for i := range min(len(got), len(wantIDs)) {
		require.Equal(t, wantIDs[i], got[i], "line %d: llama2.c's encoder (expected), the image (actual)", i)
	}
	require.Equal(t, len(wantIDs), len(got), "lines the image encoded")
	// bytes.Equal: the lengths say enough, the bytes would be kilobytes.
	assert.True(t, bytes.Equal(res.Serial, wantSerial), "prompt_next gave %d bytes; want %d bytes (%d lines)", len(res.Serial), len(wantSerial), len(wantIDs))
	assert.Equal(t, 0, res.ExitCode, "exit code")
}

// A parameter line ("/t 0.8", "/p 0.9") sets the sampler's parameters as
// ir.ParseSamplingLine does; any other line is a prompt. After each
// prompt the test prints the two dwords on COM1.
func TestParamLines(t *testing.T) {
	if !qemu.Available() {
		t.Skip(qemu.ErrNotInstalled)
	}
	cands := []string{"/t 0", "/t 0.8", "/t 1", "/t 1.", "/t .5", "/t 999.9999", "/t 1000", "/t 0.00001", "/t 12.3456", "/t 007",
		"/p 0.9", "/p 1", "/p 0", "/p 0.0001", "/p 0.99995", "/p 2.5", "/p 1.0000", "/t", "/t ", "/t 0.8 ", "/t  0.8", "/x 1",
		"/t 0.8x", "/p 0..9", "t 0.8", "/T 0.8", "/t 1.23456", "/p 9.9999", "/t 3.14159"}
	r := rand.New(rand.NewSource(3))
	for range 60 {
		b := []byte{'/', "tp"[r.Intn(2)], ' '}
		for k := 1 + r.Intn(3); k > 0; k-- {
			b = append(b, byte('0'+r.Intn(10)))
		}
		if r.Intn(3) > 0 {
			b = append(b, '.')
			for k := 1 + r.Intn(4); k > 0; k-- {
				b = append(b, byte('0'+r.Intn(10)))
			}
		}
		cands = append(cands, string(b))
	}
	s := ir.Sampling{InvT: 12345, TopP: 54321}
	var input strings.Builder
	var want []byte
	for _, c := range cands {
		var ok bool
		if s, ok = ir.ParseSamplingLine([]byte(c), s); !ok {
			want = binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(want, uint32(s.InvT)), uint32(s.TopP))
		}
		want = binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(want, uint32(s.InvT)), uint32(s.TopP))
		input.WriteString(c + "\nx\n")
	}
	for _, flat := range []bool{true, false} {
		t.Run(fmt.Sprintf("flat=%v", flat), func(t *testing.T) {
			t.Parallel()
			tok := checkpoint.Synthetic(300)
			et, err := tok.EncodeTables()
			require.NoError(t, err)
			c := BootConfig{Flat: flat, Input: true}
			ty := Typed{Tables: et, MaxLine: ir.MaxLine, Params: 0x1000}
			if flat {
				ty.Seg, ty.Base, ty.Params = 0xFFFF, uint16(c.dataAddr()-0xFFFF0), 0x200000
			} else {
				ty.Seg = uint16(c.dataAddr() >> 4)
			}
			p := &x86.Program{}
			p.I(x86.MOV, x86.D(x86.Abs32(ty.Params)), x86.Imm(12345))
			p.I(x86.MOV, x86.D(x86.Abs32(ty.Params+4)), x86.Imm(54321))
			p.Label("line")
			p.I(x86.CALL, x86.Label(ReadPrompt))
			p.I(x86.MOV, x86.ESI, x86.Imm(int64(ty.Params)))
			p.I(x86.MOV, x86.CX, x86.Imm(8))
			p.Label("byte")
			p.I(x86.MOV, x86.AL, x86.B(x86.Ptr32(x86.ESI, x86.NoReg, 1, 0)))
			p.I(x86.CALL, x86.Label(Putc))
			p.I(x86.INC, x86.ESI)
			p.I(x86.LOOP, x86.Label("byte"))
			p.I(x86.JMP, x86.Label("line"))
			img := linkTyped(t, p, ty, c, flat)
			res, err := qemu.BootBytes(context.Background(), img, qemu.Options{Timeout: 30 * time.Second, Stdin: strings.NewReader(input.String())})
			require.NoError(t, err)
			// Line by line, stopping at the first that differs.
			for i := 0; i < len(want); i += 8 {
				require.GreaterOrEqual(t, len(res.Serial), i+8, "COM1 ends before the parameters after line %d (exit %d)", i/8, res.ExitCode)
				require.Equal(t, want[i:i+8], res.Serial[i:i+8], "the parameters after line %d (ir.ParseSamplingLine)", i/8)
			}
			assert.Equal(t, len(want), len(res.Serial), "COM1 bytes")
			assert.Equal(t, 0, res.ExitCode, "exit code")
		})
	}
}

// linkTyped appends the typed-prompt routines and the console to p and
// links it with their data, flat at ty.Base as the console's table
// would place it.
func linkTyped(t *testing.T, p *x86.Program, ty Typed, c BootConfig, flat bool) []byte {
	t.Helper()
	EmitTyped(p, ty)
	EmitConsole(p, Console{Flat: flat, PiecesAddr: c.dataAddr()})
	data := TypedData(ty)
	if flat {
		data = append(make([]byte, ty.Base-0x10), data...)
	}
	img, err := Link(nil, p, data, c)
	require.NoError(t, err)
	return img
}
