package runtime

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	x86 "tfc/codegen/x86_16"
)

func randomData(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func sum32(b []byte) uint32 {
	var s uint32
	for i := 0; i < len(b); i += 4 {
		s += binary.LittleEndian.Uint32(b[i:])
	}
	return s
}

// sumProgram is a main program that adds the dwords of n bytes at addr
// and prints the sum in hex and '\n' to COM1, then exits with code 0.
// Segmented, it walks the data with DS:SI, moving DS on by 64 KiB each time
// SI wraps, as real mode requires.
func sumProgram(flat bool, addr uint32, n int) *x86.Program {
	return sumProgramWith(Console{Flat: flat}, addr, n)
}

// sumProgramWith is sumProgram with the console con.
func sumProgramWith(con Console, addr uint32, n int) *x86.Program {
	flat := con.Flat
	p := &x86.Program{}
	emitCheckEntry(p, flat, con.Shared())
	p.I(x86.MOV, x86.ECX, x86.Imm(int64(n/4)))
	p.I(x86.XOR, x86.EDX, x86.EDX)
	if flat {
		p.I(x86.MOV, x86.ESI, x86.Imm(int64(addr)))
		p.Label("sum.loop")
		p.DB(0x67) // a32 lodsd
		p.I(x86.LODSD)
		p.I(x86.ADD, x86.EDX, x86.EAX)
	} else {
		p.I(x86.MOV, x86.BX, x86.Imm(int64(addr>>4)))
		p.I(x86.MOV, x86.SI, x86.Imm(int64(addr&15)))
		p.Label("sum.loop")
		p.I(x86.MOV, x86.DS, x86.BX)
		p.I(x86.LODSD)
		p.I(x86.ADD, x86.EDX, x86.EAX)
		p.I(x86.TEST, x86.SI, x86.SI)
		p.I(x86.JNZ, x86.Label("sum.next"))
		p.I(x86.ADD, x86.BX, x86.Imm(0x1000))
		p.Label("sum.next")
	}
	p.I(x86.DEC, x86.ECX)
	p.I(x86.JNZ, x86.Label("sum.loop"))
	p.I(x86.PUSH, x86.Word(0))
	p.I(x86.POP, x86.DS)
	emitPrintHex(p)
	p.I(x86.CALL, x86.Label(Newline))
	p.I(x86.MOV, x86.AL, x86.Imm(0))
	p.I(x86.CALL, x86.Label(Exit))
	EmitConsole(p, con)
	return p
}

func sumImage(t *testing.T, c BootConfig, data []byte) []byte {
	t.Helper()
	img, err := Link(nil, sumProgram(c.Flat, c.dataAddr(), len(data)), data, c)
	require.NoError(t, err)
	return img
}

func TestLoadAndSum(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    BootConfig
		n    int
	}{
		{"flat", BootConfig{Flat: true}, 300 << 10},
		{"flat_chs", BootConfig{Flat: true, ForceCHS: true}, 300 << 10},
		{"flat_high", BootConfig{Flat: true, DataAddr: 0x345678}, 100<<10 + 12},
		{"segmented", BootConfig{}, 100 << 10},
		{"segmented_chs", BootConfig{ForceCHS: true}, 100 << 10},
		// Not paragraph aligned: the DAP offset carries the low bits.
		{"segmented_unaligned", BootConfig{DataAddr: 0x23458}, 200<<10 + 20},
		// Right after the code: one stream.
		{"segmented_contiguous", BootConfig{DataAddr: CodeAddr + SectorSize}, 64<<10 + 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data := randomData(tc.n, uint64(tc.n))
			img := sumImage(t, tc.c, data)
			res := boot(t, img, 30*time.Second)
			want := fmt.Sprintf("%08X\n", sum32(data))
			assert.Equal(t, want, string(res.Serial), "COM1 (exit %d, %v)", res.ExitCode, res.Elapsed)
			assert.Equal(t, 0, res.ExitCode, "exit code (COM1 %q)", res.Serial)
		})
	}
}

func TestCutShort(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    BootConfig
	}{
		{"flat", BootConfig{Flat: true}},
		{"flat_chs", BootConfig{Flat: true, ForceCHS: true}},
		{"segmented", BootConfig{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data := randomData(100<<10, 7)
			l, err := LinkImage(nil, sumProgram(tc.c.Flat, tc.c.dataAddr(), len(data)), data, tc.c)
			require.NoError(t, err)
			img := l.Bytes[:l.StreamsEnd()-len(data)/2/SectorSize*SectorSize]
			res := boot(t, img, 10*time.Second)
			assert.Regexp(t, `^disk error [0-9A-F]{2}\n$`, string(res.Serial), "COM1: disk error, two hex digits, newline (exit %d)", res.ExitCode)
			assert.Equal(t, 2, res.ExitCode, "exit code (COM1 %q)", res.Serial)
			assert.LessOrEqual(t, res.Elapsed, 5*time.Second, "time to fail")
		})
	}
}
