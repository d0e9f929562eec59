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
// 27 bytes.
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

// Attention's best score has no start of its own (OpUndef): a higher
// score sets it, or the first position, one branch on either (orJump),
// the position's index tested in 16 bits (a short loop's): `cmp; jg;
// test r16, r16; jne` where `mov dword [m], 0x80000000` went before the
// loop. Both llama2 examples, in the memory models the compiler chooses.
func TestAttentionBestFromFirst(t *testing.T) {
	for _, name := range []string{"llama2", "llama2-int8"} {
		listing := loopListing(t, name, "")
		att := regexp.MustCompile(`(?m)^; region attention t1\n(?:[^;].*\n|; region attention t1\n)*`).FindString(listing)
		assert.Regexp(t, `\n\s+cmp eax, dword \[0x[0-9a-f]+\]\n\s+jg short (\S+)\n\s+test (..), (..)\n\s+jne short \S+\n(\S+):\n\s+mov dword \[0x[0-9a-f]+\], eax\n`, att, name)
		assert.NotContains(t, att, "0x80000000", name)
		assert.NotContains(t, att, "-0x80000000", name)
	}
}
