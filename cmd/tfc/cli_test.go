package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	if code, _, stderr := runCLI("build", "../../examples/gelu-random.tf", "-o", cut); code != 0 {
		t.Fatal(stderr)
	}
	if err := os.Truncate(cut, 196*512); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(bad, []byte("model x\nweights checkpoint \"nosuch.bin\"\ntokenizer synthetic\nconfig {\n  dim = 8 hidden = 8 layers = 1 heads = 2 kv_heads = 2 vocab = 8 context = 8\n}\nforward { next = argmax(x) }\n"), 0o644)
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
		if code != c.code || !strings.Contains(stderr, c.stderr) {
			t.Errorf("tfc %s: exit %d, stderr:\n%s\nwant exit %d and %q", strings.Join(c.args, " "), code, stderr, c.code, c.stderr)
		}
		if strings.Contains(stderr, "goroutine") || strings.Contains(stderr, "panic") {
			t.Errorf("tfc %s: a panic:\n%s", strings.Join(c.args, " "), stderr)
		}
	}
}

// tfc check accepts what builds and refuses, with the build's message and
// a position, what does not; tfc sim refuses it too.
func TestCheck(t *testing.T) {
	code, stdout, stderr := runCLI("check", "../../examples/gelu-random.tf")
	if code != 0 || stdout != "../../examples/gelu-random.tf: ok\n" {
		t.Errorf("tfc check gelu-random: exit %d, %q %q", code, stdout, stderr)
	}
	// Random weights are not drawn: stories15M's shape (15M weights) is
	// checked from its shapes.
	code, stdout, stderr = runCLI("check", "../../testdata/tinyllamas/stories15M.tf")
	if code != 0 || stdout != "../../testdata/tinyllamas/stories15M.tf: ok\n" {
		t.Errorf("tfc check stories15M: exit %d, %q %q", code, stdout, stderr)
	}
	dir := t.TempDir()
	src, err := os.ReadFile("../../examples/mha-random.tf")
	if err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.tf")
	os.WriteFile(big, []byte(strings.Replace(string(src), "vocab    = 256", "vocab    = 1100", 1)), 0o644)
	// sample() over more tokens than the templates' 32-bit sum holds: the
	// loop code generator takes it (flat: its embedding table is more than
	// a 64 KiB segment).
	code, _, stderr = runCLI("build", "-o", filepath.Join(dir, "x.img"), big)
	if want := "tfc: -Os: the loop code generator, since sample() over 1100 tokens (the template kernels sum their softmax weights in 32 bits, which hold 1023)"; code != 0 || !strings.Contains(stderr, want) {
		t.Errorf("tfc build big.tf: exit %d, %q, want %q", code, stderr, want)
	}
	for _, args := range [][]string{{"check"}, {"build", "-o", filepath.Join(dir, "x.img")}} {
		code, _, stderr = runCLI(append(args, "--memory", "segmented", big)...)
		if want := "big.tf:4:1: segmented memory model: token_embedding is 145200 bytes, more than a 64 KiB segment"; code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("tfc %s --memory segmented big.tf: exit %d, %q, want %q", args[0], code, stderr, want)
		}
	}
}

// A check error shows the source line and a caret under the column.
func TestErrorShowsLineAndCaret(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.tf")
	cut := filepath.Join(dir, "cut.img")
	if code, _, stderr := runCLI("build", "../../examples/gelu-random.tf", "-o", cut); code != 0 {
		t.Fatal(stderr)
	}
	if err := os.Truncate(cut, 196*512); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(bad, []byte("model x\nweights random seed 1\ntokenizer synthetic\nconfig {\n  dim = 8\n  hidden = 8\n  layers = 1\n  heads = 3\n  kv_heads = 1\n  vocab = 8\n  context = 8\n}\nforward { next = argmax(x) }\n"), 0o644)
	code, _, stderr := runCLI("sim", bad)
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	if code != 1 || len(lines) != 3 || !strings.HasPrefix(lines[0], bad+":8:") || !strings.HasSuffix(lines[2], "^") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if lines[1] != "  heads = 3" {
		t.Errorf("source line %q", lines[1])
	}
}

