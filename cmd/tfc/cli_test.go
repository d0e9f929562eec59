package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/qemu"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// Exit codes: 0 success, 1 bad input or a failed build, 2 bad usage.
func TestExitCodesAndMessages(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.tf")
	cut := filepath.Join(dir, "cut.img")
	wide := variant(t, dir, "mha-random", "wide.tf", "vocab    = 256", "vocab    = 1100") // its embedding table passes 64 KiB
	typed := variant(t, dir, "mha-random", "typed.tf", `prompt = ""`, "prompt = typed")
	code, _, stderr := runCLI("build", "../../examples/gelu-random.tf", "-o", cut)
	require.Equal(t, 0, code, "tfc build: exit code; stderr:\n%s", stderr)
	require.NoError(t, os.Truncate(cut, 196*512))
	require.NoError(t, os.WriteFile(bad, []byte("model x\nweights checkpoint \"nosuch.bin\"\ntokenizer synthetic\nconfig {\n  dim = 8 hidden = 8 layers = 1 heads = 2 kv_heads = 2 vocab = 8 context = 8\n}\nforward { next = argmax(x) }\n"), 0o644))
	for _, c := range []struct {
		args   []string
		code   int
		stderr string // a line stderr must contain
	}{
		{nil, 2, "Usage:"},
		{[]string{"frob"}, 2, `unknown command "frob"`},
		{[]string{"sim"}, 2, "want one input file, got 0"},
		{[]string{"sim", "a.tf", "b.tf"}, 2, "want one input file, got 2"},
		{[]string{"sim", "--nosuchflag", "a.tf"}, 2, "flag provided but not defined: -nosuchflag"},
		{[]string{"sim", filepath.Join(dir, "nosuch.tf")}, 1, "no such file or directory"},
		{[]string{"sim", bad}, 1, bad + `:2:1: open nosuch.bin: no such file or directory`},
		{[]string{"build", "../../examples/gelu-random.tf", "-Os", "-O2", "-o", filepath.Join(dir, "x.img")}, 2, "-Os and -O2 exclude each other"},
		{[]string{"build", wide, "--memory", "segmented", "-o", filepath.Join(dir, "x.img")}, 1, "more than a 64 KiB segment"},
		{[]string{"build", "../../examples/gelu-random.tf", "--memory", "paged", "-o", filepath.Join(dir, "x.img")}, 1, `unknown memory model "paged"`},
		{[]string{"build", "--selftest", typed, "-o", filepath.Join(dir, "x.img")}, 1, "typed.tf:4:1: --selftest needs the prompt in the file or --prompt: a typed prompt is the user's"},
		{[]string{"sim", "../../examples/gelu-random.tf", "-d", "nosuch"}, 1, "-d nosuch: no such pass"},
		{[]string{"run", "../../examples/gelu-random.img", "--steps", "3"}, 2, "--prompt, --steps and llama2.c's -n -i -t -p -s -z need a .tf file"},
		{[]string{"run", "../../examples/gelu-random.img", "-t", "0.5"}, 2, "need a .tf file: an image's prompt and sampler are built in"},
		{[]string{"run", "../../README.md"}, 1, "tfc: ../../README.md: not a tfc image: no boot signature (0x55 0xAA) at the end of its first sector\n"},
		{[]string{"run", cut}, 1, "tfc: " + cut + ": a tfc image of 100352 bytes, but its partition table says 1008 sectors: cut short or padded?\n"},
	} {
		code, _, stderr := runCLI(c.args...)
		args := strings.Join(c.args, " ")
		assert.Equal(t, c.code, code, "tfc %s: exit code; stderr:\n%s", args, stderr)
		assert.Contains(t, stderr, c.stderr, "tfc %s: stderr", args)
		assert.NotContains(t, stderr, "goroutine", "tfc %s: a panic", args)
		assert.NotContains(t, stderr, "panic", "tfc %s: a panic", args)
	}
}

