package difftest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
		if again := Generate(seed, Options{Big: seed%8 == 0}).String(); again != src {
			t.Fatalf("seed %d: two programs", seed)
		}
		path := filepath.Join(dir, p.Name+".tf")
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		q, err := frontend.LoadFile(path, ir.Options{})
		if err != nil {
			// The refusal it means to provoke: norm weights or biases
			// quantized.
			if msg := err.Error(); !strings.Contains(msg, "must be fixed") {
				t.Errorf("seed %d: %v\n%s", seed, err, src)
			}
			refused++
			continue
		}
		if _, err := q.PromptTokens(); err != nil {
			t.Errorf("seed %d: %v", seed, err)
		}
	}
	if refused > n/10 {
		t.Errorf("%d of %d programs refused", refused, n)
	}
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
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		ip, err := frontend.LoadFile(path, ir.Options{})
		return err == nil && ip.Layers >= 2 && strings.Contains(src, "rope(")
	}
	p.Consts = append(p.Consts, Const{"layers", "2"}) // redefined: refused
	if fails(p) {
		t.Fatal("a duplicate constant was accepted")
	}
	p.Consts = p.Consts[:len(p.Consts)-1]
	for i, c := range p.Consts {
		if c.Name == "layers" {
			p.Consts[i].Expr = "3"
		}
	}
	if !fails(p) {
		t.Fatalf("the program does not fail to begin with:\n%s", p)
	}
	r := reduceWith(p, fails)
	if !fails(r) {
		t.Fatalf("the reduced program passes:\n%s", r)
	}
	if strings.Count(r.String(), "\n") >= strings.Count(p.String(), "\n") || r.Gen.Steps > 2 {
		t.Errorf("not reduced:\n%s", r)
	}
	if strings.Count(r.String(), "rope(") != 1 {
		t.Errorf("more than the one rope it needs:\n%s", r)
	}
}
