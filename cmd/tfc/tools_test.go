package main

import (
	"encoding/json"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tfc run --screenshot writes the screen the image left, as PNG: a text
// screen of 80x25 cells of 9x16 pixels, with the story on it.
func TestRunScreenshot(t *testing.T) {
	needQEMU(t)
	shot := filepath.Join(t.TempDir(), "shot.png")
	code, stdout, stderr := runCLI("run", "../../examples/gelu-random.tf", "--steps", "16", "--screenshot", shot)
	require.Equal(t, 0, code, stderr)
	require.NotEmpty(t, stdout)
	f, err := os.Open(shot)
	require.NoError(t, err)
	defer f.Close()
	m, err := png.Decode(f)
	require.NoError(t, err)
	assert.Equal(t, image.Rect(0, 0, 720, 400), m.Bounds())
	lit := 0
	for y := 0; y < 400; y++ {
		for x := 0; x < 720; x++ {
			if r, _, _, _ := m.At(x, y).RGBA(); r > 0x8000 {
				lit++
			}
		}
	}
	assert.Greater(t, lit, 500, "pixels of text on the screen")
}

// tfc run disk.img --bench: an image without the bench counters reports
// the story's bytes per second; one that tfc build --bench made reports
// tokens and cycles.
func TestBenchImageFile(t *testing.T) {
	needQEMU(t)
	dir := t.TempDir()
	plain, counted := filepath.Join(dir, "plain.img"), filepath.Join(dir, "bench.img")
	tfc(t, "build", "../../examples/gelu-random.tf", "-o", plain)
	tfc(t, "build", "--bench", "../../examples/gelu-random.tf", "-o", counted)
	code, _, stderr := runCLI("run", plain, "--bench")
	assert.Equal(t, 0, code, stderr)
	assert.Regexp(t, `tfc: bench: \d+ bytes of story; [0-9.]+ bytes/s .* the image has no bench counters`, stderr)
	code, _, stderr = runCLI("run", counted, "--bench")
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "tfc: bench: 64 tokens;")
}

// build, size and run give one figure for the data.
func TestDataFiguresAgree(t *testing.T) {
	dir := t.TempDir()
	for _, ex := range []string{"gelu-random", "mha-random"} {
		f := "../../examples/" + ex + ".tf"
		var size struct {
			Data int `json:"data_bytes"`
		}
		require.NoError(t, json.Unmarshal([]byte(tfc(t, "size", "--json", f)), &size))
		code, _, stderr := runCLI("build", f, "-o", filepath.Join(dir, ex+".img"))
		require.Equal(t, 0, code, stderr)
		m := regexp.MustCompile(`data (\d+) bytes`).FindStringSubmatch(stderr)
		require.NotNil(t, m, stderr)
		assert.Equal(t, itoa(size.Data), m[1], "%s: tfc build says %q, tfc size --json %d", ex, m[0], size.Data)
		text := tfc(t, "size", f)
		assert.Contains(t, text, "data "+itoa(size.Data)+" bytes", ex)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
