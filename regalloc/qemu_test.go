package regalloc

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	x86 "tfc/codegen/x86_16"
	"tfc/qemu"
	"tfc/runtime/ioport"
)

// End-to-end: real kernels written with virtual registers are allocated,
// rewritten, assembled into a boot sector, run in QEMU on fixed inputs,
// and their results compared with the same computation in Go.

const (
	resAddr = 0x9000 // results, dumped to COM1 as hex dwords
	outAddr = 0x9100 // output arrays
)

// dotKernel: the 64-bit sum of w[i]·x[i] over int16 weights and int32
// activations. Arguments v0 = &w, v1 = &x, v2 = n (pinned to ecx);
// results v3 = low dword, v4 = high dword.
func dotKernel() *Kernel {
	w, x, i, lo, hi := V(0), V(1), V(2), V(3), V(4)
	k := &Kernel{Name: "dot"}
	k.I(x86.XOR, lo, lo)
	k.I(x86.XOR, hi, hi)
	k.Label("dot.top")
	k.I(x86.MOVSX, x86.EAX, x86.W(x86.Ptr32(w, i, 2, -2)))
	k.I(x86.IMUL, x86.D(x86.Ptr32(x, i, 4, -4))) // edx:eax = w[i-1]·x[i-1]
	k.I(x86.ADD, lo, x86.EAX)
	k.I(x86.ADC, hi, x86.EDX)
	k.I(x86.DEC, i)
	k.I(x86.JNE, x86.Label("dot.top"))
	return k
}

func dotOptions() Options {
	return Options{LiveIn: []int{0, 1, 2}, LiveOut: []int{3, 4}, Pinned: map[int]x86.Reg{2: x86.ECX}}
}

// quantKernel: m = max |x[i]|; the smallest shift s with rshr(m, s) <=
// 32767 (searched with cl, as the kv-cache store does); q[i] = rshr(x[i], s)
// as int16. Arguments v0 = &x, v1 = n, v2 = &q; m and s are stored to
// res[0] (dword) and res[4] (byte).
func quantKernel() *Kernel {
	p, n, q, m, i, t, h, s, j, h2 := V(0), V(1), V(2), V(3), V(4), V(5), V(6), V(7), V(8), V(9)
	k := &Kernel{Name: "quant"}
	k.I(x86.XOR, m, m)
	k.I(x86.MOV, i, n)
	k.Label("q.max")
	k.I(x86.MOV, x86.EAX, x86.D(x86.Ptr32(p, i, 4, -4)))
	k.I(x86.CDQ)
	k.I(x86.XOR, x86.EAX, x86.EDX)
	k.I(x86.SUB, x86.EAX, x86.EDX) // |x| (0x80000000 for -2^31, compared unsigned)
	k.I(x86.CMP, x86.EAX, m)
	k.I(x86.JBE, x86.Label("q.keep"))
	k.I(x86.MOV, m, x86.EAX)
	k.Label("q.keep")
	k.I(x86.DEC, i)
	k.I(x86.JNE, x86.Label("q.max"))
	k.I(x86.MOV, x86.D(x86.Abs16(resAddr)), m)
	// ecx = 0, 1, ... until rshr(m, cl) fits.
	k.I(x86.XOR, x86.ECX, x86.ECX)
	k.Label("q.shift")
	k.I(x86.MOV, t, m)
	k.I(x86.JCXZ, x86.Short{To: x86.Label("q.rounded")})
	k.I(x86.MOV, h, x86.Imm(1))
	k.I(x86.SHL, h, x86.CL)
	k.I(x86.SHR, h, x86.Imm(1))
	k.I(x86.ADD, t, h)
	k.I(x86.SHR, t, x86.CL)
	k.Label("q.rounded")
	k.I(x86.CMP, t, x86.Imm(32767))
	k.I(x86.JBE, x86.Label("q.done"))
	k.I(x86.INC, x86.CX)
	k.I(x86.JMP, x86.Label("q.shift"))
	k.Label("q.done")
	k.I(x86.MOV, s, x86.ECX)
	k.I(x86.MOV, x86.B(x86.Abs16(resAddr+4)), V8(7)) // s as a byte
	_ = s
	// h2 = 2^(s-1) (0 for s = 0); q[i] = (x + h2) >> s in 64 bits. A
	// virtual keeps one register for its whole life, and h2 needs another
	// one than h (which may sit in eax or edx in the search loop).
	k.I(x86.MOV, h2, x86.Imm(1))
	k.I(x86.SHL, h2, x86.CL)
	k.I(x86.SHR, h2, x86.Imm(1))
	// A new counter for the same reason: i may sit in ecx during the
	// first loop, but cl is busy here.
	k.I(x86.MOV, j, n)
	k.Label("q.quant")
	k.I(x86.MOV, x86.EAX, x86.D(x86.Ptr32(p, j, 4, -4)))
	k.I(x86.CDQ)
	k.I(x86.ADD, x86.EAX, h2)
	k.I(x86.ADC, x86.EDX, x86.Imm(0))
	k.I(x86.SHRD, x86.EAX, x86.EDX, x86.CL)
	k.I(x86.MOV, t, x86.EAX)
	k.I(x86.MOV, x86.W(x86.Ptr32(q, j, 2, -2)), V16(5))
	k.I(x86.DEC, j)
	k.I(x86.JNE, x86.Label("q.quant"))
	return k
}