func TestHelp(t *testing.T) {
	for _, cmd := range []string{"build", "run", "sim", "check", "asm", "size"} {
		code, _, stderr := runCLI(cmd, "--help")
		if code != 0 || !strings.Contains(stderr, "Usage: tfc "+cmd) {
			t.Errorf("tfc %s --help: exit %d, %q", cmd, code, stderr)
		}
	}
	code, stdout, _ := runCLI("--help")
	if code != 0 || !strings.Contains(stdout, "tfc run FILE.tf|disk.img") {
		t.Errorf("tfc --help: exit %d, %q", code, stdout)
	}
}

// tfc size lists regions that add up to the total it prints; --json
// carries the same numbers.
func TestSize(t *testing.T) {
	code, stdout, stderr := runCLI("size", "../../examples/gelu-random.tf")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	sum := 0
	for _, l := range lines[:len(lines)-2] {
		var n int
		var name string
		if _, err := fmt.Sscan(l, &n, &name); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		sum += n
	}
	var total int
	if _, err := fmt.Sscanf(lines[len(lines)-1], "code %d bytes", &total); err != nil || total != sum {
		t.Errorf("last line %q; the regions add up to %d", lines[len(lines)-1], sum)
	}
	code, stdout, _ = runCLI("size", "--json", "../../examples/gelu-random.tf")
	var j struct {
		Code    int `json:"code_bytes"`
		Regions []struct {
			Name  string `json:"name"`
			Bytes int    `json:"bytes"`
		} `json:"regions"`
	}
	if err := json.Unmarshal([]byte(stdout), &j); err != nil || code != 0 || j.Code != total || len(j.Regions) != len(lines)-2 {
		t.Errorf("--json: exit %d, err %v, code %d (want %d), %d regions", code, err, j.Code, total, len(j.Regions))
	}
}

// The template generators sum attention's softmax weights in 32 bits:
// over more positions than that holds, the loop code generator (which
// sums in 64) builds the model, and says so.
func TestAttentionPositions(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("../../examples/gelu-random.tf")
	if err != nil {
		t.Fatal(err)
	}
	long := filepath.Join(dir, "long.tf")
	os.WriteFile(long, []byte(strings.Replace(string(src), "context  = 128", "context  = 2000", 1)), 0o644)
	code, _, stderr := runCLI("build", "-o", filepath.Join(dir, "x.img"), "--steps", "1024", long)
	if want := "tfc: -Os: the loop code generator, since attention over 1024 positions (the template kernels sum their softmax weights in 32 bits, which hold 1023)"; code != 0 || !strings.Contains(stderr, want) {
		t.Errorf("tfc build: exit %d, %q, want %q", code, stderr, want)
	}
	code, _, stderr = runCLI("check", "--steps", "1023", long)
	if code != 0 {
		t.Errorf("tfc check --steps 1023: exit %d, %q", code, stderr)
	}
}

// llama2.c's flags override the generate block: -n -i -t -p -s, and -t
// above 0 needs sample().
func TestLlama2cFlags(t *testing.T) {
	f := "../../examples/mha-random.tf"
	a := tfc(t, "sim", f, "--steps", "12", "--prompt", "the dog")
	if b := tfc(t, "sim", f, "-n", "12", "-i", "the dog"); a != b {
		t.Errorf("-n -i: %q, --steps --prompt: %q", b, a)
	}
	hot := tfc(t, "sim", f, "-n", "30", "-t", "1.5", "-p", "1", "-s", "5")
	if cold := tfc(t, "sim", f, "-n", "30", "-t", "0.1", "-p", "1", "-s", "5"); hot == cold {
		t.Errorf("-t 1.5 and -t 0.1 print the same: %q", hot)
	}
	if other := tfc(t, "sim", f, "-n", "30", "-t", "1.5", "-p", "1", "-s", "6"); hot == other {
		t.Errorf("-s 5 and -s 6 print the same: %q", hot)
	}
	if qemu.Available() {
		if got := tfc(t, "run", f, "-n", "30", "-t", "1.5", "-p", "1", "-s", "5"); got != hot {
			t.Errorf("tfc run -t 1.5 -p 1 -s 5:\n%q\nwant, as tfc sim:\n%q", got, hot)
		}
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
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("tfc %s: exit %d, %q, want %q", strings.Join(c.args, " "), code, stderr, c.want)
		}
	}
}
