package lang_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestGrammarMatchesSpec checks that the EBNF of spec.md section 2 and the
// rule comments of ast.go (one above each grammar struct) are the same rules.
func TestGrammarMatchesSpec(t *testing.T) {
	spec, err := os.ReadFile("../spec.md")
	if err != nil {
		t.Skip("no spec.md:", err)
	}
	block := regexp.MustCompile("(?s)```ebnf\n(.*?)```").FindSubmatch(spec)
	if block == nil {
		t.Fatal("spec.md has no ebnf block")
	}
	specRules := map[string]string{}
	var cur string
	for _, line := range strings.Split(string(block[1]), "\n") {
		if m := regexp.MustCompile(`^(\w+)\s+=\s+(.*)$`).FindStringSubmatch(line); m != nil {
			cur = m[1]
			specRules[cur] = m[2]
		} else if strings.TrimSpace(line) != "" {
			specRules[cur] += " " + strings.TrimSpace(line)
		}
	}

	src, err := os.ReadFile("ast.go")
	if err != nil {
		t.Fatal(err)
	}
	astRules := map[string]string{}
	lines := strings.Split(string(src), "\n")
	for i, line := range lines {
		m := regexp.MustCompile(`^// (\w+) = (.*)$`).FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if i+1 >= len(lines) || lines[i+1] != "type "+m[1]+" struct {" {
			t.Errorf("ast.go:%d: rule %s is not directly above its struct", i+1, m[1])
		}
		astRules[m[1]] = m[2]
	}

	if len(specRules) < 25 || len(astRules) < 25 {
		t.Fatalf("found %d rules in spec.md and %d in ast.go", len(specRules), len(astRules))
	}
	norm := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	for name, rule := range specRules {
		if a, ok := astRules[name]; !ok {
			t.Errorf("spec.md rule %s has no struct in ast.go", name)
		} else if norm(a) != norm(rule) {
			t.Errorf("rule %s differs:\nspec.md: %s\nast.go:  %s", name, norm(rule), norm(a))
		}
	}
	for name := range astRules {
		if _, ok := specRules[name]; !ok {
			t.Errorf("ast.go rule %s is not in spec.md", name)
		}
	}
}
