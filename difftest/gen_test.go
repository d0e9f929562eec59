package difftest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/frontend"
	"tfc/ir"
)

// A seed gives one program, and the front end takes nearly every program
// the generator makes (it makes a few that the checks refuse on purpose).
func TestGenerateDeterministicAndValid(t *testing.T) {
	dir := t.TempDir()
	refused := 0
	const n = 200
	for seed := uint64(1); seed <= n; seed++ {
		p := Generate(seed, Options{Big: seed%8 == 0})
		src := p.String()
		require.Equal(t, src, Generate(seed, Options{Big: seed%8 == 0}).String(), "seed %d: two programs", seed)
		path := filepath.Join(dir, p.Name+".tf")
		require.NoError(t, os.WriteFile(path, []byte(src), 0o644))
		q, err := frontend.LoadFile(path, ir.Options{})
		if err != nil {
			// The refusal it means to provoke: norm weights or biases
			// quantized.
			assert.ErrorContains(t, err, "must be fixed", "seed %d\n%s", seed, src)
			refused++
			continue
		}
		_, err = q.PromptTokens()
		assert.NoError(t, err, "seed %d", seed)
	}
	assert.LessOrEqual(t, refused, n/10, "programs refused of %d", n)
}

// The reducer keeps a candidate only while it still fails: here "fails"
// is a stand-in that needs a rope and two layers, so the reduced program
// keeps those and loses the rest.
func TestReduce(t *testing.T) {
	var p *Program
	for seed := uint64(1); p == nil; seed++ {
		q := Generate(seed, Options{})
		if strings.Contains(q.String(), "rope(") && q.Gen.Steps > 2 {
			p = q
		}
	}
	dir := t.TempDir()
	fails := func(q *Program) bool {
		src := q.String()
		path := filepath.Join(dir, "r.tf")
		require.NoError(t, os.WriteFile(path, []byte(src), 0o644))
		ip, err := frontend.LoadFile(path, ir.Options{})
		return err == nil && ip.Layers >= 2 && strings.Contains(src, "rope(")
	}
	p.Consts = append(p.Consts, Const{"layers", "2"}) // redefined: refused
	require.False(t, fails(p), "a duplicate constant was accepted")
	p.Consts = p.Consts[:len(p.Consts)-1]
	for i, c := range p.Consts {
		if c.Name == "layers" {
			p.Consts[i].Expr = "3"
		}
	}
	require.True(t, fails(p), "the program does not fail to begin with:\n%s", p)
	r := reduceWith(p, fails)
	require.True(t, fails(r), "the reduced program passes:\n%s", r)
	assert.Less(t, strings.Count(r.String(), "\n"), strings.Count(p.String(), "\n"), "not reduced (lines):\n%s", r)
	assert.LessOrEqual(t, r.Gen.Steps, 2, "not reduced (steps):\n%s", r)
	assert.Equal(t, 1, strings.Count(r.String(), "rope("), "ropes, only the one it needs:\n%s", r)
}
