package checkpoint

import (
	"fmt"
	"slices"
)

// EncodeTables is what a typed-prompt image needs to encode a line as
// Encode does, with no strings and no floats: llama2.c's encode looks up
// strings (each UTF-8 character, then the concatenation of every adjacent
// pair) and compares float scores, and these tables give the result of
// every lookup it can make, keyed by numbers.
//
//   - Chars: for each group of bytes that llama2.c's encode can look up as
//     one UTF-8 character (a byte, then up to three continuation bytes
//     10xxxxxx) and that is a piece, the group's bytes as a little-endian
//     key (zero-padded: a typed line holds no NUL) and the id the lookup
//     returns. A group that is no key falls back to its bytes' tokens,
//     byte+3.
//   - Pairs: for each pair of tokens (a, b) that can stand side by side in
//     the tokens being merged, whose concatenation is a piece scoring above
//     -1e10, the key a | b<<16, the id the lookup returns and its score's
//     rank: 1 for the lowest score of any pair's piece, one more for each
//     higher score (equal scores, equal ranks), so that comparing ranks is
//     comparing scores. Any other pair never merges.
//
// Both are sorted by key. The tokens that can stand in the merges are BOS,
// the byte tokens (3..258), and the id that looking up any piece's string
// returns (the dummy prefix, the characters and every merge are such
// lookups); pairs of other tokens have no entry.
type EncodeTables struct {
	Space int // the dummy prefix " "'s id
	Chars []CharEntry
	Pairs []PairEntry
}

// CharEntry is one character group that is a piece.
type CharEntry struct {
	Key uint32
	ID  int
}

// PairEntry is one merge: tokens A and B become ID, whose score has rank
// Rank (1 or more).
type PairEntry struct {
	A, B, ID, Rank int
}

// Key is the pair's table key.
func (e PairEntry) Key() uint32 { return uint32(e.A) | uint32(e.B)<<16 }

// MaxTypedVocab is the largest vocabulary EncodeTables takes: ids are 16
// bits, and 0xFFFF is kept for the end of a line's tokens.
const MaxTypedVocab = 0xFFFF

// EncodeTables builds t's tables. It fails when Encode could not encode
// every line: no " " piece for the dummy prefix, a byte with no byte token
// (a vocabulary of fewer than 259 tokens), or a vocabulary past
// MaxTypedVocab.
func (t *Tokenizer) EncodeTables() (*EncodeTables, error) {
	v := len(t.Pieces)
	switch {
	case t.EOT != 0:
		return nil, ErrNoMerges
	case len(t.Scores) != v:
		return nil, fmt.Errorf("tokenizer has %d pieces but %d scores", v, len(t.Scores))
	case v > MaxTypedVocab:
		return nil, fmt.Errorf("a vocabulary of %d tokens: typed prompts take at most %d", v, MaxTypedVocab)
	case v < 3+256:
		return nil, fmt.Errorf("a vocabulary of %d tokens: a typed line may hold any byte, and llama2.c encodes a byte that is no piece as its byte token (3..258)", v)
	}
	x := t.index()
	et := &EncodeTables{Space: x.lookup([]byte(" "))}
	if et.Space < 0 {
		return nil, fmt.Errorf("the tokenizer has no \" \" piece for the dummy prefix")
	}
	// reach: the tokens that can stand in the merges, by string.
	reach := map[string][]int{}
	add := func(s string, id int) {
		if !slices.Contains(reach[s], id) {
			reach[s] = append(reach[s], id)
		}
	}
	add(string(cstr(t.Pieces[BOS])), BOS)
	for b := 0; b < 256; b++ {
		add(string(cstr(t.Pieces[3+b])), 3+b)
	}
	strs := map[string]bool{}
	for _, p := range t.Pieces {
		s := cstr(p)
		strs[string(s)] = true
		if id := x.lookup(s); id >= 0 {
			add(string(s), id)
		}
	}
	for s := range strs {
		if s != "" && isGroup(s) {
			var k [4]byte
			copy(k[:], s)
			et.Chars = append(et.Chars, CharEntry{Key: uint32(k[0]) | uint32(k[1])<<8 | uint32(k[2])<<16 | uint32(k[3])<<24, ID: x.lookup([]byte(s))})
		}
		id := x.lookup([]byte(s))
		if id < 0 || !(t.Scores[id] > -1e10) {
			continue
		}
		for k := 0; k <= len(s); k++ {
			for _, a := range reach[s[:k]] {
				for _, b := range reach[s[k:]] {
					et.Pairs = append(et.Pairs, PairEntry{A: a, B: b, ID: id})
				}
			}
		}
	}
	slices.SortFunc(et.Chars, func(a, b CharEntry) int { return cmpU32(a.Key, b.Key) })
	slices.SortFunc(et.Pairs, func(a, b PairEntry) int { return cmpU32(a.Key(), b.Key()) })
	var scores []float32
	for _, e := range et.Pairs {
		scores = append(scores, t.Scores[e.ID])
	}
	slices.Sort(scores)
	scores = slices.Compact(scores)
	for i := range et.Pairs {
		r, _ := slices.BinarySearch(scores, t.Scores[et.Pairs[i].ID])
		et.Pairs[i].Rank = r + 1
	}
	return et, nil
}

func cmpU32(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// isGroup reports whether llama2.c's encode can look s up as one
// character: at most 4 bytes, every byte after the first a continuation
// byte, and no NUL.
func isGroup(s string) bool {
	if len(s) > 4 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 || (i > 0 && s[i]&0xC0 != 0x80) {
			return false
		}
	}
	return true
}

// Encode encodes line as a typed-prompt image does, with the tables alone:
// BOS, the dummy prefix, each group's id or its bytes' tokens, then while
// some adjacent pair has an entry, the pair of the highest rank (the
// leftmost of equals) becomes its id. It equals Tokenizer.Encode(line,
// true, false) for a line without NUL bytes (the tests check it); it is
// the model of the image's code, step for step.
func (et *EncodeTables) Encode(line []byte) []int {
	toks := []int{BOS}
	if len(line) == 0 {
		return toks
	}
	toks = append(toks, et.Space)
	chars := map[uint32]int{}
	for _, e := range et.Chars {
		chars[e.Key] = e.ID
	}
	for i := 0; i < len(line); {
		j := i + 1
		for j < len(line) && j < i+4 && line[j]&0xC0 == 0x80 {
			j++
		}
		var k [4]byte
		copy(k[:], line[i:j])
		if id, ok := chars[uint32(k[0])|uint32(k[1])<<8|uint32(k[2])<<16|uint32(k[3])<<24]; ok {
			toks = append(toks, id)
		} else {
			for _, b := range line[i:j] {
				toks = append(toks, int(b)+3)
			}
		}
		i = j
	}
	pairs := map[uint32]PairEntry{}
	for _, e := range et.Pairs {
		pairs[e.Key()] = e
	}
	for {
		best, at := 0, -1
		for i := 0; i+1 < len(toks); i++ {
			if e, ok := pairs[uint32(toks[i])|uint32(toks[i+1])<<16]; ok && e.Rank > best {
				best, at = e.Rank, i
			}
		}
		if at < 0 {
			return toks
		}
		toks[at] = pairs[uint32(toks[at])|uint32(toks[at+1])<<16].ID
		toks = slices.Delete(toks, at+1, at+2)
	}
}
