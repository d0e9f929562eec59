package main

import (
	"encoding/json"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

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

// tfc fmt: every example is canonical; a file laid out otherwise prints
// canonically, -l lists it, -w rewrites it, after which fmt is a no-op
// and check says the same; a file that does not parse is refused.
func TestFmt(t *testing.T) {
	files, _ := filepath.Glob("../../examples/*.tf")
	require.NotEmpty(t, files)
	for _, f := range files {
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		assert.Equal(t, string(src), tfc(t, "fmt", f), "tfc fmt %s", f)
	}
	code, stdout, stderr := runCLI(append([]string{"fmt", "-l"}, files...)...)
	assert.Equal(t, 0, code, stderr)
	assert.Empty(t, stdout, "tfc fmt -l lists no example")

	dir := t.TempDir()
	src, err := os.ReadFile("../../examples/mha-random.tf")
	require.NoError(t, err)
	// The same program squeezed onto few lines, without alignment.
	messy := regexp.MustCompile(`[ \t]*\n[ \t]*`).ReplaceAllString(regexp.MustCompile(`#.*`).ReplaceAllString(string(src), ""), " ")
	messy = regexp.MustCompile(` +`).ReplaceAllString(messy, " ")
	path := filepath.Join(dir, "messy.tf")
	require.NoError(t, os.WriteFile(path, []byte(messy), 0o644))
	before := tfc(t, "check", path)
	assert.Equal(t, path+"\n", tfc(t, "fmt", "-l", path))
	canon := tfc(t, "fmt", path)
	tfc(t, "fmt", "-w", path)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, canon, string(got))
	assert.Equal(t, "", tfc(t, "fmt", "-l", path))
	assert.Equal(t, before, tfc(t, "check", path))
	// Without its comments and blank lines (fmt keeps those it finds),
	// mha-random's canonical form is the file's.
	stripped := regexp.MustCompile(`(?m)^(#.*)?\n`).ReplaceAllString(string(src), "")
	assert.Equal(t, stripped, canon)

	bad := filepath.Join(dir, "bad.tf")
	require.NoError(t, os.WriteFile(bad, []byte("model m\nconfig {\n  dim = \n}\n"), 0o644))
	code, _, stderr = runCLI("fmt", bad)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, bad+":4:1:")
	code, _, stderr = runCLI("fmt")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "want one or more input files")
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "-version", "version"} {
		assert.Regexp(t, `^tfc \S+ .*go1\.\d+.* \w+/\w+\n$`, tfc(t, arg))
	}
}

// Help texts write flags as the README does: --name, and -o, -d, -w, -l,
// -Os, -O2 with one dash.
func TestHelpFlagForm(t *testing.T) {
	for _, cmd := range []string{"build", "run", "sim", "check", "asm", "size", "web", "fmt"} {
		code, _, stderr := runCLI(cmd, "--help")
		require.Equal(t, 0, code, cmd)
		assert.Contains(t, stderr, "Usage: tfc "+cmd)
		for _, line := range strings.Split(stderr, "\n") {
			if m := regexp.MustCompile(`^  (-+)(\w+)`).FindStringSubmatch(line); m != nil {
				assert.Equal(t, flagName(m[2]), m[1]+m[2], "tfc %s --help: %q", cmd, line)
			}
		}
	}
	assert.Equal(t, "--steps", flagName("steps"))
	assert.Equal(t, "-o", flagName("o"))
	assert.Equal(t, "-O2", flagName("O2"))
}

// Progress: on a terminal, after a while, a line naming the phase that is
// rewritten in place and cleared at the end; elsewhere nothing.
func TestProgress(t *testing.T) {
	var buf strings.Builder
	assert.Nil(t, startProgress(&buf), "not a terminal: no progress")
	var none *progress
	none.Phase("x") // a nil progress does nothing
	none.Stop()

	// The ticker is an hour away, so the test draws each line itself: a
	// sleep between phases was a race on a loaded machine (CI saw the first
	// tick land after the second phase began).
	w := &lockedBuffer{}
	p := newProgress(w, 0, time.Hour)
	p.Phase("loading the weights")
	p.draw()
	p.Phase("generating code")
	p.draw()
	p.Stop()
	p.Stop() // twice is fine
	out := w.String()
	assert.Regexp(t, `^\r\x1b\[Ktfc: loading the weights… \d+\.\d s`, out)
	assert.Contains(t, out, "\r\x1b[Ktfc: generating code… ")
	assert.True(t, strings.HasSuffix(out, " s\r\x1b[K"), "cleared at the end: %q", out)

	// A build whose stderr is no terminal prints no progress.
	code, _, stderr := runCLI("build", "../../examples/gelu-random.tf", "-o", filepath.Join(t.TempDir(), "x.img"))
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, stderr, "\r")
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
