package runtime

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"tfc/qemu"

	. "tfc/codegen/x86_16"
)

// boot runs an image in QEMU; it skips the test when QEMU is missing.
func boot(t *testing.T, img []byte, timeout time.Duration) *qemu.Result {
	t.Helper()
	if !qemu.Available() {
		t.Skip(qemu.ErrNotInstalled)
	}
	res, err := qemu.BootBytes(context.Background(), img, qemu.Options{Timeout: timeout})
	if err != nil {
		t.Fatalf("boot: %v (COM1 %q)", err, res.Serial)
	}
	return res
}

// emitCheckEntry exits with code 3 unless the boot sector handed over as
// promised: DS = ES = 0, the direction flag clear; the full sector also
// FS = GS = 0 (flat) and SP = DriveAddr holding the drive, the lean one
// SP = StackTop.
func emitCheckEntry(p *Program, flat, lean bool) {
	p.I(MOV, AX, DS)
	p.I(MOV, CX, ES)
	p.I(OR, AX, CX)
	if flat && !lean {
		p.I(MOV, CX, FS)
		p.I(OR, AX, CX)
		p.I(MOV, CX, GS)
		p.I(OR, AX, CX)
	}
	p.I(PUSHF)
	p.I(POP, CX)
	p.I(AND, CX, Imm(0x400))
	p.I(OR, AX, CX)
	p.I(MOV, CX, SP)
	if lean {
		p.I(XOR, CX, Imm(StackTop))
		p.I(OR, AX, CX)
	} else {
		p.I(XOR, CX, Imm(DriveAddr))
		p.I(OR, AX, CX)
		p.I(CMP, B(Abs16(DriveAddr)), Imm(0x80))
		p.I(JNE, Label("entry.bad"))
	}
	p.I(TEST, AX, AX)
	p.I(JZ, Label("entry.ok"))
	p.Label("entry.bad")
	p.I(MOV, AL, Imm(3))
	p.I(CALL, Label(Exit))
	p.Label("entry.ok")
}

// emitPrintHex prints EDX as eight hex digits.
func emitPrintHex(p *Program) {
	p.I(MOV, CX, Imm(8))
	p.Label("hex.loop")
	p.I(ROL, EDX, Imm(4))
	p.I(MOV, AL, DL)
	p.I(AND, AL, Imm(15))
	p.I(CMP, AL, Imm(10))
	p.I(SBB, AL, Imm(0x69))
	p.DB(0x2F) // das
	p.I(CALL, Label(Putc))
	p.I(LOOP, Label("hex.loop"))
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
	if err := os.WriteFile(src, []byte(listing), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("nasm", "-f", "bin", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("nasm: %v\n%s", err, out)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
