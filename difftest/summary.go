package difftest

import (
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// Summary adds up the results of many programs.
type Summary struct {
	Programs, Accepted, Overflows, Tokens int
	Built, Booted                         map[string]int // per configuration
	NotBuilt                              map[string]int // configuration: reason
	Generators                            map[string]int // configuration: generator
	Rejected                              map[string]int // by message
	Failures                              map[string]int // by kind
	Failed                                []string       // the names of failing programs
}

// NewSummary returns an empty summary.
func NewSummary() *Summary {
	return &Summary{Built: map[string]int{}, Booted: map[string]int{}, NotBuilt: map[string]int{},
		Generators: map[string]int{}, Rejected: map[string]int{}, Failures: map[string]int{}}
}

// numbers and the file:line:col prefix are left out when messages are
// grouped.
var (
	posPrefix = regexp.MustCompile(`^[^:]*:\d+:\d+: `)
	number    = regexp.MustCompile(`\d+`)
)

func messageClass(msg string) string {
	msg = strings.SplitN(msg, "\n", 2)[0]
	return number.ReplaceAllString(posPrefix.ReplaceAllString(msg, ""), "N")
}

// Add counts one program's result.
func (s *Summary) Add(name string, r *Result) {
	s.Programs++
	s.Tokens += r.Tokens
	for _, f := range r.Failures {
		s.Failures[f.Kind]++
	}
	if r.Failed() {
		s.Failed = append(s.Failed, name)
	}
	if r.Rejected != "" {
		s.Rejected[messageClass(r.Rejected)]++
		return
	}
	if len(r.Configs) == 0 {
		return
	}
	s.Accepted++
	if r.Overflow != "" {
		s.Overflows++
	}
	for _, c := range r.Configs {
		k := c.Config.String()
		switch {
		case c.Built:
			s.Built[k]++
			s.Generators[k+" "+c.Generator]++
		default:
			s.NotBuilt[k+": "+messageClass(c.Why)]++
		}
		if c.Booted {
			s.Booted[k]++
		}
	}
}

// Mismatches is the number of failures of every kind.
func (s *Summary) Mismatches() int {
	n := 0
	for _, v := range s.Failures {
		n += v
	}
	return n
}

// Print writes the summary.
func (s *Summary) Print(w io.Writer) {
	built, booted := 0, 0
	for _, v := range s.Built {
		built += v
	}
	for _, v := range s.Booted {
		booted += v
	}
	fmt.Fprintf(w, "programs %d: accepted %d (overflow, not compared: %d), rejected with a message %d\n",
		s.Programs, s.Accepted, s.Overflows, s.Programs-s.Accepted)
	fmt.Fprintf(w, "images built %d, booted %d; simulated tokens %d\n", built, booted, s.Tokens)
	fmt.Fprintf(w, "failures %d%s\n", s.Mismatches(), counts(s.Failures))
	section := func(title string, m map[string]int) {
		if len(m) == 0 {
			return
		}
		fmt.Fprintf(w, "%s:\n", title)
		for _, k := range sortedByCount(m) {
			fmt.Fprintf(w, "  %5d  %s\n", m[k], k)
		}
	}
	section("built, by configuration and generator", s.Generators)
	section("not built, by configuration and reason", s.NotBuilt)
	section("rejected, by message", s.Rejected)
	if len(s.Failed) > 0 {
		fmt.Fprintf(w, "failing programs: %s\n", strings.Join(s.Failed, " "))
	}
}

func counts(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range sortedByCount(m) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func sortedByCount(m map[string]int) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	sort.Slice(k, func(i, j int) bool {
		if m[k[i]] != m[k[j]] {
			return m[k[i]] > m[k[j]]
		}
		return k[i] < k[j]
	})
	return k
}
