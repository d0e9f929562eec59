package checkpoint

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"slices"
)

// Special token ids of llama2.c tokenizers.
const (
	Unk = 0 // <unk>
	BOS = 1 // <s>
	EOS = 2 // </s>
)

// MaxPieceLength bounds a tokenizer file's max_token_length field.
const MaxPieceLength = 1 << 16

// Tokenizer is a llama2.c tokenizer: one piece and one score per token id.
//
// llama2.c keeps pieces as C strings, so a piece containing a NUL byte acts,
// in Encode and Piece, as its bytes before the first NUL; Pieces keeps the
// bytes of the file unchanged.
type Tokenizer struct {
	MaxTokenLength int // the file's max_token_length: no piece is longer
	Pieces         [][]byte
	Scores         []float32
	// EOT, when not 0, makes it llm.c's GPT-2 tokenizer
	// (ParseLLMCTokenizer): pieces are raw bytes, a generation starts
	// from and ends at EOT (not BOS and EOS), and nothing encodes.
	EOT int
}

// ParseTokenizer decodes a tokenizer file holding vocab tokens (vocab is the
// model's vocab_size): int32 max_token_length, then per token a float32
// score, an int32 length and that many bytes. The data must end exactly
// after the last token.
func ParseTokenizer(data []byte, vocab int) (*Tokenizer, error) {
	if vocab <= 0 || vocab > MaxDim {
		return nil, fmt.Errorf("tokenizer vocab_size is %d, must be in 1..%d", vocab, MaxDim)
	}
	if len(data) < 4 {
		return nil, fmt.Errorf("tokenizer is truncated: %d bytes, need 4 for max_token_length", len(data))
	}
	maxLen := int64(int32(binary.LittleEndian.Uint32(data)))
	if maxLen < 0 || maxLen > MaxPieceLength {
		return nil, fmt.Errorf("tokenizer max_token_length is %d, must be in 0..%d", maxLen, MaxPieceLength)
	}
	t := &Tokenizer{MaxTokenLength: int(maxLen)}
	// Every token takes at least 8 bytes, so this bounds the allocation by
	// the data size.
	capacity := min(vocab, (len(data)-4)/8)
	t.Pieces = make([][]byte, 0, capacity)
	t.Scores = make([]float32, 0, capacity)
	off := 4
	for i := 0; i < vocab; i++ {
		if len(data)-off < 8 {
			return nil, fmt.Errorf("tokenizer is truncated: token %d of %d at offset %d needs 8 bytes for its score and length, only %d remain",
				i, vocab, off, len(data)-off)
		}
		score := math.Float32frombits(binary.LittleEndian.Uint32(data[off:]))
		n := int64(int32(binary.LittleEndian.Uint32(data[off+4:])))
		off += 8
		if n < 0 {
			return nil, fmt.Errorf("tokenizer token %d has negative length %d", i, n)
		}
		if n > int64(len(data)-off) {
			return nil, fmt.Errorf("tokenizer is truncated: token %d at offset %d has length %d, only %d bytes remain",
				i, off-8, n, len(data)-off)
		}
		if n > maxLen {
			return nil, fmt.Errorf("tokenizer token %d has length %d, more than max_token_length %d", i, n, maxLen)
		}
		t.Pieces = append(t.Pieces, bytes.Clone(data[off:off+int(n)]))
		t.Scores = append(t.Scores, score)
		off += int(n)
	}
	if off != len(data) {
		return nil, fmt.Errorf("tokenizer has %d trailing bytes after its %d tokens", len(data)-off, vocab)
	}
	return t, nil
}

// LoadTokenizer reads and parses the tokenizer file at path for a model of
// vocab tokens. Parse errors are prefixed with the path.
func LoadTokenizer(path string, vocab int) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	parse := ParseTokenizer
	if len(data) >= 4 && binary.LittleEndian.Uint32(data) == LLMCTokenizerMagic {
		parse = ParseLLMCTokenizer
	}
	t, err := parse(data, vocab)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// WriteTokenizer encodes t in the llama2.c tokenizer format, so that
