package codegen_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Argmax scans the logits backwards (std, lodsd; cld after), counts in cx
// with loop, the count being the element's index plus 1, and sets no
// index before the loop (its first pass always does: OpUndef): llama2.tf,
// 27 bytes as the small template's.
func TestArgmaxBackward(t *testing.T) {
	listing := loopListing(t, "llama2", "flat")
	argmax := regexp.MustCompile(`(?m)^; region argmax next\n(?:[^;].*\n|; region argmax next\n)*`).FindString(listing)
	var ops []string
	for _, line := range strings.Split(argmax, "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(line, " ") {
			ops = append(ops, f[0])
		}
	}
	assert.Equal(t, []string{"mov", "mov", "mov", "std", "lodsd", "cmp", "jl", "xchg", "mov", "loop", "cld", "dec", "xchg", "ret"}, ops, argmax)
	assert.Regexp(t, `\n\s+mov cx, 0x200\n\s+std\n`, argmax)
	assert.Regexp(t, `\n\s+mov (ax|bx|dx|si|di|bp), cx\n`, argmax, "the best's index: the count")
}
