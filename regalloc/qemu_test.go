package regalloc

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	. "tfc/codegen/x86_16"
	"tfc/qemu"
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
	k.I(XOR, lo, lo)
	k.I(XOR, hi, hi)
	k.Label("dot.top")
	k.I(MOVSX, EAX, W(Ptr32(w, i, 2, -2)))
	k.I(IMUL, D(Ptr32(x, i, 4, -4))) // edx:eax = w[i-1]·x[i-1]
	k.I(ADD, lo, EAX)
	k.I(ADC, hi, EDX)
	k.I(DEC, i)
	k.I(JNE, Label("dot.top"))
	return k
}

func dotOptions() Options {
	return Options{LiveIn: []int{0, 1, 2}, LiveOut: []int{3, 4}, Pinned: map[int]Reg{2: ECX}}
}

// quantKernel: m = max |x[i]|; the smallest shift s with rshr(m, s) <=
// 32767 (searched with cl, as the kv-cache store does); q[i] = rshr(x[i], s)
// as int16. Arguments v0 = &x, v1 = n, v2 = &q; m and s are stored to
// res[0] (dword) and res[4] (byte).
func quantKernel() *Kernel {
	p, n, q, m, i, t, h, s, j, h2 := V(0), V(1), V(2), V(3), V(4), V(5), V(6), V(7), V(8), V(9)
	k := &Kernel{Name: "quant"}
	k.I(XOR, m, m)
	k.I(MOV, i, n)
	k.Label("q.max")
	k.I(MOV, EAX, D(Ptr32(p, i, 4, -4)))
	k.I(CDQ)
	k.I(XOR, EAX, EDX)
	k.I(SUB, EAX, EDX) // |x| (0x80000000 for -2^31, compared unsigned)
	k.I(CMP, EAX, m)
	k.I(JBE, Label("q.keep"))
	k.I(MOV, m, EAX)
	k.Label("q.keep")
	k.I(DEC, i)
	k.I(JNE, Label("q.max"))
	k.I(MOV, D(Abs16(resAddr)), m)
	// ecx = 0, 1, ... until rshr(m, cl) fits.
	k.I(XOR, ECX, ECX)
	k.Label("q.shift")
	k.I(MOV, t, m)
	k.I(JCXZ, Short{To: Label("q.rounded")})
	k.I(MOV, h, Imm(1))
	k.I(SHL, h, CL)
	k.I(SHR, h, Imm(1))
	k.I(ADD, t, h)
	k.I(SHR, t, CL)
	k.Label("q.rounded")
	k.I(CMP, t, Imm(32767))
	k.I(JBE, Label("q.done"))
	k.I(INC, CX)
	k.I(JMP, Label("q.shift"))
	k.Label("q.done")
	k.I(MOV, s, ECX)
	k.I(MOV, B(Abs16(resAddr+4)), V8(7)) // s as a byte
	_ = s
	// h2 = 2^(s-1) (0 for s = 0); q[i] = (x + h2) >> s in 64 bits. A
	// virtual keeps one register for its whole life, and h2 needs another
	// one than h (which may sit in eax or edx in the search loop).
	k.I(MOV, h2, Imm(1))
	k.I(SHL, h2, CL)
	k.I(SHR, h2, Imm(1))
	// A new counter for the same reason: i may sit in ecx during the
	// first loop, but cl is busy here.
	k.I(MOV, j, n)
	k.Label("q.quant")
	k.I(MOV, EAX, D(Ptr32(p, j, 4, -4)))
	k.I(CDQ)
	k.I(ADD, EAX, h2)
	k.I(ADC, EDX, Imm(0))
	k.I(SHRD, EAX, EDX, CL)
	k.I(MOV, t, EAX)
	k.I(MOV, W(Ptr32(q, j, 2, -2)), V16(5))
	k.I(DEC, j)
	k.I(JNE, Label("q.quant"))
	return k
}

// matmulKernel is the matmul row loop of isel: for each of rows rows,
// acc = Σ w[r][c]·x[c] in 64 bits, t = rshr(acc, 16), y[r] = rshr(t·mult,
// shift). x and mult are at fixed addresses (labels "xs", "mult"), the
// row count is in memory ("count"). Arguments v0 = &w, v1 = &y.
func matmulKernel(rows, cols int, shift uint) *Kernel {
	w, y, c, lo, hi := V(0), V(1), V(2), V(3), V(4)
	k := &Kernel{Name: "matmul"}
	k.I(MOV, W(At("count", 0)), Imm(int64(rows)))
	k.Label("mm.row")
	k.I(XOR, lo, lo)
	k.I(XOR, hi, hi)
	k.I(MOV, c, Imm(int64(cols)))
	k.Label("mm.col")
	k.I(MOVSX, EAX, W(Ptr32(w, c, 2, -2)))
	k.I(IMUL, D(Mem{Index: c, Scale: 4, Label: "xs", Disp: -4, Addr32: true}))
	k.I(ADD, lo, EAX)
	k.I(ADC, hi, EDX)
	k.I(DEC, c)
	k.I(JNE, Label("mm.col"))
	// t = rshr(hi:lo, 16)
	k.I(ADD, lo, Imm(1<<15))
	k.I(ADC, hi, Imm(0))
	k.I(SHRD, lo, hi, Imm(16))
	// y = rshr(t·mult, shift)
	k.I(MOV, EAX, lo)
	k.I(IMUL, D(At("mult", 0)))
	k.I(ADD, EAX, Imm(1<<(shift-1)))
	k.I(ADC, EDX, Imm(0))
	k.I(SHRD, EAX, EDX, Imm(int64(shift)))
	k.I(MOV, D(Ptr32(y, NoReg, 1, 0)), EAX)
	k.I(ADD, y, Imm(4))
	k.I(ADD, w, Imm(int64(2*cols)))
	k.I(DEC, W(At("count", 0)))
	k.I(JNE, Label("mm.row"))
	return k
}