// ParseTokenizer(WriteTokenizer(t), len(t.Pieces)) equals t when t is valid
// (MaxTokenLength at least the longest piece, len(Scores) == len(Pieces)).
func WriteTokenizer(t *Tokenizer) []byte {
	n := 4
	for _, p := range t.Pieces {
		n += 8 + len(p)
	}
	out := make([]byte, 0, n)
	out = binary.LittleEndian.AppendUint32(out, uint32(int32(t.MaxTokenLength)))
	for i, p := range t.Pieces {
		var score float32
		if i < len(t.Scores) {
			score = t.Scores[i]
		}
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(score))
		out = binary.LittleEndian.AppendUint32(out, uint32(int32(len(p))))
		out = append(out, p...)
	}
	return out
}

// syntheticWords are the common words of the synthetic tokenizer (each with
// a leading space, after its prefixes).
var syntheticWords = []string{
	"the", "and", "was", "to", "she", "he", "they", "it", "a", "in", "of",
	"her", "his", "with", "said", "day", "one", "upon", "time", "there",
	"little", "big", "girl", "boy", "play", "saw", "happy", "mom", "cat",
	"dog", "tree", "ball", "friend", "fun", "sun", "park", "went", "had",
	"not", "you", "we", "is", "very", "so", "but", "lily", "tom", "ben",
}

// Synthetic returns a tokenizer made from the vocabulary size alone, for
// models with random weights and no tokenizer file. The rule:
//
//   - ids 0, 1, 2 are "<unk>", "<s>", "</s>", score 0;
//   - if vocab >= 259, ids 3..258 are the byte tokens "<0x00>".."<0xFF>",
//     score 0 (so every byte of a text can be encoded by byte fallback);
//   - the remaining ids take, in order, the pieces of this sequence, the
//     k-th (from 0) with score -k, skipping any piece already taken:
//     " " (the dummy prefix); the letters "a".."z"; " a".." z"; then for
//     each word of a fixed list of common lowercase words ("the", "and",
//     "was", ...) the piece " "+word preceded by its own prefixes (" t",
//     " th", " the"); then " "+s for every string s of two lowercase
//     letters in lexicographic order, then of three letters, and so on.
//
// Every piece longer than one byte is the concatenation of an earlier
// piece and a letter, so merges can build each of them, and earlier
// (shorter) pieces score higher, as in sentencepiece exports. All pieces
// are printable. vocab < 3 yields only the first vocab special tokens;
// vocab <= 0 an empty tokenizer.
func Synthetic(vocab int) *Tokenizer {
	vocab = max(vocab, 0)
	t := &Tokenizer{Pieces: make([][]byte, 0, vocab), Scores: make([]float32, 0, vocab)}
	seen := make(map[string]bool, vocab)
	add := func(piece string, score float32) bool {
		if len(t.Pieces) == vocab {
			return false
		}
		if seen[piece] {
			return true
		}
		seen[piece] = true
		t.Pieces = append(t.Pieces, []byte(piece))
		t.Scores = append(t.Scores, score)
		t.MaxTokenLength = max(t.MaxTokenLength, len(piece))
		return true
	}
	for _, s := range []string{"<unk>", "<s>", "</s>"} {
		add(s, 0)
	}
	if vocab >= 259 {
		for b := 0; b < 256; b++ {
			add(fmt.Sprintf("<0x%02X>", b), 0)
		}
	}
	k := 0
	word := func(piece string) bool {
		if seen[piece] {
			return len(t.Pieces) < vocab
		}
		ok := add(piece, float32(-k))
		k++
		return ok
	}
	if !word(" ") {
		return t
	}
	for c := 'a'; c <= 'z'; c++ {
		if !word(string(c)) {
			return t
		}
	}
	for c := 'a'; c <= 'z'; c++ {
		if !word(" " + string(c)) {
			return t
		}
	}
	for _, w := range syntheticWords {
		for n := 1; n <= len(w); n++ {
			if !word(" " + w[:n]) {
				return t
			}
		}
	}
	// " "+s for s over a..z of length 2, 3, ...: an odometer per length.
	for n := 2; ; n++ {
		s := bytes.Repeat([]byte{'a'}, n)
		for {
			if !word(" " + string(s)) {
				return t
			}
			i := n - 1
			for i >= 0 && s[i] == 'z' {
				s[i] = 'a'
				i--
			}
			if i < 0 {
				break
			}
			s[i]++
		}
	}
}

