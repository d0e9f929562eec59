package qemu_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	. "tfc/codegen/x86_16"
	"tfc/qemu"
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
func bootSector(t *testing.T, body func(p *Program)) []byte {
	t.Helper()
	var p Program
	p.I(CLI)
	p.I(XOR, AX, AX)
	p.I(MOV, DS, AX)
	p.I(MOV, SS, AX)
	p.I(MOV, SP, Imm(0x7C00))
	p.I(CLD)
	body(&p)
	// print: SI = string, to COM1.
	p.Label("print")
	p.I(MOV, DX, Imm(0x3F8))
	p.Label("print.next")
	p.I(LODSB)
	p.I(TEST, AL, AL)
	p.I(JE, Label("print.done"))
	p.I(OUT, DX, AL)
	p.I(JMP, Label("print.next"))
	p.Label("print.done")
	p.I(RET)
	p.Label("exit")
	p.I(OUT, Imm(qemu.DebugExitPort), AL)
	p.Label("halt")
	p.I(HLT)
	p.I(JMP, Label("halt"))
	p.PadTo(510, 0)
	p.DB(0x55, 0xAA)
	b, err := p.Assemble(0x7C00)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 512 {
		t.Fatalf("boot sector is %d bytes", len(b))
	}
	return b
}

func TestBootPrintsAndExits(t *testing.T) {
	needQEMU(t)
	const msg = "hello from the boot sector\n"
	img := bootSector(t, func(p *Program) {
		p.I(MOV, SI, ImmLabel{Name: "msg"})
		p.I(CALL, Label("print"))
		p.I(MOV, AL, Imm(42))
		p.I(JMP, Label("exit"))
		p.Label("msg")
		p.DB(append([]byte(msg), 0)...)
	})
	res, err := qemu.BootBytes(context.Background(), img, qemu.Options{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Serial) != msg {
		t.Errorf("COM1 = %q, want %q", res.Serial, msg)
	}
	if res.ExitCode != 42 {
		t.Errorf("exit code %d, want 42 (QEMU status %d)", res.ExitCode, res.Status)
	}
}

// rdtscImage times a fixed loop of n iterations with rdtsc and prints the
// 64-bit difference in hex.
func rdtscImage(t *testing.T, n int) []byte {
	return bootSector(t, func(p *Program) {
		p.I(RDTSC)
		p.I(MOV, ESI, EAX)
		p.I(MOV, EDI, EDX)
		p.I(MOV, ECX, Imm(int64(n)))
		p.Label("spin")
		p.I(ADD, EBX, ECX)
		p.I(DEC, ECX)
		p.I(JNE, Label("spin"))
		p.I(RDTSC)
		p.I(SUB, EAX, ESI)
		p.I(SBB, EDX, EDI)
		// Print edx:eax as 16 hex digits.
		p.I(MOV, ESI, EAX)
		p.I(MOV, EBX, EDX)
		p.I(MOV, CX, Imm(16))
		p.I(MOV, DX, Imm(0x3F8))
		p.Label("hex")
		p.I(MOV, EAX, EBX)
		p.I(SHR, EAX, Imm(28))
		p.I(SHLD, EBX, ESI, Imm(4))
		p.I(SHL, ESI, Imm(4))
		p.I(ADD, AL, Imm('0'))
		p.I(CMP, AL, Imm('9'))
		p.I(JBE, Label("digit"))
		p.I(ADD, AL, Imm('a'-'0'-10))
		p.Label("digit")
		p.I(OUT, DX, AL)
		p.I(DEC, CX)
		p.I(JNE, Label("hex"))
		p.I(MOV, AL, Imm(0))
		p.I(JMP, Label("exit"))
	})
}

func countInstructions(t *testing.T, n int) uint64 {
	res, err := qemu.BootBytes(context.Background(), rdtscImage(t, n), qemu.Options{Icount: true, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("exit code %d, COM1 %q", res.ExitCode, res.Serial)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(res.Serial)), 16, 64)
	if err != nil {
		t.Fatalf("COM1 %q: %v", res.Serial, err)
	}
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
	if a != b {
		t.Errorf("two runs counted %d and %d", a, b)
	}
	if c-a != 3000 {
		t.Errorf("1000 more iterations counted %d more instructions, want 3000 (counts %d, %d)", c-a, a, c)
	}
	t.Logf("rdtsc around 1000 iterations: %d", a)
}

func TestTimeout(t *testing.T) {
	needQEMU(t)
	img := bootSector(t, func(p *Program) {
		p.Label("forever")
		p.I(JMP, Label("forever"))
	})
	start := time.Now()
	_, err := qemu.BootBytes(context.Background(), img, qemu.Options{Timeout: 2 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if el := time.Since(start); el > 20*time.Second {
		t.Errorf("took %v to stop", el)
	}
}

func TestArgs(t *testing.T) {
	got := strings.Join(qemu.Args("d.img", qemu.Options{Icount: true}), " ")
	for _, want := range []string{"-machine accel=tcg", "-nodefaults", "-display none", "-serial stdio",
		fmt.Sprintf("isa-debug-exit,iobase=%#x", qemu.DebugExitPort), "-icount shift=0,sleep=off", "file=d.img,format=raw"} {
		if !strings.Contains(got, want) {
			t.Errorf("args %q lack %q", got, want)
		}
	}
}
