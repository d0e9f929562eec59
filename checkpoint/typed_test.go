package checkpoint

import (
	"bytes"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// typedLines are lines of the kinds a typed prompt holds: pieces of the
// tokenizer run together (which merge the most), ASCII, spaces, digits,
// UTF-8 characters, stray continuation and lead bytes, control bytes.
func typedLines(t *Tokenizer, n int, seed int64) [][]byte {
	r := rand.New(rand.NewSource(seed))
	extra := []string{" ", "  ", "1", "42", ",", ".", "!", "\"", "é", "€", "“", "”", "’", "世", "\xc3", "\xa9", "\x80",
		"\xf0\x9f\x98\x80", "\xf0\x80\x80\x80\x80", "\t", "\x01", "\xff", "\x7f"}
	var lines [][]byte
	for range n {
		var b []byte
		for k := r.Intn(40); k > 0; k-- {
			switch r.Intn(3) {
			case 0:
				b = append(b, extra[r.Intn(len(extra))]...)
			case 1:
				b = append(b, byte(1+r.Intn(255)))
			default:
				b = append(b, cstr(t.Pieces[r.Intn(len(t.Pieces))])...)
			}
		}
		lines = append(lines, b)
	}
	return lines
}

// The tables' encoder, the model of the image's, equals Encode on every
// line without NUL.
func TestEncodeTables(t *testing.T) {
	toks := map[string]*Tokenizer{"synthetic 512": Synthetic(512), "synthetic 300": Synthetic(300)}
	// Duplicates, a score at -1e10, a NUL inside a piece, pieces of
	// continuation bytes, and a byte token's string among the merges.
	odd := Synthetic(280)
	for _, p := range []string{" ", "ab", "ab", "\xa9", "é", "\xc3\xa9\xa9", "x\x00y", "<0x41>a", "a\xa9"} {
		odd.Pieces = append(odd.Pieces, []byte(p))
		odd.Scores = append(odd.Scores, -float32(len(odd.Pieces)%7))
	}
	odd.Scores[len(odd.Scores)-2] = -1e10
	toks["odd"] = odd
	for _, dir := range []string{"/../shared/models/", "/models/"} {
		if path := repoRoot(t) + dir + "tok512.bin"; fileExists(path) {
			tok, err := LoadTokenizer(path, 512)
			require.NoError(t, err)
			toks["tok512"] = tok
			break
		}
	}
	for name, tok := range toks {
		et, err := tok.EncodeTables()
		require.NoError(t, err)
		lines := typedLines(tok, 400, 1)
		lines = append(lines, []byte("Lily wanted a puppy"), []byte(" leading and trailing  "), []byte("a"), bytes.Repeat([]byte("0123456789"), 70))
		for _, line := range lines {
			want, err := tok.Encode(string(line), true, false)
			require.NoError(t, err)
			// require: the first line that differs is enough.
			require.Equal(t, want, et.Encode(line), "%s: %q encoded by Encode (expected), the tables (actual)", name, line)
		}
	}
}

func TestEncodeTablesRefused(t *testing.T) {
	_, err := Synthetic(258).EncodeTables()
	assert.EqualError(t, err, "a vocabulary of 258 tokens: a typed line may hold any byte, and llama2.c encodes a byte that is no piece as its byte token (3..258)")
	noSpace := Synthetic(259)
	_, err = noSpace.EncodeTables()
	assert.EqualError(t, err, `the tokenizer has no " " piece for the dummy prefix`)
}

func FuzzEncodeTables(f *testing.F) {
	tok := Synthetic(512)
	et, err := tok.EncodeTables()
	require.NoError(f, err)
	for _, s := range []string{"", "a", "once upon a time", "Lily, 42 €!", "\xff\xc3", "<0x41>", " lead", "tab\there"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		line = bytes.ReplaceAll(line, []byte{0}, nil)
		want, err := tok.Encode(string(line), true, false)
		require.NoError(t, err)
		require.Equal(t, want, et.Encode(line), "%q encoded by Encode (expected), the tables (actual)", line)
	})
}
