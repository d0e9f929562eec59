package qemu_test

import (
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	x86 "tfc/codegen/x86_16"
	"tfc/qemu"
)

// A boot sector that writes a white block of text to the top left of the
// screen, then exits with 7: the screenshot shows it, the exit code comes
// through the isa-debugcon socket that stands for the exit port, and
// frames are written while it runs.
func TestScreenshot(t *testing.T) {
	needQEMU(t)
	img := bootSector(t, func(p *x86.Program) {
		p.I(x86.MOV, x86.AX, x86.Imm(0xB800))
		p.I(x86.MOV, x86.ES, x86.AX)
		p.I(x86.XOR, x86.DI, x86.DI)
		p.I(x86.MOV, x86.AX, x86.Imm(0x0FDB)) // a full block, bright white
		p.I(x86.MOV, x86.CX, x86.Imm(80*25))
		p.I(x86.REP | x86.STOSW)
		// Spin a little, so that a frame or two is taken.
		p.I(x86.MOV, x86.ECX, x86.Imm(50_000_000))
		p.Label("spin")
		p.I(x86.DEC, x86.ECX)
		p.I(x86.JNE, x86.Label("spin"))
		p.I(x86.MOV, x86.AL, x86.Imm(7))
		p.I(x86.JMP, x86.Label("exit"))
	})
	dir := t.TempDir()
	shot := filepath.Join(dir, "shot.png")
	frames := filepath.Join(dir, "frames")
	res, err := qemu.BootBytes(context.Background(), img, qemu.Options{Timeout: 30 * time.Second,
		Screenshot: shot, Frames: frames, FrameEvery: 50 * time.Millisecond})
	require.NoError(t, err)
	assert.Equal(t, 7, res.ExitCode, "exit code (QEMU status %d, stderr %q)", res.Status, res.Stderr)
	f, err := os.Open(shot)
	require.NoError(t, err)
	defer f.Close()
	m, err := png.Decode(f)
	require.NoError(t, err)
	assert.Equal(t, image.Rect(0, 0, 720, 400), m.Bounds(), "a text screen of 80x25 9x16 cells")
	r, g, b, _ := m.At(360, 200).RGBA()
	assert.True(t, r > 0xc000 && g > 0xc000 && b > 0xc000, "the middle of the screen is white: %x %x %x", r, g, b)
	names, err := filepath.Glob(filepath.Join(frames, "frame-*.png"))
	require.NoError(t, err)
	assert.Equal(t, res.Frames, len(names))
	assert.GreaterOrEqual(t, len(names), 1)
}

func TestDecodePPM(t *testing.T) {
	m, err := qemu.DecodePPM([]byte("P6\n# a comment\n2 1\n255\n\x01\x02\x03\xff\xfe\xfd"))
	require.NoError(t, err)
	assert.Equal(t, []uint8{1, 2, 3, 0xff, 0xff, 0xfe, 0xfd, 0xff}, m.Pix)
	for _, bad := range []string{"P3\n1 1\n255\n", "P6\n2 2\n255\n\x00", "P6\n1 1\n65535\n\x00\x00\x00\x00\x00\x00", "P6\n1"} {
		_, err := qemu.DecodePPM([]byte(bad))
		assert.Error(t, err, "%q", bad)
	}
}