// matmulKernel is a matmul row loop: for each of rows rows,
// acc = Σ w[r][c]·x[c] in 64 bits, t = rshr(acc, 16), y[r] = rshr(t·mult,
// shift). x and mult are at fixed addresses (labels "xs", "mult"), the
// row count is in memory ("count"). Arguments v0 = &w, v1 = &y.
func matmulKernel(rows, cols int, shift uint) *Kernel {
	w, y, c, lo, hi := V(0), V(1), V(2), V(3), V(4)
	k := &Kernel{Name: "matmul"}
	k.I(x86.MOV, x86.W(x86.At("count", 0)), x86.Imm(int64(rows)))
	k.Label("mm.row")
	k.I(x86.XOR, lo, lo)
	k.I(x86.XOR, hi, hi)
	k.I(x86.MOV, c, x86.Imm(int64(cols)))
	k.Label("mm.col")
	k.I(x86.MOVSX, x86.EAX, x86.W(x86.Ptr32(w, c, 2, -2)))
	k.I(x86.IMUL, x86.D(x86.Mem{Index: c, Scale: 4, Label: "xs", Disp: -4, Addr32: true}))
	k.I(x86.ADD, lo, x86.EAX)
	k.I(x86.ADC, hi, x86.EDX)
	k.I(x86.DEC, c)
	k.I(x86.JNE, x86.Label("mm.col"))
	// t = rshr(hi:lo, 16)
	k.I(x86.ADD, lo, x86.Imm(1<<15))
	k.I(x86.ADC, hi, x86.Imm(0))
	k.I(x86.SHRD, lo, hi, x86.Imm(16))
	// y = rshr(t·mult, shift)
	k.I(x86.MOV, x86.EAX, lo)
	k.I(x86.IMUL, x86.D(x86.At("mult", 0)))
	k.I(x86.ADD, x86.EAX, x86.Imm(1<<(shift-1)))
	k.I(x86.ADC, x86.EDX, x86.Imm(0))
	k.I(x86.SHRD, x86.EAX, x86.EDX, x86.Imm(int64(shift)))
	k.I(x86.MOV, x86.D(x86.Ptr32(y, x86.NoReg, 1, 0)), x86.EAX)
	k.I(x86.ADD, y, x86.Imm(4))
	k.I(x86.ADD, w, x86.Imm(int64(2*cols)))
	k.I(x86.DEC, x86.W(x86.At("count", 0)))
	k.I(x86.JNE, x86.Label("mm.row"))
	return k
}