// tfc check accepts what builds and refuses, with the build's message and
// a position, what does not; tfc sim refuses it too.
func TestCheck(t *testing.T) {
	code, stdout, stderr := runCLI("check", "../../examples/gelu-random.tf")
	assert.Equal(t, 0, code, "tfc check gelu-random: exit code (stderr %q)", stderr)
	assert.Equal(t, "../../examples/gelu-random.tf: ok\n", stdout, "tfc check gelu-random: stdout (stderr %q)", stderr)
	// Random weights are not drawn: stories15M's shape (15M weights) is
	// checked from its shapes.
	code, stdout, stderr = runCLI("check", "../../testdata/tinyllamas/stories15M.tf")
	assert.Equal(t, 0, code, "tfc check stories15M: exit code (stderr %q)", stderr)
	assert.Equal(t, "../../testdata/tinyllamas/stories15M.tf: ok\n", stdout, "tfc check stories15M: stdout (stderr %q)", stderr)
	dir := t.TempDir()
	src, err := os.ReadFile("../../examples/mha-random.tf")
	require.NoError(t, err)
	big := filepath.Join(dir, "big.tf")
	require.NoError(t, os.WriteFile(big, []byte(strings.Replace(string(src), "vocab    = 256", "vocab    = 1100", 1)), 0o644))
	// sample() over more tokens than a 32-bit sum of softmax weights holds
	// (flat: its embedding table is more than a 64 KiB segment).
	code, _, stderr = runCLI("build", "-o", filepath.Join(dir, "x.img"), big)
	assert.Equal(t, 0, code, "tfc build big.tf: exit code (stderr %q)", stderr)
	assert.Contains(t, stderr, "flat memory model", "tfc build big.tf: stderr")
	for _, args := range [][]string{{"check"}, {"build", "-o", filepath.Join(dir, "x.img")}} {
		code, _, stderr = runCLI(append(args, "--memory", "segmented", big)...)
		assert.Equal(t, 1, code, "tfc %s --memory segmented big.tf: exit code (stderr %q)", args[0], stderr)
		assert.Contains(t, stderr, "big.tf:4:1: segmented memory model: token_embedding is 145200 bytes, more than a 64 KiB segment",
			"tfc %s --memory segmented big.tf: stderr", args[0])
	}
}

// A check error shows the source line and a caret under the column.
func TestErrorShowsLineAndCaret(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.tf")
	require.NoError(t, os.WriteFile(bad, []byte("model x\nweights random seed 1\ntokenizer synthetic\nconfig {\n  dim = 8\n  hidden = 8\n  layers = 1\n  heads = 3\n  kv_heads = 1\n  vocab = 8\n  context = 8\n}\nforward { next = argmax(x) }\n"), 0o644))
	code, _, stderr := runCLI("sim", bad)
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	require.Equal(t, 1, code, "exit code; stderr:\n%s", stderr)
	require.Len(t, lines, 3, "stderr's lines:\n%s", stderr)
	require.True(t, strings.HasPrefix(lines[0], bad+":8:"), "stderr's first line %q, want it to start with %q", lines[0], bad+":8:")
	require.True(t, strings.HasSuffix(lines[2], "^"), "stderr's last line %q, want a caret at its end", lines[2])
	assert.Equal(t, "  heads = 3", lines[1], "source line")
}

func TestHelp(t *testing.T) {
	for _, cmd := range []string{"build", "run", "sim", "check", "asm", "size"} {
		code, _, stderr := runCLI(cmd, "--help")
		assert.Equal(t, 0, code, "tfc %s --help: exit code", cmd)
		assert.Contains(t, stderr, "Usage: tfc "+cmd, "tfc %s --help: stderr", cmd)
	}
	code, stdout, _ := runCLI("--help")
	assert.Equal(t, 0, code, "tfc --help: exit code")
	assert.Contains(t, stdout, "tfc run FILE.tf|disk.img", "tfc --help: stdout")
}

