package checkpoint

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// llm.c's tokenizer file: what it decodes, and each malformed file's
// message.
func TestLLMCTokenizerFile(t *testing.T) {
	pieces := [][]byte{[]byte("!"), []byte(" the"), []byte("\x00x"), []byte("<|endoftext|>")}
	data := WriteLLMCTokenizer(pieces, 3)
	tok, err := ParseLLMCTokenizer(data, 4)
	require.NoError(t, err)
	assert.Equal(t, 3, tok.EOT)
	assert.Equal(t, 3, tok.Start())
	assert.True(t, tok.Ends(3))
	assert.False(t, tok.Ends(1), "1 is text in GPT-2's vocabulary")
	assert.False(t, tok.Ends(2))
	assert.Equal(t, []byte(" the"), tok.Piece(3, 1), "no space taken after the start token")
	assert.Equal(t, []byte{}, tok.Piece(0, 2), "a C string: nothing past NUL")
	ids, err := tok.Encode("", true, false)
	require.NoError(t, err)
	assert.Equal(t, []int{3}, ids)
	_, err = tok.Encode("the", true, false)
	assert.ErrorIs(t, err, ErrNoMerges)

	v1 := append([]byte(nil), data...)
	binary.LittleEndian.PutUint32(v1[4:], 1)
	_, err = ParseLLMCTokenizer(v1, 4)
	assert.EqualError(t, err, "llm.c tokenizer's end-of-text token 50256 is outside 1..3")
	for _, c := range []struct {
		data  []byte
		vocab int
		want  string
	}{
		{data[:100], 4, "llm.c tokenizer is truncated: 100 bytes, its header is 1024"},
		{data, 5, "llm.c tokenizer has 4 tokens, the model's vocab is 5"},
		{data[:len(data)-3], 4, "llm.c tokenizer is truncated in token 3"},
		{append(append([]byte(nil), data...), 0), 4, "llm.c tokenizer has 1 bytes after its 4 tokens"},
		{WriteLLMCTokenizer([][]byte{[]byte("a"), {}}, 0), 2, "llm.c tokenizer's end-of-text token 0 is outside 1..1"},
		{WriteLLMCTokenizer([][]byte{[]byte("a"), {}}, 1), 2, "llm.c tokenizer: token 1 has length 0"},
	} {
		_, err := ParseLLMCTokenizer(c.data, c.vocab)
		assert.EqualError(t, err, c.want)
	}
	bad := append([]byte(nil), data...)
	binary.LittleEndian.PutUint32(bad[4:], 3)
	_, err = ParseLLMCTokenizer(bad, 4)
	assert.EqualError(t, err, "llm.c tokenizer version 3 (tfc reads 1 and 2)")
}
