package lang_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGrammarMatchesSpec checks that the EBNF of spec.md section 2 and the
// rule comments of ast.go (one above each grammar struct) are the same rules.
func TestGrammarMatchesSpec(t *testing.T) {
	spec, err := os.ReadFile("../spec.md")
	if err != nil {
		t.Skip("no spec.md:", err)
	}
	block := regexp.MustCompile("(?s)```ebnf\n(.*?)```").FindSubmatch(spec)
	require.NotNil(t, block, "spec.md has no ebnf block")
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
	require.NoError(t, err)
	astRules := map[string]string{}
	lines := strings.Split(string(src), "\n")
	for i, line := range lines {
		m := regexp.MustCompile(`^// (\w+) = (.*)$`).FindStringSubmatch(line)
		if m == nil {
			continue
		}
		next := ""
		if i+1 < len(lines) {
			next = lines[i+1]
		}
		assert.Equal(t, "type "+m[1]+" struct {", next, "ast.go:%d: rule %s is not directly above its struct", i+1, m[1])
		astRules[m[1]] = m[2]
	}

	require.GreaterOrEqual(t, len(specRules), 25, "rules in spec.md")
	require.GreaterOrEqual(t, len(astRules), 25, "rules in ast.go")
	norm := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	for name, rule := range specRules {
		if a, ok := astRules[name]; assert.True(t, ok, "spec.md rule %s has no struct in ast.go", name) {
			assert.Equal(t, norm(rule), norm(a), "rule %s differs (spec.md, ast.go)", name)
		}
	}
	for name := range astRules {
		assert.Contains(t, specRules, name, "ast.go rule %s is not in spec.md", name)
	}
}
