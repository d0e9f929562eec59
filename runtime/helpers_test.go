package runtime

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tfc/qemu"

	x86 "tfc/codegen/x86_16"
)

// boot runs an image in QEMU; it skips the test when QEMU is missing.
func boot(t *testing.T, img []byte, timeout time.Duration) *qemu.Result {
	t.Helper()
	if !qemu.Available() {
		t.Skip(qemu.ErrNotInstalled)
	}
	res, err := qemu.BootBytes(context.Background(), img, qemu.Options{Timeout: timeout})
	require.NoError(t, err, "boot (COM1 %q)", res.Serial)
	return res
}

// emitCheckEntry exits with code 3 unless the boot sector handed over as
// promised: DS = ES = 0, the direction flag clear; the full sector also
// FS = GS = 0 (flat) and SP = DriveAddr holding the drive, the lean one
// SP = StackTop.
func emitCheckEntry(p *x86.Program, flat, lean bool) {
	p.I(x86.MOV, x86.AX, x86.DS)
	p.I(x86.MOV, x86.CX, x86.ES)
	p.I(x86.OR, x86.AX, x86.CX)
	if flat && !lean {
		p.I(x86.MOV, x86.CX, x86.FS)
		p.I(x86.OR, x86.AX, x86.CX)
		p.I(x86.MOV, x86.CX, x86.GS)
		p.I(x86.OR, x86.AX, x86.CX)
	}
	p.I(x86.PUSHF)
	p.I(x86.POP, x86.CX)
	p.I(x86.AND, x86.CX, x86.Imm(0x400))
	p.I(x86.OR, x86.AX, x86.CX)
	p.I(x86.MOV, x86.CX, x86.SP)
	if lean {
		p.I(x86.XOR, x86.CX, x86.Imm(StackTop))
		p.I(x86.OR, x86.AX, x86.CX)
	} else {
		p.I(x86.XOR, x86.CX, x86.Imm(DriveAddr))
		p.I(x86.OR, x86.AX, x86.CX)
		p.I(x86.CMP, x86.B(x86.Abs16(DriveAddr)), x86.Imm(0x80))
		p.I(x86.JNE, x86.Label("entry.bad"))
	}
	p.I(x86.TEST, x86.AX, x86.AX)
	p.I(x86.JZ, x86.Label("entry.ok"))
	p.Label("entry.bad")
	p.I(x86.MOV, x86.AL, x86.Imm(3))
	p.I(x86.CALL, x86.Label(Exit))
	p.Label("entry.ok")
}

// emitPrintHex prints EDX as eight hex digits.
func emitPrintHex(p *x86.Program) {
	p.I(x86.MOV, x86.CX, x86.Imm(8))
	p.Label("hex.loop")
	p.I(x86.ROL, x86.EDX, x86.Imm(4))
	p.I(x86.MOV, x86.AL, x86.DL)
	p.I(x86.AND, x86.AL, x86.Imm(15))
	p.I(x86.CMP, x86.AL, x86.Imm(10))
	p.I(x86.SBB, x86.AL, x86.Imm(0x69))
	p.DB(0x2F) // das
	p.I(x86.CALL, x86.Label(Putc))
	p.I(x86.LOOP, x86.Label("hex.loop"))
}

// haveNASM skips the test without nasm.
func haveNASM(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("nasm"); err != nil {
		t.Skip("nasm is not installed")
	}
}

// nasm assembles a listing with nasm -f bin.
func nasm(t *testing.T, listing string) []byte {
	t.Helper()
	dir := t.TempDir()
	src, bin := filepath.Join(dir, "a.asm"), filepath.Join(dir, "a.bin")
	require.NoError(t, os.WriteFile(src, []byte(listing), 0o644))
	out, err := exec.Command("nasm", "-f", "bin", "-o", bin, src).CombinedOutput()
	require.NoError(t, err, "nasm\n%s", out)
	b, err := os.ReadFile(bin)
	require.NoError(t, err)
	return b
}
