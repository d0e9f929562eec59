package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tfc run --profile: the story on stdout as without it, and on stderr a
// row per op (matmuls and attention with a figure per multiply-
// accumulate) whose counts add up to the total, which equals, within the
// issue's 1%, what --icount counts for the build without the counters.
func TestRunProfile(t *testing.T) {
	needQEMU(t)
	const ex = "../../examples/gelu-random.tf"
	code, story, stderr := runCLI("run", "--profile", "-O2", ex, "--steps", "6")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, tfc(t, "sim", ex, "--steps", "6"), story)

	row := regexp.MustCompile(`^ +(\d+) +([0-9.]+)% +([0-9.]+)? +(\S.*)$`)
	var sum, total float64
	macs := map[string]bool{}
	rows := 0
	for _, line := range strings.Split(stderr, "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n, _ := strconv.ParseFloat(m[1], 64)
		if m[4] == "total over 6 tokens" {
			total = n
			continue
		}
		rows++
		sum += n
		op := strings.Fields(m[4])[0]
		if op == "matmul" || op == "attention" {
			macs[op] = m[3] != ""
		}
	}
	assert.GreaterOrEqual(t, rows, 10, "rows of ops:\n%s", stderr)
	assert.Equal(t, map[string]bool{"matmul": true, "attention": true}, macs, "per-MAC figures:\n%s", stderr)
	assert.InDelta(t, total, sum, float64(rows), "the rows (each rounded) add up to the total:\n%s", stderr)

	// The tool's own check, then --icount of the same build by hand.
	m := regexp.MustCompile(`tfc: profile: \d+ guest instructions over the generation, (\d+) per token; ` +
		`the build without the profile's counters, under --icount: \d+, (\d+) per token \([-+][0-9.]+%\)\n`).FindStringSubmatch(stderr)
	require.NotNil(t, m, stderr)
	assert.Equal(t, m[1], strconv.FormatFloat(total, 'f', 0, 64))
	assert.NotContains(t, stderr, "warning")
	code, _, plain := runCLI("run", "--gen", "loop", "-O2", "--bench", "--icount", ex, "--steps", "6")
	require.Equal(t, 0, code, plain)
	ic := regexp.MustCompile(`guest instructions over the generation, (\d+) per token`).FindStringSubmatch(plain)
	require.NotNil(t, ic, plain)
	assert.Equal(t, m[2], ic[1], "the tool's figure without counters is --icount's")
	icount, _ := strconv.ParseFloat(ic[1], 64)
	assert.InEpsilon(t, icount, total, 0.01, "the profile's total against --icount's")
}

// --profile needs a build it can count: a .tf file.
func TestRunProfileRefused(t *testing.T) {
	for _, c := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"run", "--profile", "../../examples/gelu-random.img"}, 2,
			"tfc: run: --profile needs a .tf file: it builds an image that counts each op's instructions, which ../../examples/gelu-random.img has not\n"},
		{[]string{"run", "--profile", "--gen", "fast", "../../examples/gelu-random.tf"}, 2,
			"tfc: unknown code generator \"fast\" (loop)\n"},
		{[]string{"run", "--profile", "--gen", "small", "../../examples/gelu-random.tf"}, 2,
			"tfc: --gen small: the small templates are retired"},
	} {
		code, stdout, stderr := runCLI(c.args...)
		assert.Equal(t, c.code, code, "tfc %s: %s", strings.Join(c.args, " "), stderr)
		assert.Contains(t, stderr, c.stderr, strings.Join(c.args, " "))
		assert.Empty(t, stdout)
		assert.NotContains(t, stderr, "panic")
	}
}
