package golden_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	x86 "tfc/codegen/x86_16"

	"tfc/ir"
	"tfc/qemu"
	"tfc/runtime"
	"tfc/runtime/ioport"
)

// chunk is memory at a linear address: an input to load or an output
// with its expected bytes.
type chunk struct {
	addr uint32
	data []byte
}

// run is one kernel on one configuration: what to load, what to expect.
type run struct {
	t      *testing.T
	cfg    *config
	ops    []*ir.Op // the ops the generated code computes
	rng    *rand.Rand
	layer  int // -1 outside the layer block
	tok    int
	pos    int
	in     []chunk // low memory to load before the call
	fill   []chunk // low memory to fill with 0xCC before the call (outputs)
	cache  []byte  // the contents of the layer's cache region, or nil
	out    []chunk // memory to print after the call, and what it must hold
	defs   map[string]int64
	table  *ir.Table // the table the handwritten code reads at TAB
	pieces []int     // print_piece: (prev, token) pairs
	axTo   uint32    // where the harness stores AX after the kernel (argmax's token), if not 0
	serial []byte    // print_piece: what COM1 must receive
}

func (r *run) def(name string, v int64) { r.defs[name] = v }

func (r *run) input(v *ir.Var, x []int32) {
	r.in = append(r.in, chunk{r.cfg.l.VarAddr(v), i32bytes(x)})
}

func (r *run) output(v *ir.Var, want []int32) {
	r.out = append(r.out, chunk{r.cfg.l.VarAddr(v), i32bytes(want)})
}

func i32bytes(x []int32) []byte {
	b := make([]byte, 0, 4*len(x))
	for _, v := range x {
		b = append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
	}
	return b
}

// check compares what a kernel printed with the expected outputs.
func (r *run) check(who string, serial []byte) {
	t := r.t
	if r.pieces != nil {
		assert.Equal(t, string(r.serial), string(serial), "%s print_piece printed", who)
		return
	}
	lines := strings.Split(strings.TrimSuffix(string(serial), "\n"), "\n")
	if !assert.Equal(t, len(r.out), len(lines), "%s: lines of output: %q", who, serial) {
		return
	}
	for i, c := range r.out {
		got, err := hex.DecodeString(lines[i])
		if !assert.NoError(t, err, "%s: output %d", who, i) {
			continue
		}
		// EquateEmpty: nil and empty alike, as bytes.Equal.
		assert.Empty(t, cmp.Diff(c.data, got, cmpopts.EquateEmpty()),
			"%s: output %d at %#x differs from the simulator's arithmetic (-want +got)", who, i, c.addr)
	}
}

func boot(img []byte) ([]byte, error) {
	res, err := qemu.BootBytes(context.Background(), img, qemu.Options{Timeout: 60 * time.Second})
	if err != nil {
		return nil, err
	}
	if res.ExitCode != 0 {
		return nil, fmt.Errorf("exit code %d (QEMU status %d), COM1 %q", res.ExitCode, res.Status, res.Serial)
	}
	return res.Serial, nil
}

// nasm assembles a handwritten kernel with the defines.
func nasm(t *testing.T, file string, defs map[string]int64) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "k.bin")
	args := []string{"-f", "bin", "-w+all", "-o", out}
	var names []string
	for n := range defs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		args = append(args, fmt.Sprintf("-D%s=%d", n, defs[n]))
	}
	args = append(args, file)
	cmd := exec.Command("nasm", args...)
	cmd.Dir = hwDir
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "nasm %s:\n%s", strings.Join(args, " "), msg)
	require.Empty(t, string(msg), "nasm %s's diagnostics", strings.Join(args, " "))
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	return b
}