// runKernel allocates k, boots it in a sector between a prologue that
// loads its arguments and an epilogue that stores its LiveOut values to
// resAddr, and returns what the sector prints: the dwords at dumpAddr, in
// hex, one a line.
func runKernel(t *testing.T, k *Kernel, o Options, args map[int]Operand, data func(p *Program), dumpAddr uint16, dumpWords int) (string, map[int]Reg) {
	t.Helper()
	as, err := Allocate(k, o)
	if err != nil {
		t.Fatalf("Allocate: %v\n%s", err, k)
	}
	if err := verify(k, o, as); err != nil {
		t.Fatalf("verify: %v", err)
	}
	var p Program
	p.I(CLI)
	p.I(XOR, AX, AX)
	p.I(MOV, DS, AX)
	p.I(MOV, ES, AX)
	p.I(MOV, SS, AX)
	p.I(MOV, SP, Imm(0x7C00))
	p.I(CLD)
	var ins []int
	for n := range args {
		ins = append(ins, n)
	}
	sort.Ints(ins)
	for _, n := range ins {
		p.I(MOV, as[n], args[n])
	}
	if err := Rewrite(k, as, &p); err != nil {
		t.Fatal(err)
	}
	for j, n := range o.LiveOut {
		p.I(MOV, D(Abs16(uint16(resAddr+4*j))), as[n])
	}
	p.I(MOV, SI, Imm(int64(dumpAddr)))
	p.I(MOV, CX, Imm(int64(dumpWords)))
	p.I(CALL, Label("dump"))
	p.I(MOV, AL, Imm(0))
	p.I(OUT, Imm(qemu.DebugExitPort), AL)
	p.Label("halt")
	p.I(HLT)
	p.I(JMP, Label("halt"))
	// dump: cx dwords at ds:si as hex lines on COM1.
	p.Label("dump")
	p.I(MOV, DX, Imm(0x3F8))
	p.Label("dump.word")
	p.I(LODSD)
	p.I(MOV, BX, Imm(8))
	p.Label("dump.digit")
	p.I(ROL, EAX, Imm(4))
	p.I(MOV, EDI, EAX)
	p.I(AND, AL, Imm(0xF))
	p.I(ADD, AL, Imm('0'))
	p.I(CMP, AL, Imm('9'))
	p.I(JBE, Label("dump.out"))
	p.I(ADD, AL, Imm('a'-'0'-10))
	p.Label("dump.out")
	p.I(OUT, DX, AL)
	p.I(MOV, EAX, EDI)
	p.I(DEC, BX)
	p.I(JNE, Label("dump.digit"))
	p.I(MOV, AL, Imm('\n'))
	p.I(OUT, DX, AL)
	p.I(LOOP, Label("dump.word"))
	p.I(RET)
	data(&p)
	p.PadTo(510, 0)
	p.DB(0x55, 0xAA)
	img, err := p.Assemble(0x7C00)
	if err != nil {
		t.Fatalf("assemble: %v\n%s", err, p.Listing())
	}
	if len(img) != 512 {
		t.Fatalf("boot sector is %d bytes", len(img))
	}
	res, err := qemu.BootBytes(context.Background(), img, qemu.Options{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("exit code %d (status %d), COM1 %q", res.ExitCode, res.Status, res.Serial)
	}
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
	data := func(p *Program) {
		p.Label("ws")
		for _, v := range w {
			p.DW(uint16(v))
		}
		p.Label("xs")
		for _, v := range x {
			p.DD(uint32(v))
		}
	}
	args := map[int]Operand{0: ImmLabel{Name: "ws"}, 1: ImmLabel{Name: "xs"}, 2: Imm(n)}
	got, as := runKernel(t, dotKernel(), dotOptions(), args, data, resAddr, 2)
	if want := hexLines(uint32(sum), uint32(uint64(sum)>>32)); got != want {
		t.Errorf("COM1:\n%s\nwant:\n%s", got, want)
	}
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

			data := func(p *Program) {
				p.Label("xs")
				for _, v := range x {
					p.DD(uint32(v))
				}
			}
			k := quantKernel()
			// The epilogue dumps res (m, s) and the output right after it.
			args := map[int]Operand{0: ImmLabel{Name: "xs"}, 1: Imm(int64(len(x))), 2: Imm(resAddr + 8)}
			o := Options{LiveIn: []int{0, 1, 2}}
			// res[4] gets only a byte: clear the dword first through the
			// prologue's memory (BIOS leaves it undefined).
			k.Items = append([]Item{{Inst: Inst{Op: MOV, Args: []Operand{D(Abs16(resAddr + 4)), Imm(0)}}}}, k.Items...)
			got, as := runKernel(t, k, o, args, data, resAddr, len(want))
			if exp := hexLines(want...); got != exp {
				t.Errorf("COM1:\n%s\nwant:\n%s", got, exp)
			}
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
	data := func(p *Program) {
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
	args := map[int]Operand{0: ImmLabel{Name: "ws"}, 1: Imm(outAddr)}
	got, as := runKernel(t, matmulKernel(rows, cols, shift), Options{LiveIn: []int{0, 1}}, args, data, outAddr, rows)
	if exp := hexLines(want...); got != exp {
		t.Errorf("COM1:\n%s\nwant:\n%s", got, exp)
	}
	t.Logf("assignment %v", as)
}
