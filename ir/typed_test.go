package ir

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/lang"
)

func TestLineReader(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"a\nb\n", []string{"a", "b"}},
		{"a\r\nb", []string{"a", "b"}},
		{"ab\bc\x7f\x7fd\n", []string{"d"}},
		{"\b\bx\x00y\n", []string{"xy"}},
		{"one\ntw\x04o\n", []string{"one"}},
		{"\n", []string{""}},
		{"", nil},
		{strings.Repeat("z", MaxLine+5) + "\n", []string{strings.Repeat("z", MaxLine)}},
	} {
		lr := NewLineReader(strings.NewReader(c.in))
		var got []string
		for {
			line, ok, err := lr.Next()
			require.NoError(t, err, "%q", c.in)
			if !ok {
				break
			}
			got = append(got, string(line))
		}
		assert.Equal(t, c.want, got, "%q: lines", c.in)
	}
}

func TestParseSamplingLine(t *testing.T) {
	start := Sampling{InvT: 7, TopP: 9}
	for _, c := range []struct {
		line string
		want Sampling
		ok   bool
	}{
		{"/t 0.8", Sampling{81920, 9}, true},
		{"/t 1", Sampling{65536, 9}, true},
		{"/t 0", Sampling{0, 9}, true},
		{"/t 0.0000", Sampling{0, 9}, true},
		{"/t 3", Sampling{21845, 9}, true},      // 21845.33
		{"/t 0.3", Sampling{218453, 9}, true},   // 218453.33
		{"/t 209.7152", Sampling{313, 9}, true}, // 312.5 exactly: halves up
		{"/p 0.9", Sampling{7, 58982}, true},    // 58982.4
		{"/p 0.5", Sampling{7, 32768}, true},
		{"/p 1", Sampling{7, One}, true},
		{"/p 1.5", Sampling{7, One}, true},
		{"/p 0", Sampling{7, One}, true},
		{"/t .5", start, false},
		{"/t 1.", start, false},
		{"/t 1000", start, false},
		{"/t 1.23456", start, false},
		{"/t 0.8 ", start, false},
		{"/t  0.8", start, false},
		{"/x 1", start, false},
		{"/t", start, false},
	} {
		got, ok := ParseSamplingLine([]byte(c.line), start)
		assert.Equal(t, c.want, got, "%q", c.line)
		assert.Equal(t, c.ok, ok, "%q: ok", c.line)
	}
	g := lang.Generate{Temperature: 0.8, TopP: 0.9, Seed: 1}
	assert.Equal(t, Sampling{81920, 58982}, SamplingOf(g), "SamplingOf(0.8, 0.9)")
	assert.Equal(t, Sampling{0, One}, SamplingOf(lang.Generate{Greedy: true}), "SamplingOf(greedy)")
}