// Harness layout: the harness code, its data, the table for the
// handwritten code at "tab", then the kernel at "kernel" (16-aligned).
func (r *run) program(blob []byte, callee string) *x86.Program {
	cfg := r.cfg
	p := &x86.Program{}
	s := scalars()
	p.I(x86.MOV, x86.W(x86.Abs16(s.Tok)), x86.Imm(int64(r.tok)))
	p.I(x86.MOV, x86.W(x86.Abs16(s.Pos)), x86.Imm(int64(r.pos)))
	if r.layer >= 0 {
		w, c := cfg.l.LayerPointers(r.layer)
		if cfg.seg() {
			p.I(x86.MOV, x86.W(x86.Abs16(s.LayerW)), x86.Imm(int64(w)))
			p.I(x86.MOV, x86.W(x86.Abs16(s.LayerC)), x86.Imm(int64(c)))
			p.I(x86.MOV, x86.FS, x86.W(x86.Abs16(s.LayerW)))
			p.I(x86.MOV, x86.GS, x86.W(x86.Abs16(s.LayerC)))
		} else {
			p.I(x86.MOV, x86.D(x86.Abs16(s.LayerW)), x86.Imm(int64(w)))
			p.I(x86.MOV, x86.D(x86.Abs16(s.LayerC)), x86.Imm(int64(c)))
		}
	} else if !cfg.seg() {
		// Flat: the layer base the build keeps in low memory outside the
		// loop (the small matmul and rmsnorm add it to their weights
		// address): the first layer's before the loop, past the last after.
		i := 0
		for _, op := range cfg.p.Blocks[ir.PostBlock] {
			for _, o := range r.ops {
				if op == o {
					i = cfg.p.Layers
				}
			}
		}
		w, _ := cfg.l.LayerPointers(i)
		p.I(x86.MOV, x86.D(x86.Abs16(s.LayerW)), x86.Imm(int64(w)))
	}
	for i, c := range r.in {
		p.I(x86.MOV, x86.SI, x86.ImmLabel{Name: fmt.Sprintf("in%d", i)})
		p.I(x86.MOV, x86.DI, x86.Imm(int64(c.addr)))
		p.I(x86.MOV, x86.CX, x86.Imm(int64(len(c.data))))
		p.I(x86.REP | x86.MOVSB)
	}
	for _, c := range r.fill {
		p.I(x86.MOV, x86.DI, x86.Imm(int64(c.addr)))
		p.I(x86.MOV, x86.CX, x86.Imm(int64(len(c.data))))
		p.I(x86.MOV, x86.AL, x86.Imm(0xCC))
		p.I(x86.REP | x86.STOSB)
	}
	if r.pieces != nil {
		for i := 0; i < len(r.pieces); i += 2 {
			p.I(x86.MOV, x86.BX, x86.Imm(int64(r.pieces[i])))
			p.I(x86.MOV, x86.AX, x86.Imm(int64(r.pieces[i+1])))
			p.I(x86.CALL, x86.Label(callee))
			p.I(x86.MOV, x86.DX, x86.Imm(0x3F8))
			p.I(x86.MOV, x86.AL, x86.Imm('|'))
			p.I(x86.OUT, x86.DX, x86.AL)
		}
	} else {
		p.I(x86.CALL, x86.Label(callee))
		if r.axTo != 0 {
			p.I(x86.MOV, x86.W(x86.Abs16(uint16(r.axTo))), x86.AX)
		}
	}
	for _, c := range r.out {
		switch {
		case !cfg.seg():
			p.I(x86.MOV, x86.ESI, x86.Imm(int64(c.addr)))
		case c.addr < 0x10000:
			p.I(x86.MOV, x86.SI, x86.Imm(int64(c.addr)))
		default:
			p.I(x86.MOV, x86.AX, x86.Imm(int64(c.addr>>4)))
			p.I(x86.MOV, x86.DS, x86.AX)
			p.I(x86.MOV, x86.SI, x86.Imm(int64(c.addr&15)))
		}
		p.I(x86.MOV, x86.CX, x86.Imm(int64(len(c.data))))
		p.I(x86.CALL, x86.Label("dump"))
		p.I(x86.XOR, x86.AX, x86.AX)
		p.I(x86.MOV, x86.DS, x86.AX)
	}
	p.I(x86.MOV, x86.AL, x86.Imm(0))
	p.I(x86.OUT, x86.Imm(ioport.DebugExit), x86.AL)
	p.I(x86.CLI)
	p.Label("halt")
	p.I(x86.HLT)
	p.I(x86.JMP, x86.Label("halt"))

	// dump: cx bytes at ds:si (flat: esi) as hex, then '\n'.
	p.Label("dump")
	p.I(x86.MOV, x86.DX, x86.Imm(0x3F8))
	p.Label("dump.byte")
	if cfg.seg() {
		p.I(x86.LODSB)
	} else {
		p.I(x86.A32 | x86.LODSB)
	}
	p.I(x86.MOV, x86.AH, x86.AL)
	p.I(x86.SHR, x86.AL, x86.Imm(4))
	p.I(x86.CALL, x86.Label("dump.hex"))
	p.I(x86.MOV, x86.AL, x86.AH)
	p.I(x86.AND, x86.AL, x86.Imm(15))
	p.I(x86.CALL, x86.Label("dump.hex"))
	p.I(x86.LOOP, x86.Label("dump.byte"))
	p.I(x86.MOV, x86.AL, x86.Imm('\n'))
	p.I(x86.OUT, x86.DX, x86.AL)
	p.I(x86.RET)
	p.Label("dump.hex")
	p.I(x86.CMP, x86.AL, x86.Imm(10))
	p.I(x86.SBB, x86.AL, x86.Imm(0x69))
	p.DB(0x2F) // das: 0..15 to '0'..'9', 'A'..'F'
	p.I(x86.OUT, x86.DX, x86.AL)
	p.I(x86.RET)

	if r.pieces != nil {
		runtime.EmitConsole(p, cfg.console)
	}
	for i, c := range r.in {
		p.Label(fmt.Sprintf("in%d", i))
		p.DB(c.data...)
	}
	p.Align(4, 0)
	p.Label("tab")
	if r.table != nil {
		p.DB(i32bytes(r.table.Data)...)
	}
	p.Align(16, 0)
	p.Label("kernel")
	p.DB(blob...)
	return p
}

// symbols assembles the harness without a kernel (whose size moves
// nothing before it).
func (r *run) symbols() map[string]uint32 {
	p := r.program(nil, "kernel")
	_, err := p.Assemble(runtime.CodeAddr)
	require.NoError(r.t, err, "harness")
	return p.Symbols()
}

func (r *run) kernelAddr([]byte) uint32 { return r.symbols()["kernel"] }

// image links the harness and a kernel with the model's data (and the
// cache contents) into a disk image.
func (r *run) image(blob []byte, callee string) ([]byte, error) {
	cfg := r.cfg
	main := r.program(blob, callee)
	data := cfg.l.Data
	if r.cache != nil {
		_, c := cfg.l.LayerPointers(r.layer)
		at := c
		if cfg.seg() {
			at = c << 4
		}
		data = append([]byte(nil), data...)
		for uint32(len(data)) < at-cfg.l.DataAddr {
			data = append(data, 0)
		}
		data = append(data, r.cache...)
	}
	return runtime.Link(nil, main, data, runtime.BootConfig{Flat: !cfg.seg(), DataAddr: cfg.l.DataAddr})
}
