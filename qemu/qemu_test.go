package qemu_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	x86 "tfc/codegen/x86_16"
	"tfc/qemu"
	"tfc/runtime/ioport"
)

func needQEMU(t *testing.T) {
	t.Helper()
	if !qemu.Available() {
		t.Skip("SKIPPED: qemu-system-i386 is not installed (make deps)")
	}
}

// bootSector assembles body at 0x7C00 behind a stack setup and pads it to
// a signed 512-byte sector; "print" (SI = NUL-terminated string) and
// "exit" (AL = code) are available to body.
func bootSector(t *testing.T, body func(p *x86.Program)) []byte {
	t.Helper()
	var p x86.Program
	p.I(x86.CLI)
	p.I(x86.XOR, x86.AX, x86.AX)
	p.I(x86.MOV, x86.DS, x86.AX)
	p.I(x86.MOV, x86.SS, x86.AX)
	p.I(x86.MOV, x86.SP, x86.Imm(0x7C00))
	p.I(x86.CLD)
	body(&p)
	// print: SI = string, to COM1.
	p.Label("print")
	p.I(x86.MOV, x86.DX, x86.Imm(0x3F8))
	p.Label("print.next")
	p.I(x86.LODSB)
	p.I(x86.TEST, x86.AL, x86.AL)
	p.I(x86.JE, x86.Label("print.done"))
	p.I(x86.OUT, x86.DX, x86.AL)
	p.I(x86.JMP, x86.Label("print.next"))
	p.Label("print.done")
	p.I(x86.RET)
	p.Label("exit")
	p.I(x86.OUT, x86.Imm(ioport.DebugExit), x86.AL)
	p.Label("halt")
	p.I(x86.HLT)
	p.I(x86.JMP, x86.Label("halt"))
	p.PadTo(510, 0)
	p.DB(0x55, 0xAA)
	b, err := p.Assemble(0x7C00)
	require.NoError(t, err)
	require.Equal(t, 512, len(b), "boot sector bytes")
	return b
}

func TestBootPrintsAndExits(t *testing.T) {
	needQEMU(t)
	const msg = "hello from the boot sector\n"
	img := bootSector(t, func(p *x86.Program) {
		p.I(x86.MOV, x86.SI, x86.ImmLabel{Name: "msg"})
		p.I(x86.CALL, x86.Label("print"))
		p.I(x86.MOV, x86.AL, x86.Imm(42))
		p.I(x86.JMP, x86.Label("exit"))
		p.Label("msg")
		p.DB(append([]byte(msg), 0)...)
	})
	res, err := qemu.BootBytes(context.Background(), img, qemu.Options{Timeout: 30 * time.Second})
	require.NoError(t, err)
	assert.Equal(t, msg, string(res.Serial), "COM1")
	assert.Equal(t, 42, res.ExitCode, "exit code (QEMU status %d)", res.Status)
}

// rdtscImage times a fixed loop of n iterations with rdtsc and prints the
// 64-bit difference in hex.
func rdtscImage(t *testing.T, n int) []byte {
	return bootSector(t, func(p *x86.Program) {
		p.I(x86.RDTSC)
		p.I(x86.MOV, x86.ESI, x86.EAX)
		p.I(x86.MOV, x86.EDI, x86.EDX)
		p.I(x86.MOV, x86.ECX, x86.Imm(int64(n)))
		p.Label("spin")
		p.I(x86.ADD, x86.EBX, x86.ECX)
		p.I(x86.DEC, x86.ECX)
		p.I(x86.JNE, x86.Label("spin"))
		p.I(x86.RDTSC)
		p.I(x86.SUB, x86.EAX, x86.ESI)
		p.I(x86.SBB, x86.EDX, x86.EDI)
		// Print edx:eax as 16 hex digits.
		p.I(x86.MOV, x86.ESI, x86.EAX)
		p.I(x86.MOV, x86.EBX, x86.EDX)
		p.I(x86.MOV, x86.CX, x86.Imm(16))
		p.I(x86.MOV, x86.DX, x86.Imm(0x3F8))
		p.Label("hex")
		p.I(x86.MOV, x86.EAX, x86.EBX)
		p.I(x86.SHR, x86.EAX, x86.Imm(28))
		p.I(x86.SHLD, x86.EBX, x86.ESI, x86.Imm(4))
		p.I(x86.SHL, x86.ESI, x86.Imm(4))
		p.I(x86.ADD, x86.AL, x86.Imm('0'))
		p.I(x86.CMP, x86.AL, x86.Imm('9'))
		p.I(x86.JBE, x86.Label("digit"))
		p.I(x86.ADD, x86.AL, x86.Imm('a'-'0'-10))
		p.Label("digit")
		p.I(x86.OUT, x86.DX, x86.AL)
		p.I(x86.DEC, x86.CX)
		p.I(x86.JNE, x86.Label("hex"))
		p.I(x86.MOV, x86.AL, x86.Imm(0))
		p.I(x86.JMP, x86.Label("exit"))
	})
}

func countInstructions(t *testing.T, n int) uint64 {
	t.Helper()
	res, err := qemu.BootBytes(context.Background(), rdtscImage(t, n), qemu.Options{Icount: true, Timeout: 30 * time.Second})
	require.NoError(t, err)
	require.Equal(t, 0, res.ExitCode, "exit code, COM1 %q", res.Serial)
	v, err := strconv.ParseUint(strings.TrimSpace(string(res.Serial)), 16, 64)
	require.NoError(t, err, "COM1 %q", res.Serial)
	return v
}

// Under -icount shift=0 the guest's time stamp counter counts executed
// instructions: the same loop gives the same count on every run, and the
// count grows by 3 per iteration (add, dec, jne).
func TestRdtscCountsInstructionsExactly(t *testing.T) {
	needQEMU(t)
	a := countInstructions(t, 1000)
	b := countInstructions(t, 1000)
	c := countInstructions(t, 2000)
	assert.Equal(t, a, b, "two runs counted")
	assert.Equal(t, uint64(3000), c-a, "instructions more for 1000 more iterations (counts %d, %d)", a, c)
	t.Logf("rdtsc around 1000 iterations: %d", a)
}

func TestTimeout(t *testing.T) {
	needQEMU(t)
	img := bootSector(t, func(p *x86.Program) {
		p.Label("forever")
		p.I(x86.JMP, x86.Label("forever"))
	})
	start := time.Now()
	_, err := qemu.BootBytes(context.Background(), img, qemu.Options{Timeout: 2 * time.Second})
	require.ErrorContains(t, err, "timed out")
	assert.LessOrEqual(t, time.Since(start), 20*time.Second, "time to stop")
}

func TestArgs(t *testing.T) {
	got := strings.Join(qemu.Args("d.img", qemu.Options{Icount: true}), " ")
	for _, want := range []string{"-machine accel=tcg", "-nodefaults", "-display none", "-serial stdio",
		fmt.Sprintf("isa-debug-exit,iobase=%#x", ioport.DebugExit), "-icount shift=0,sleep=off", "file=d.img,format=raw"} {
		assert.Contains(t, got, want, "args")
	}
}