// runKernel allocates k, boots it in a sector between a prologue that
// loads its arguments and an epilogue that stores its LiveOut values to
// resAddr, and returns what the sector prints: the dwords at dumpAddr, in
// hex, one a line.
func runKernel(t *testing.T, k *Kernel, o Options, args map[int]x86.Operand, data func(p *x86.Program), dumpAddr uint16, dumpWords int) (string, map[int]x86.Reg) {
	t.Helper()
	as, err := Allocate(k, o)
	require.NoError(t, err, "Allocate\n%s", k)
	require.NoError(t, verify(k, o, as), "verify")
	var p x86.Program
	p.I(x86.CLI)
	p.I(x86.XOR, x86.AX, x86.AX)
	p.I(x86.MOV, x86.DS, x86.AX)
	p.I(x86.MOV, x86.ES, x86.AX)
	p.I(x86.MOV, x86.SS, x86.AX)
	p.I(x86.MOV, x86.SP, x86.Imm(0x7C00))
	p.I(x86.CLD)
	var ins []int
	for n := range args {
		ins = append(ins, n)
	}
	sort.Ints(ins)
	for _, n := range ins {
		p.I(x86.MOV, as[n], args[n])
	}
	require.NoError(t, Rewrite(k, as, &p))
	for j, n := range o.LiveOut {
		p.I(x86.MOV, x86.D(x86.Abs16(uint16(resAddr+4*j))), as[n])
	}
	p.I(x86.MOV, x86.SI, x86.Imm(int64(dumpAddr)))
	p.I(x86.MOV, x86.CX, x86.Imm(int64(dumpWords)))
	p.I(x86.CALL, x86.Label("dump"))
	p.I(x86.MOV, x86.AL, x86.Imm(0))
	p.I(x86.OUT, x86.Imm(ioport.DebugExit), x86.AL)
	p.Label("halt")
	p.I(x86.HLT)
	p.I(x86.JMP, x86.Label("halt"))
	// dump: cx dwords at ds:si as hex lines on COM1.
	p.Label("dump")
	p.I(x86.MOV, x86.DX, x86.Imm(0x3F8))
	p.Label("dump.word")
	p.I(x86.LODSD)
	p.I(x86.MOV, x86.BX, x86.Imm(8))
	p.Label("dump.digit")
	p.I(x86.ROL, x86.EAX, x86.Imm(4))
	p.I(x86.MOV, x86.EDI, x86.EAX)
	p.I(x86.AND, x86.AL, x86.Imm(0xF))
	p.I(x86.ADD, x86.AL, x86.Imm('0'))
	p.I(x86.CMP, x86.AL, x86.Imm('9'))
	p.I(x86.JBE, x86.Label("dump.out"))
	p.I(x86.ADD, x86.AL, x86.Imm('a'-'0'-10))
	p.Label("dump.out")
	p.I(x86.OUT, x86.DX, x86.AL)
	p.I(x86.MOV, x86.EAX, x86.EDI)
	p.I(x86.DEC, x86.BX)
	p.I(x86.JNE, x86.Label("dump.digit"))
	p.I(x86.MOV, x86.AL, x86.Imm('\n'))
	p.I(x86.OUT, x86.DX, x86.AL)
	p.I(x86.LOOP, x86.Label("dump.word"))
	p.I(x86.RET)
	data(&p)
	p.PadTo(510, 0)
	p.DB(0x55, 0xAA)
	img, err := p.Assemble(0x7C00)
	require.NoError(t, err, "assemble\n%s", p.Listing())
	require.Equal(t, 512, len(img), "boot sector bytes")
	res, err := qemu.BootBytes(context.Background(), img, qemu.Options{Timeout: 30 * time.Second})
	require.NoError(t, err)
	require.Equal(t, 0, res.ExitCode, "exit code (status %d), COM1 %q", res.Status, res.Serial)
	return string(res.Serial), as
}

func hexLines(vs ...uint32) string {
	var sb strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&sb, "%08x\n", v)
	}
	return sb.String()
}

func needQEMU(t *testing.T) {
	t.Helper()
	if !qemu.Available() {
		t.Skip("SKIPPED: qemu-system-i386 is not installed")
	}
}

func TestQEMUDotProduct(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	const n = 24
	r := rand.New(rand.NewPCG(7, 1))
	w := make([]int16, n)
	x := make([]int32, n)
	var sum int64
	for i := range w {
		w[i] = int16(r.Uint32())
		x[i] = int32(r.Uint32())
		sum += int64(w[i]) * int64(x[i])
	}
	w[0], x[0] = -32768, -1<<31 // the largest product
	sum = 0
	for i := range w {
		sum += int64(w[i]) * int64(x[i])
	}
	data := func(p *x86.Program) {
		p.Label("ws")
		for _, v := range w {
			p.DW(uint16(v))
		}
		p.Label("xs")
		for _, v := range x {
			p.DD(uint32(v))
		}
	}
	args := map[int]x86.Operand{0: x86.ImmLabel{Name: "ws"}, 1: x86.ImmLabel{Name: "xs"}, 2: x86.Imm(n)}
	got, as := runKernel(t, dotKernel(), dotOptions(), args, data, resAddr, 2)
	assert.Equal(t, hexLines(uint32(sum), uint32(uint64(sum)>>32)), got, "COM1")
	t.Logf("assignment %v", as)
}

