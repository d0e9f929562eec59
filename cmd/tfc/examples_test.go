package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tfc/qemu"
)

var update = flag.Bool("update", false, "rewrite examples/*.expected from tfc sim")

// tfc runs the command line and returns its stdout; a non-zero exit fails
// the test with stderr.
func tfc(t *testing.T, args ...string) string {
	t.Helper()
	return tfcInput(t, "", args...)
}

// tfcInput is tfc with input as the standard input (a typed prompt's
// lines).
func tfcInput(t *testing.T, input string, args ...string) string {
	t.Helper()
	stdin = strings.NewReader(input)
	defer func() { stdin = os.Stdin }()
	var out, errb bytes.Buffer
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("tfc %s: exit %d\n%s", strings.Join(args, " "), code, errb.String())
	}
	return out.String()
}

func haveModels() bool {
	_, err := os.Stat("../../models/stories260K.bin")
	return err == nil
}

func needModels(t *testing.T) {
	if !haveModels() {
		t.Skip("SKIPPED: models/ is empty (make models)")
	}
}

func needQEMU(t *testing.T) {
	if !qemu.Available() {
		t.Skip("SKIPPED: qemu-system-i386 is not installed (make deps)")
	}
}

// Every example checks itself: tfc sim prints what NAME.expected holds,
// and the image booted in QEMU prints exactly what tfc sim prints. A
// typed prompt's lines come from NAME.input.
func TestExamples(t *testing.T) {
	files, _ := filepath.Glob("../../examples/*.tf")
	if len(files) < 6 {
		t.Fatalf("found %d examples", len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".tf")
		t.Run(name, func(t *testing.T) {
			if strings.HasPrefix(name, "llama2") {
				needModels(t)
			}
			input, _ := os.ReadFile(strings.TrimSuffix(f, ".tf") + ".input")
			sim := tfcInput(t, string(input), "sim", f)
			want := strings.TrimSuffix(f, ".tf") + ".expected"
			if *update {
				if err := os.WriteFile(want, []byte(sim), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			exp, err := os.ReadFile(want)
			if err != nil {
				t.Fatalf("%v (go test -update writes it)", err)
			}
			if sim != string(exp) {
				t.Errorf("tfc sim %s:\n%q\nwant (%s):\n%q", f, sim, want, exp)
			}
			needQEMU(t)
			if got := tfcInput(t, string(input), "run", f); got != sim {
				t.Errorf("tfc run %s (QEMU):\n%q\nwant, as tfc sim:\n%q", f, got, sim)
			}
		})
	}
}

// The exact example reproduces llama2.c's float greedy output, on the host
// in both arithmetics and booted in QEMU.
func TestLlama2EqualsReference(t *testing.T) {
	needModels(t)
	for _, c := range []struct{ ref, prompt, steps string }{
		{"stories260K-bos-greedy.txt", "", "200"},
		{"lily-wanted-a-puppy-greedy.txt", "Lily wanted a puppy", "256"},
	} {
		want, err := os.ReadFile("../../../shared/reference/" + c.ref)
		if err != nil {
			t.Skipf("SKIPPED: no reference outputs: %v", err)
		}
		args := []string{"../../examples/llama2.tf", "--steps", c.steps, "--prompt", c.prompt}
		for _, cmd := range [][]string{{"sim", "--float"}, {"sim"}, {"run"}} {
			if cmd[0] == "run" && !qemu.Available() {
				t.Log("SKIPPED: tfc run: qemu-system-i386 is not installed")
				continue
			}
			if got := tfc(t, append(cmd, args...)...); got != string(want) {
				t.Errorf("tfc %s (%s):\n%q\nwant:\n%q", strings.Join(cmd, " "), c.ref, got, want)
			}
			// The same prompt typed: printf '…\n' | tfc run llama2-typed.tf -n N.
			if c.prompt == "" {
				continue
			}
			typed := []string{"../../examples/llama2-typed.tf", "-n", c.steps}
			if got := tfcInput(t, c.prompt+"\n", append(cmd, typed...)...); got != string(want) {
				t.Errorf("tfc %s, %q typed (%s):\n%q\nwant:\n%q", strings.Join(cmd, " "), c.prompt, c.ref, got, want)
			}
		}
	}
}

// The int8 example keeps at least the record's 61 tokens of llama2.c's
// float greedy output from BOS (the reference's token ids).
func TestInt8Fidelity(t *testing.T) {
	needModels(t)
	ref, err := os.ReadFile("../../../shared/reference/stories260K-bos-greedy.ids")
	if err != nil {
		t.Skipf("SKIPPED: no reference outputs: %v", err)
	}
	ids := filepath.Join(t.TempDir(), "int8.ids")
	tfc(t, "sim", "../../examples/llama2-int8.tf", "--steps", "200", "--ids", ids)
	got, err := os.ReadFile(ids)
	if err != nil {
		t.Fatal(err)
	}
	want, have := strings.Split(string(ref), "\n"), strings.Split(string(got), "\n")
	if want[0] != have[0] {
		t.Fatalf("prompt line %q, the reference's %q", have[0], want[0])
	}
	n := 0
	for n+1 < min(len(want), len(have)) && want[n+1] == have[n+1] {
		n++
	}
	if n < 61 {
		t.Errorf("llama2-int8.tf keeps %d tokens of the float model's, want 61 or more", n)
	}
	t.Logf("llama2-int8.tf keeps the float model's first %d tokens", n)
}
