package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	code := run(args, &out, &errb)
	require.Equal(t, 0, code, "tfc %s: exit code; stderr:\n%s", strings.Join(args, " "), errb.String())
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
	require.GreaterOrEqual(t, len(files), 6, "examples found")
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
				require.NoError(t, os.WriteFile(want, []byte(sim), 0o644))
			}
			exp, err := os.ReadFile(want)
			require.NoError(t, err, "go test -update writes it")
			assert.Equal(t, string(exp), sim, "tfc sim %s (expected: %s)", f, want)
			needQEMU(t)
			assert.Equal(t, sim, tfcInput(t, string(input), "run", f), "tfc run %s (QEMU) (expected: as tfc sim)", f)
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
			assert.Equal(t, string(want), tfc(t, append(cmd, args...)...), "tfc %s (%s)", strings.Join(cmd, " "), c.ref)
			// The same prompt typed: printf '…\n' | tfc run llama2-typed.tf -n N.
			if c.prompt == "" {
				continue
			}
			typed := []string{"../../examples/llama2-typed.tf", "-n", c.steps}
			assert.Equal(t, string(want), tfcInput(t, c.prompt+"\n", append(cmd, typed...)...),
				"tfc %s, %q typed (%s)", strings.Join(cmd, " "), c.prompt, c.ref)
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
	require.NoError(t, err)
	want, have := strings.Split(string(ref), "\n"), strings.Split(string(got), "\n")
	require.Equal(t, want[0], have[0], "prompt line (expected: the reference's)")
	n := 0
	for n+1 < min(len(want), len(have)) && want[n+1] == have[n+1] {
		n++
	}
	assert.GreaterOrEqual(t, n, 61, "tokens of the float model's that llama2-int8.tf keeps")
	t.Logf("llama2-int8.tf keeps the float model's first %d tokens", n)
}
