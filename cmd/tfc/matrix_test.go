package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/bochs"
	"tfc/qemu"
)

// matrixSteps keeps each boot short: the matrix is about booting.
const matrixSteps = "8"

// A machine of the matrix: how an image is booted.
type machine struct {
	name string
	qemu qemu.Options // unless bochs
	// bochs boots in Bochs with its own BIOS.
	bochs bool
	// bpb writes a floppy's BIOS parameter block over bytes 3 to 61 of
	// the image first, as a BIOS that boots a USB drive as a floppy does.
	bpb bool
	// floppyOnly: the image must fit a 1.44 MB floppy.
	floppy bool
}

var machines = []machine{
	{name: "pc", qemu: qemu.Options{}},
	{name: "q35", qemu: qemu.Options{Machine: "q35"}},
	{name: "usb", qemu: qemu.Options{Disk: "usb"}},
	{name: "floppy", qemu: qemu.Options{Disk: "floppy"}, floppy: true},
	{name: "cpu486", qemu: qemu.Options{CPU: "486"}},
	{name: "bpb", qemu: qemu.Options{}, bpb: true},
	{name: "bochs", bochs: true},
}

// A build of the matrix: the flags given to tfc build.
var matrixBuilds = []struct{ name, flags string }{
	{"-Os", "-Os --boot full"},
	{"-Os lean", "-Os --boot lean"},
	{"-O2", "-O2"},
}

// leanFails are the cells where the lean boot sector does not boot, as
// spec.md says: a floppy has no INT 13h extensions, and the lean sector
// has no CHS reads.
var leanFails = map[string]string{"floppy": "E"}

// TestMatrix boots each example, built at -Os (the full boot path and the
// lean sector) and -O2, on every machine of the matrix, and compares COM1
// with tfc sim. README's table is what it shows.
func TestMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED: -short")
	}
	needModels(t)
	needQEMU(t)
	for _, ex := range []string{"llama2-int8", "llama2"} {
		f := "../../examples/" + ex + ".tf"
		sim := tfc(t, "sim", f, "--steps", matrixSteps)
		for _, b := range matrixBuilds {
			img := filepath.Join(t.TempDir(), "disk.img")
			tfc(t, append(append([]string{"build", f, "--steps", matrixSteps}, strings.Fields(b.flags)...), "-o", img)...)
			for _, m := range machines {
				t.Run(fmt.Sprintf("%s/%s/%s", ex, b.name, m.name), func(t *testing.T) {
					t.Parallel()
					want, code := sim, 0
					if msg, ok := leanFails[m.name]; ok && strings.Contains(b.flags, "lean") {
						want, code = msg, 2
					}
					got, exit := bootMachine(t, img, m, len(want))
					// Not assert.Equal: what a failed boot printed can be
					// long, and clip shortens it.
					assert.True(t, got == want, "COM1 %q, exit %d\nwant %q", clip(got), exit, want)
					assert.Contains(t, []int{code, -2}, exit, "exit code (-2: Bochs, which has no exit port)")
				})
			}
		}
	}
}

// TestMatrixMemory: a flat image on a machine with less memory than it
// needs says so, on QEMU and on Bochs.
func TestMatrixMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED: -short")
	}
	needModels(t)
	needQEMU(t)
	const want = "not enough memory\n"
	for _, opt := range []string{"-Os", "-O2"} {
		img := filepath.Join(t.TempDir(), "disk.img")
		tfc(t, "build", "../../examples/llama2.tf", opt, "--boot", "full", "--steps", matrixSteps, "-o", img)
		for _, m := range []machine{{name: "pc"}, {name: "bochs", bochs: true}} {
			t.Run(opt+"/"+m.name, func(t *testing.T) {
				t.Parallel()
				got, exit := bootMachineMem(t, img, m, len(want), 1)
				assert.True(t, got == want, "COM1 %q, exit %d; want %q", clip(got), exit, want)
				assert.Contains(t, []int{2, -2}, exit, "exit code (-2: Bochs, which has no exit port)")
			})
		}
	}
}

func bootMachine(t *testing.T, img string, m machine, n int) (string, int) {
	return bootMachineMem(t, img, m, n, 0)
}

// bootMachineMem boots img on m (memoryMiB: 0 for the default) and
// returns COM1 and the exit code (-2 under Bochs, which has no exit
// port: it stops once n bytes have come).
func bootMachineMem(t *testing.T, img string, m machine, n, memoryMiB int) (string, int) {
	t.Helper()
	if m.bpb || m.floppy {
		b, err := os.ReadFile(img)
		require.NoError(t, err)
		if m.floppy && len(b) > qemu.FloppyBytes {
			t.Skipf("SKIPPED: the image is %d bytes, more than a 1.44 MB floppy", len(b))
		}
		if m.bpb {
			copy(b[3:62], floppyBPB())
		}
		img = filepath.Join(t.TempDir(), "disk.img")
		require.NoError(t, os.WriteFile(img, b, 0o644))
	}
	if m.bochs {
		if !bochs.Available() {
			t.Skip("SKIPPED: " + bochs.ErrNotInstalled.Error())
		}
		res, err := bochs.Boot(context.Background(), img, bochs.Options{Timeout: 2 * time.Minute, MemoryMiB: memoryMiB,
			Until: func(b []byte) bool { return len(b) >= n }})
		if err != nil && res != nil {
			err = fmt.Errorf("%w (COM1 %q)", err, clip(string(res.Serial)))
		}
		require.NoError(t, err)
		return string(res.Serial), -2
	}
	o := m.qemu
	o.Timeout = 2 * time.Minute
	o.MemoryMiB = memoryMiB
	res, err := qemu.Boot(context.Background(), img, o)
	if err != nil && res != nil {
		err = fmt.Errorf("%w (COM1 %q)", err, clip(string(res.Serial)))
	}
	require.NoError(t, err)
	return string(res.Serial), res.ExitCode
}

// floppyBPB is a 1.44 MB floppy's BIOS parameter block, bytes 3 to 61 of
// its boot sector (FAT12, DOS 4.0 extended).
func floppyBPB() []byte {
	b := make([]byte, 59)
	copy(b[0:], "MSWIN4.1")
	le := binary.LittleEndian
	le.PutUint16(b[8:], 512) // bytes per sector (offset 11)
	b[10] = 1                // sectors per cluster
	le.PutUint16(b[11:], 1)  // reserved sectors
	b[13] = 2                // FATs
	le.PutUint16(b[14:], 224)
	le.PutUint16(b[16:], 2880)
	b[18] = 0xF0
	le.PutUint16(b[19:], 9)  // sectors per FAT
	le.PutUint16(b[21:], 18) // sectors per track
	le.PutUint16(b[23:], 2)  // heads
	b[33] = 0                // drive number (offset 36)
	b[35] = 0x29             // extended boot signature
	le.PutUint32(b[36:], 0x12345678)
	copy(b[40:], "NO NAME    FAT12   ")
	return b
}

// clip shortens what a failed boot printed for a test's message.
func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