// tfc size lists regions that add up to the total it prints; --json
// carries the same numbers.
func TestSize(t *testing.T) {
	code, stdout, stderr := runCLI("size", "../../examples/gelu-random.tf")
	require.Equal(t, 0, code, "exit code; stderr: %s", stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	sum := 0
	for _, l := range lines[:len(lines)-2] {
		var n int
		var name string
		_, err := fmt.Sscan(l, &n, &name)
		require.NoError(t, err, "line %q", l)
		sum += n
	}
	var total int
	_, err := fmt.Sscanf(lines[len(lines)-1], "code %d bytes", &total)
	assert.NoError(t, err, "last line %q", lines[len(lines)-1])
	assert.Equal(t, sum, total, "last line %q: the total (expected: what the regions add up to)", lines[len(lines)-1])
	code, stdout, _ = runCLI("size", "--json", "../../examples/gelu-random.tf")
	var j struct {
		Code    int `json:"code_bytes"`
		Regions []struct {
			Name  string `json:"name"`
			Bytes int    `json:"bytes"`
		} `json:"regions"`
	}
	assert.NoError(t, json.Unmarshal([]byte(stdout), &j), "--json")
	assert.Equal(t, 0, code, "--json: exit code")
	assert.Equal(t, total, j.Code, "--json: code_bytes")
	assert.Len(t, j.Regions, len(lines)-2, "--json: regions")
}

// Attention over more positions than a 32-bit sum of softmax weights
// holds sums in 64 bits: the model builds.
func TestAttentionPositions(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("../../examples/gelu-random.tf")
	require.NoError(t, err)
	long := filepath.Join(dir, "long.tf")
	require.NoError(t, os.WriteFile(long, []byte(strings.Replace(string(src), "context  = 128", "context  = 2000", 1)), 0o644))
	code, _, stderr := runCLI("build", "-o", filepath.Join(dir, "x.img"), "--steps", "1024", long)
	assert.Equal(t, 0, code, "tfc build: exit code (stderr %q)", stderr)
	assert.NotContains(t, stderr, "error", "tfc build: stderr")
	code, _, stderr = runCLI("check", "--steps", "1023", long)
	assert.Equal(t, 0, code, "tfc check --steps 1023: exit code (stderr %q)", stderr)
}

// llama2.c's flags override the generate block: -n -i -t -p -s, and -t
// above 0 needs sample().
func TestLlama2cFlags(t *testing.T) {
	f := "../../examples/mha-random.tf"
	a := tfc(t, "sim", f, "--steps", "12", "--prompt", "the dog")
	assert.Equal(t, a, tfc(t, "sim", f, "-n", "12", "-i", "the dog"), "-n -i (expected: as --steps --prompt)")
	hot := tfc(t, "sim", f, "-n", "30", "-t", "1.5", "-p", "1", "-s", "5")
	assert.NotEqual(t, hot, tfc(t, "sim", f, "-n", "30", "-t", "0.1", "-p", "1", "-s", "5"), "-t 1.5 and -t 0.1 print the same")
	assert.NotEqual(t, hot, tfc(t, "sim", f, "-n", "30", "-t", "1.5", "-p", "1", "-s", "6"), "-s 5 and -s 6 print the same")
	if qemu.Available() {
		assert.Equal(t, hot, tfc(t, "run", f, "-n", "30", "-t", "1.5", "-p", "1", "-s", "5"), "tfc run -t 1.5 -p 1 -s 5 (expected: as tfc sim)")
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"sim", "../../examples/gelu-random.tf", "-t", "0.8"}, "-t 0.8: the model's final op is argmax, which ignores the temperature"},
		{[]string{"sim", "../../examples/gelu-random.tf", "-s", "4"}, "-p and -s set the sampler of sample(…): the model's final op is argmax"},
		{[]string{"sim", f, "-p", "1.5"}, "-p must be in (0, 1], not 1.5"},
		{[]string{"sim", f, "-t", "-1"}, "-t must be at least 0, not -1"},
		{[]string{"sim", f, "-z", "nosuch.bin"}, "-z: open nosuch.bin: no such file or directory"},
	} {
		code, _, stderr := runCLI(c.args...)
		assert.NotEqual(t, 0, code, "tfc %s: exit code", strings.Join(c.args, " "))
		assert.Contains(t, stderr, c.want, "tfc %s: stderr", strings.Join(c.args, " "))
	}
}