func TestQEMUMaxAbsQuantize(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	cases := []struct {
		name string
		x    []int32
	}{
		{"small", []int32{1, -5, 300, -32767, 12, 0, 7, -1}}, // s = 0
		{"wide", nil}, // random, large
		{"extreme", []int32{-1 << 31, 1<<31 - 1, 3, -3, 65535, 0}}, // m = 2^31
	}
	r := rand.New(rand.NewPCG(3, 4))
	cases[1].x = make([]int32, 16)
	for i := range cases[1].x {
		cases[1].x[i] = int32(r.Uint32()) >> r.IntN(20)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			x := tc.x
			// Go: the same computation.
			var m uint32
			for _, v := range x {
				a := uint32(v)
				if v < 0 {
					a = uint32(-int64(v))
				}
				m = max(m, a)
			}
			s := uint(0)
			for {
				tt := m
				if s > 0 {
					tt = (m + 1<<s>>1) >> s
				}
				if tt <= 32767 {
					break
				}
				s++
			}
			words := make([]uint16, len(x)+len(x)%2)
			for i, v := range x {
				h := int64(1) << s >> 1
				words[i] = uint16((int64(v) + h) >> s)
			}
			var want []uint32
			want = append(want, m, uint32(s))
			for i := 0; i < len(words); i += 2 {
				want = append(want, uint32(words[i])|uint32(words[i+1])<<16)
			}

			data := func(p *x86.Program) {
				p.Label("xs")
				for _, v := range x {
					p.DD(uint32(v))
				}
			}
			k := quantKernel()
			// The epilogue dumps res (m, s) and the output right after it.
			args := map[int]x86.Operand{0: x86.ImmLabel{Name: "xs"}, 1: x86.Imm(int64(len(x))), 2: x86.Imm(resAddr + 8)}
			o := Options{LiveIn: []int{0, 1, 2}}
			// res[4] gets only a byte: clear the dword first through the
			// prologue's memory (BIOS leaves it undefined).
			k.Items = append([]Item{{Inst: x86.Inst{Op: x86.MOV, Args: []x86.Operand{x86.D(x86.Abs16(resAddr + 4)), x86.Imm(0)}}}}, k.Items...)
			got, as := runKernel(t, k, o, args, data, resAddr, len(want))
			assert.Equal(t, hexLines(want...), got, "COM1")
			t.Logf("s = %d, assignment %v", s, as)
		})
	}
}

func TestQEMUMatmul(t *testing.T) {
	needQEMU(t)
	t.Parallel()
	const rows, cols, shift = 4, 16, 13
	r := rand.New(rand.NewPCG(5, 6))
	w := make([]int16, rows*cols)
	x := make([]int32, cols)
	for i := range w {
		w[i] = int16(r.Uint32())
	}
	for i := range x {
		x[i] = int32(r.Uint32()) >> 4
	}
	mult := int32(r.Uint32()) >> 16
	rshr := func(v int64, n uint) int64 { return (v + 1<<(n-1)) >> n }
	var want []uint32
	for row := 0; row < rows; row++ {
		var acc int64
		for c := 0; c < cols; c++ {
			acc += int64(w[row*cols+c]) * int64(x[c])
		}
		tt := int32(rshr(acc, 16))
		want = append(want, uint32(rshr(int64(tt)*int64(mult), shift)))
	}
	data := func(p *x86.Program) {
		p.Label("count")
		p.DW(0)
		p.Label("mult")
		p.DD(uint32(mult))
		p.Label("ws")
		for _, v := range w {
			p.DW(uint16(v))
		}
		p.Label("xs")
		for _, v := range x {
			p.DD(uint32(v))
		}
	}
	args := map[int]x86.Operand{0: x86.ImmLabel{Name: "ws"}, 1: x86.Imm(outAddr)}
	got, as := runKernel(t, matmulKernel(rows, cols, shift), Options{LiveIn: []int{0, 1}}, args, data, outAddr, rows)
	assert.Equal(t, hexLines(want...), got, "COM1")
	t.Logf("assignment %v", as)
}