// cstr is the C-string view of b: its bytes before the first NUL.
func cstr(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// vocabIndex is llama2.c's sorted_vocab: token ids sorted by piece (as C
// strings, compared as strcmp does). llama2.c sorts with qsort, which in
// glibc is a stable merge sort, so equal pieces keep id order.
type vocabIndex struct {
	t   *Tokenizer
	ids []int
}

func (t *Tokenizer) index() vocabIndex {
	ids := make([]int, len(t.Pieces))
	for i := range ids {
		ids[i] = i
	}
	slices.SortStableFunc(ids, func(a, b int) int {
		return bytes.Compare(cstr(t.Pieces[a]), cstr(t.Pieces[b]))
	})
	return vocabIndex{t, ids}
}

// lookup is llama2.c's str_lookup: glibc's bsearch over the sorted vocab;
// -1 when the string is no piece.
func (x vocabIndex) lookup(s []byte) int {
	l, u := 0, len(x.ids)
	for l < u {
		i := (l + u) / 2
		switch c := bytes.Compare(s, cstr(x.t.Pieces[x.ids[i]])); {
		case c < 0:
			u = i
		case c > 0:
			l = i + 1
		default:
			return x.ids[i]
		}
	}
	return -1
}

// Encode tokenizes text exactly as llama2.c's encode(): BOS (1) if bos;
// when text is non-empty the dummy prefix, the piece " "; then each UTF-8
// character (a lead byte with up to three continuation bytes, as llama2.c
// groups them) as its piece, or else each of its bytes as the byte token
// byte+3; then, repeatedly, the adjacent pair whose concatenation is a
// piece with the highest score (the first such pair on ties; scores must
// beat -1e10) is merged, until no pair merges; EOS (2) if eos. As in C,
// text ends at its first NUL byte.
//
// Where llama2.c would produce a token outside the vocabulary (BOS or EOS
// requested with fewer than 2 or 3 tokens, no " " piece for the dummy
// prefix, or a byte token id >= vocab size), Encode returns an error;
// also when Scores and Pieces differ in length.
//
// Each call sorts the vocabulary (as llama2.c does once per tokenizer):
// O(V log V) for V pieces, besides the merges' O(n²) lookups for n bytes.
func (t *Tokenizer) Encode(text string, bos, eos bool) ([]int, error) {
	if t.EOT != 0 {
		if text != "" || eos {
			return nil, ErrNoMerges
		}
		if bos {
			return []int{t.EOT}, nil
		}
		return []int{}, nil
	}
	if len(t.Scores) != len(t.Pieces) {
		return nil, fmt.Errorf("tokenizer has %d pieces but %d scores", len(t.Pieces), len(t.Scores))
	}
	if bos && BOS >= len(t.Pieces) {
		return nil, fmt.Errorf("cannot encode %q: BOS (1) is outside the vocabulary of %d tokens", text, len(t.Pieces))
	}
	if eos && EOS >= len(t.Pieces) {
		return nil, fmt.Errorf("cannot encode %q: EOS (2) is outside the vocabulary of %d tokens", text, len(t.Pieces))
	}
	x := t.index()
	tokens, err := t.split(x, text, bos)
	if err != nil {
		return nil, err
	}
	tokens = t.merge(x, tokens)
	if eos {
		tokens = append(tokens, EOS)
	}
	return tokens, nil
}

// split returns text's tokens before the merges, as llama2.c's encode
// makes them: BOS (with bos), the dummy prefix " ", then each UTF-8
// character's piece or its bytes' tokens.
func (t *Tokenizer) split(x vocabIndex, text string, bos bool) ([]int, error) {
	src := cstr([]byte(text))
	tokens := make([]int, 0, len(src)+3)
	if bos {
		tokens = append(tokens, BOS)
	}
	if len(src) > 0 {
		id := x.lookup([]byte(" "))
		if id < 0 {
			return nil, fmt.Errorf("cannot encode %q: the tokenizer has no \" \" piece for the dummy prefix", text)
		}
		tokens = append(tokens, id)
	}
	buf := make([]byte, 0, 4)
	for i, c := range src {
		if c&0xC0 != 0x80 {
			buf = buf[:0]
		}
		buf = append(buf, c)
		if i+1 < len(src) && src[i+1]&0xC0 == 0x80 && len(buf) < 4 {
			continue
		}
		if id := x.lookup(buf); id >= 0 {
			tokens = append(tokens, id)
		} else {
			for _, b := range buf {
				id := int(b) + 3
				if id >= len(t.Pieces) {
					return nil, fmt.Errorf("cannot encode %q: byte 0x%02x is no piece and its byte token %d is outside the vocabulary of %d tokens",
						text, b, id, len(t.Pieces))
				}
				tokens = append(tokens, id)
			}
		}
		buf = buf[:0]
	}
	return tokens, nil
}

// merge applies llama2.c's merges to tokens: while some adjacent pair's
// concatenation is a piece with a score above -1e10, the pair whose piece
// scores highest (the leftmost of equals) becomes that piece. llama2.c scans
// every pair after each merge, quadratic in the length; here a heap holds
// the candidate pairs, and a merge adds only its two new neighbours' pairs,
// so that n tokens take O(n log n) steps and give the same tokens.
func (t *Tokenizer) merge(x vocabIndex, tokens []int) []int {
	n := len(tokens)
	next, prev := make([]int, n), make([]int, n)
	for i := range n {
		next[i], prev[i] = i+1, i-1
	}
	h := &pairHeap{}
	var buf []byte
	push := func(l int) {
		r := next[l]
		if l < 0 || r >= n {
			return
		}
		buf = append(append(buf[:0], cstr(t.Pieces[tokens[l]])...), cstr(t.Pieces[tokens[r]])...)
		if id := x.lookup(buf); id != -1 && t.Scores[id] > -1e10 {
			h.push(pair{score: t.Scores[id], left: l, right: r, lt: tokens[l], rt: tokens[r], id: id})
		}
	}
	for i := 0; i+1 < n; i++ {
		push(i)
	}
	dead := make([]bool, n)
	for h.len() > 0 {
		c := h.pop()
		if dead[c.left] || dead[c.right] || next[c.left] != c.right || tokens[c.left] != c.lt || tokens[c.right] != c.rt {
			continue // stale: a merge changed a side
		}
		tokens[c.left] = c.id
		dead[c.right] = true
		next[c.left] = next[c.right]
		if next[c.left] < n {
			prev[next[c.left]] = c.left
		}
		if prev[c.left] >= 0 {
			push(prev[c.left])
		}
		push(c.left)
	}
	out := tokens[:0]
	for i := 0; i < n; i = next[i] {
		out = append(out, tokens[i])
	}
	return out
}

// pair is a candidate merge of the tokens at positions left and right
// (lt and rt when it was found) into id.
type pair struct {
	score       float32
	left, right int
	lt, rt, id  int
}

// pairHeap is a max-heap of pairs by score, then leftmost first.
type pairHeap struct{ a []pair }

func (h *pairHeap) len() int { return len(h.a) }

func (h *pairHeap) less(i, j int) bool {
	if h.a[i].score != h.a[j].score {
		return h.a[i].score > h.a[j].score
	}
	return h.a[i].left < h.a[j].left
}

func (h *pairHeap) push(p pair) {
	h.a = append(h.a, p)
	for i := len(h.a) - 1; i > 0; {
		up := (i - 1) / 2
		if !h.less(i, up) {
			break
		}
		h.a[i], h.a[up] = h.a[up], h.a[i]
		i = up
	}
}

func (h *pairHeap) pop() pair {
	top := h.a[0]
	last := len(h.a) - 1
	h.a[0] = h.a[last]
	h.a = h.a[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < last && h.less(l, m) {
			m = l
		}
		if r < last && h.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		h.a[i], h.a[m] = h.a[m], h.a[i]
		i = m
	}
	return top
}

// Piece returns the text of token tok following token prev, exactly as
// llama2.c's decode(): the piece (as a C string); without its leading space
// when prev is BOS (1); and if the piece then matches sscanf's
// "<0x%02hhX>" (such as "<0x0A>"), the single raw byte instead, or nothing
// for the byte 0 (a C string ends there). It returns nil for an id outside
// the vocabulary. The result is a fresh slice.
func (t *Tokenizer) Piece(prev, tok int) []byte {
	if tok < 0 || tok >= len(t.Pieces) {
		return nil
	}
	p := cstr(t.Pieces[tok])
	if t.EOT != 0 {
		return append([]byte{}, p...) // llm.c's decode: the bytes
	}
	if prev == BOS && len(p) > 0 && p[0] == ' ' {
		p = p[1:]
	}
	if b, ok := scanHexByte(p); ok {
		if b == 0 {
			return []byte{}
		}
		return []byte{b}
	}
	return append([]byte{}, p...)
}

// cIsSpace and cIsPrint are isspace and isprint in the C locale (llama2.c
// never calls setlocale).
func cIsSpace(b byte) bool { return b == ' ' || (b >= '\t' && b <= '\r') }
func cIsPrint(b byte) bool { return b >= 0x20 && b <= 0x7E }

// scanHexByte reports whether sscanf(p, "<0x%02hhX>", &v) == 1 in glibc, and
// v. The literal "<0x" must match; %02hhX then skips white space and reads
// at most two characters: an optional sign, an optional "0x"/"0X" prefix
// after a '0' (which counts as the digit 0) and hex digits. It succeeds if
// it read a digit; the value is converted as strtoul does (a minus sign
// negates modulo 2^n) and truncated to a byte. The closing '>' is never
// checked by the return value.
func scanHexByte(p []byte) (byte, bool) {
	if !bytes.HasPrefix(p, []byte("<0x")) {
		return 0, false
	}
	p = p[3:]
	for len(p) > 0 && cIsSpace(p[0]) {
		p = p[1:]
	}
	width := 2
	neg := false
	digits := 0
	var v byte
	if len(p) > 0 && (p[0] == '+' || p[0] == '-') {
		neg = p[0] == '-'
		p = p[1:]
		width--
	}
	if width > 0 && len(p) > 0 && p[0] == '0' {
		digits++ // v stays 0
		p = p[1:]
		width--
		if width > 0 && len(p) > 0 && (p[0] == 'x' || p[0] == 'X') {
			p = p[1:]
			width--
		}
	}
	for width > 0 && len(p) > 0 {
		d, ok := hexDigit(p[0])
		if !ok {
			break
		}
		v = v<<4 | d
		digits++
		p = p[1:]
		width--
	}
	if digits == 0 {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Printable reports whether llama2.c's safe_printf prints piece: not when
// it is empty (or starts with NUL), and not when it is a single byte that
// is neither printable nor white space (isprint, isspace in the C locale).
// A printed piece is printed up to its first NUL; Piece never returns one.
func Printable(piece []byte) bool {
	if len(piece) == 0 || piece[0] == 0 {
		return false
	}
	if len(piece) == 1 {
		return cIsPrint(piece[0]) || cIsSpace(piece[0])
	}
	return true
}
