package difftest

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/qemu"
)

var (
	programs  = flag.Int("programs", 40, "generated programs TestGenerated runs")
	firstSeed = flag.Uint64("seed", 1, "the first seed of TestGenerated")
)

// Generated programs, a fixed set of seeds: the simulator and the image of
// every configuration print the same text and compute the same logits and
// tokens at every step, or the compiler rejects the program with a
// message. `make stress N=…` runs more.
func TestGenerated(t *testing.T) {
	if !qemu.Available() {
		t.Skip("SKIPPED: qemu-system-i386 is not installed (make deps)")
	}
	sum := NewSummary()
	results := make([]*Result, *programs)
	t.Run("seeds", func(t *testing.T) {
		for i := range results {
			seed := *firstSeed + uint64(i)
			t.Run(fmt.Sprint(seed), func(t *testing.T) {
				t.Parallel()
				p := Generate(seed, Options{Big: seed%16 == 0})
				r := Run(p.Name, p.String(), RunOptions{})
				results[i] = r
				assert.Empty(t, r.Failures, "failures of\n%s", p)
			})
		}
	})
	for i, r := range results {
		if r != nil {
			sum.Add(fmt.Sprintf("diff%d", *firstSeed+uint64(i)), r)
		}
	}
	var b strings.Builder
	sum.Print(&b)
	t.Log("\n" + b.String())
	// The generator must make programs the compiler takes, in every
	// configuration, or the test tests little.
	assert.GreaterOrEqual(t, sum.Accepted, sum.Programs*3/4, "programs accepted of %d", sum.Programs)
	for _, c := range Configs {
		assert.GreaterOrEqual(t, sum.Booted[c.String()], sum.Accepted/3, "%s booted of %d accepted programs", c, sum.Accepted)
	}
}

// The reduced reproducers of bugs the differential tests found, each a
// named program under testdata/regress: each must now pass.
func TestRegressions(t *testing.T) {
	if !qemu.Available() {
		t.Skip("SKIPPED: qemu-system-i386 is not installed (make deps)")
	}
	files, err := filepath.Glob("testdata/regress/*.tf")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".tf")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(f)
			require.NoError(t, err)
			r := Run(name, string(src), RunOptions{})
			assert.Empty(t, r.Failures, "failures")
			// A reproducer without a "# rejected:" line must be accepted.
			if want := expectedRejection(string(src)); want != "" {
				assert.Contains(t, r.Rejected, want, "rejected with")
			} else {
				assert.Empty(t, r.Rejected, "rejected")
			}
		})
	}
}

// expectedRejection is the message a reproducer's "# rejected: MESSAGE"
// line says the compiler must give, or "".
func expectedRejection(src string) string {
	for _, line := range strings.Split(src, "\n") {
		if m, ok := strings.CutPrefix(line, "# rejected: "); ok {
			return m
		}
	}
	return ""
}
