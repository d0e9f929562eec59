package lir_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/difftest"
	"tfc/frontend"
	"tfc/ir"
	"tfc/lir"
)

// stepper is ir's simulator or the loop IR's machine.
type stepper interface {
	Step(token, pos int) int
	RawLogits() []int32
}

// equalRuns runs both for steps positions from BOS, feeding each the
// simulator's token, and reports the first difference of logits or token.
func equalRuns(t *testing.T, name string, p *ir.Program, steps int) {
	t.Helper()
	for _, policy := range []string{"speed", "size"} {
		f, err := lir.LowerWith(p, lir.LowerOptionsFor(policy))
		require.NoError(t, err, name)
		compare(t, name+"/lowered for "+policy, p, f, steps)
	}
}

// equalCompiled is equalRuns after the passes of both policies.
func equalCompiled(t *testing.T, name string, p *ir.Program, steps int) {
	t.Helper()
	for _, policy := range []string{"size", "speed"} {
		compiled(t, name+"/"+policy, p, steps, policy, nil)
	}
	// The size policy's other try (codegen's buildLoop): elementwise ops
	// fused, and matmuls with the residual add after them (addflag).
	compiled(t, name+"/size, fused", p, steps, "size", func(f *lir.Func) { f.FuseElementwise = true })
	// The flat model's activations in low memory, where the passes take
	// 16-bit offsets (stride, twoscales, offsets).
	compiled(t, name+"/size, low activations", p, steps, "size", func(f *lir.Func) { f.LowActivations = true })
}

// compiled compares a program's Func after the passes of policy (adjust,
// where not nil, sets what codegen would before them) with the simulator.
func compiled(t *testing.T, name string, p *ir.Program, steps int, policy string, adjust func(f *lir.Func)) {
	t.Helper()
	f, err := lir.LowerWith(p, lir.LowerOptionsFor(policy))
	require.NoError(t, err, name)
	if adjust != nil {
		adjust(f)
	}
	require.NoError(t, lir.Compile(f, lir.Options{Policy: policy}), name)
	compare(t, name, p, f, steps)
}

func compare(t *testing.T, name string, p *ir.Program, f *lir.Func, steps int) {
	t.Helper()
	sim, m := ir.NewSim(p), lir.NewMachine(f, p)
	token := ir.BOS
	for pos := 0; pos < steps; pos++ {
		want := sim.Step(token, pos)
		got := m.Step(token, pos)
		wl, gl := sim.RawLogits(), m.RawLogits()
		require.Equal(t, len(wl), len(gl), "%s: step %d: logits (simulator, loop IR)", name, pos)
		// Logit by logit, stopping at the first that differs: the whole
		// vectors would print thousands of lines.
		for i := range wl {
			require.Equal(t, wl[i], gl[i], "%s: step %d, logit %d (simulator, loop IR)", name, pos, i)
		}
		require.Equal(t, want, got, "%s: step %d: token chosen (simulator, loop IR)", name, pos)
		token = want
	}
}

func load(t *testing.T, path string) *ir.Program {
	t.Helper()
	p, err := frontend.LoadFile(path, ir.Options{})
	require.NoError(t, err)
	return p
}

// Every example runs in the loop IR exactly as in the simulator: the same
// logits and tokens at every step.
func TestExamplesEqualSimulator(t *testing.T) {
	examples(t, func(t *testing.T, name string, p *ir.Program) { equalRuns(t, name, p, min(p.Gen.Steps, 12)) })
}

// examples runs fn on each example as a subtest (the llama2 ones skipped
// without models/).
func examples(t *testing.T, fn func(t *testing.T, name string, p *ir.Program)) {
	files, _ := filepath.Glob("../examples/*.tf")
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			if _, err := os.Stat("../models/stories260K.bin"); err != nil && strings.HasPrefix(name, "llama2") {
				t.Skip("SKIPPED: models/ is empty (make models)")
			}
			fn(t, name, load(t, f))
		})
	}
}

// Every example after the passes of both policies, its attention's
// addresses as each keeps them (the size policy's heads' first bytes as
// bases, the speed policy's sums), runs as in the simulator.
func TestExamplesCompiledEqualSimulator(t *testing.T) {
	examples(t, func(t *testing.T, name string, p *ir.Program) { equalCompiled(t, name, p, min(p.Gen.Steps, 6)) })
}

// generated calls fn with each of difftest's programs of seeds 1 to n
// that the front end takes (it refuses a few on purpose: the generator
// says which), and returns how many.
func generated(t *testing.T, n uint64, fn func(name string, p *ir.Program)) int {
	t.Helper()
	dir := t.TempDir()
	taken := 0
	for seed := uint64(1); seed <= n; seed++ {
		g := difftest.Generate(seed, difftest.Options{})
		path := filepath.Join(dir, g.Name+".tf")
		require.NoError(t, os.WriteFile(path, []byte(g.String()), 0o644))
		p, err := frontend.LoadFile(path, ir.Options{})
		if err != nil {
			continue
		}
		fn(g.Name, p)
		taken++
	}
	return taken
}

// Generated programs (every op in every block, odd shapes, several caches,
// sampling) too.
func TestGeneratedEqualSimulator(t *testing.T) {
	compared := generated(t, 60, func(name string, p *ir.Program) {
		equalRuns(t, name, p, min(p.Gen.Steps, 8))
	})
	// Not vacuous: the generator's refusals are a few in a hundred.
	assert.GreaterOrEqual(t, compared, 30, "programs compared of 60")
}

// The passes keep every result: the compiled Func equals the simulator.
func TestPassesKeepResults(t *testing.T) {
	dir := t.TempDir()
	compared := 0
	for seed := uint64(100); seed <= 140; seed++ {
		p := difftest.Generate(seed, difftest.Options{})
		path := filepath.Join(dir, p.Name+".tf")
		require.NoError(t, os.WriteFile(path, []byte(p.String()), 0o644))
		q, err := frontend.LoadFile(path, ir.Options{})
		if err != nil {
			continue
		}
		equalCompiled(t, p.Name, q, min(q.Gen.Steps, 6))
		compared++
	}
	assert.GreaterOrEqual(t, compared, 20, "programs compared of 41")
}

// -march sse2's simd pass keeps every result: the examples (llama2.tf's
// int16 rows of 64 and 172 columns) and generated programs, compiled
// with the speed policy for SSE2, equal the simulator.
func TestSimdKeepsResults(t *testing.T) {
	files, _ := filepath.Glob("../examples/*.tf")
	dir := t.TempDir()
	for seed := uint64(100); seed <= 130; seed++ {
		p := difftest.Generate(seed, difftest.Options{})
		path := filepath.Join(dir, p.Name+".tf")
		require.NoError(t, os.WriteFile(path, []byte(p.String()), 0o644))
		files = append(files, path)
	}
	compared := 0
	for _, file := range files {
		name := filepath.Base(file)
		if _, err := os.Stat("../models/stories260K.bin"); err != nil && strings.HasPrefix(name, "llama2") {
			continue
		}
		q, err := frontend.LoadFile(file, ir.Options{})
		if err != nil {
			continue
		}
		f, err := lir.Lower(q)
		require.NoError(t, err, name)
		require.NoError(t, lir.Compile(f, lir.Options{Policy: "speed", March: "sse2"}), name)
		compare(t, name+"/sse2", q, f, min(q.Gen.Steps, 6))
		compared++
	}
	assert.GreaterOrEqual(t, compared, len(files)/2, "files compared of %d", len(files))
}
