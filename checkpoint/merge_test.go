package checkpoint

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mergeQuadratic is llama2.c's merge loop as written there: every pair
// scanned after each merge.
func (t *Tokenizer) mergeQuadratic(x vocabIndex, tokens []int) []int {
	var pair []byte
	for {
		bestScore := float32(-1e10)
		bestID, bestIdx := -1, -1
		for i := 0; i+1 < len(tokens); i++ {
			pair = append(append(pair[:0], cstr(t.Pieces[tokens[i]])...), cstr(t.Pieces[tokens[i+1]])...)
			if id := x.lookup(pair); id != -1 && t.Scores[id] > bestScore {
				bestScore, bestID, bestIdx = t.Scores[id], id, i
			}
		}
		if bestIdx == -1 {
			return tokens
		}
		tokens[bestIdx] = bestID
		tokens = slices.Delete(tokens, bestIdx+1, bestIdx+2)
	}
}

// The heap merge gives llama2.c's tokens: random texts over the real
// tokenizer and over synthetic ones, with scores that tie.
func TestMergeEqualsQuadratic(t *testing.T) {
	toks := []*Tokenizer{Synthetic(300), Synthetic(1000)}
	tied := Synthetic(600)
	for i := range tied.Scores {
		tied.Scores[i] = float32(i % 3)
	}
	toks = append(toks, tied)
	if tok, err := LoadTokenizer("../models/tok512.bin", 512); err == nil {
		toks = append(toks, tok)
	}
	words := []string{"Once", " upon", " a", " time", " Lily", "the", "  ", "é", "日本", "\n", "!", "ab", "ba", "aaa", "x", " "}
	r := rand.New(rand.NewPCG(1, 2))
	for _, tok := range toks {
		x := tok.index()
		for range 300 {
			var b strings.Builder
			for range r.IntN(40) {
				b.WriteString(words[r.IntN(len(words))])
			}
			pre, err := tok.split(x, b.String(), true)
			if err != nil {
				continue
			}
			want := tok.mergeQuadratic(x, slices.Clone(pre))
			got := tok.merge(x, slices.Clone(pre))
			// require: the first text that differs is enough.
			require.Equal(t, want, got, "%q: llama2.c's merge (expected), the heap merge (actual)", b.String())
		}
	}
}

// A long prompt encodes in about linear time (llama2.c's loop took 35 s
// for 27 KB).
func TestEncodeLongPrompt(t *testing.T) {
	tok := Synthetic(512)
	text := strings.Repeat("Once upon a time, there was a little girl named Lily. ", 2000) // 108 KB
	start := time.Now()
	ids, err := tok.Encode(text, true, false)
	require.NoError(t, err)
	assert.LessOrEqual(t, time.Since(start), 5*time.Second, "time to encode %d bytes", len(text))
	assert.GreaterOrEqual(t, len(ids), 1000, "tokens")
}
