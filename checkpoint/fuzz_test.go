package checkpoint

import (
	"bytes"
	"math"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// checkMessage fails unless msg is a plain lower-case message.
func checkMessage(t *testing.T, msg string) {
	t.Helper()
	r, _ := utf8.DecodeRuneInString(msg)
	require.NotEmpty(t, msg, "bad error message")
	require.False(t, unicode.IsUpper(r), "bad error message %q", msg)
}

func FuzzParse(f *testing.F) {
	f.Add(Write(randomModel(tinyShared, 1)))
	f.Add(Write(randomModel(tinyUnshared, 2)))
	f.Add(Write(randomModel(Config{Dim: 1, Hidden: 1, Layers: 1, Heads: 1, KVHeads: 1, Vocab: 1, SeqLen: 1, Shared: true}, 3)))
	f.Add(Write(randomModel(Config{Dim: 6, Hidden: 5, Layers: 3, Heads: 3, KVHeads: 3, Vocab: 7, SeqLen: 9}, 4)))
	f.Add(header(64, 172, 5, 8, 4, 512, 512))
	f.Add(header(1<<20, 1<<20, 1<<20, 1<<20, 1<<20, -(1 << 20), 1<<20))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		c, herr := ParseHeader(data)
		rc, rerr := ReadHeader(bytes.NewReader(data))
		require.Equal(t, herr == nil, rerr == nil, "ParseHeader %v %v, ReadHeader %v %v", c, herr, rc, rerr)
		require.Equal(t, c, rc, "ParseHeader's config, ReadHeader's (errors %v, %v)", herr, rerr)
		if herr != nil {
			checkMessage(t, herr.Error())
			require.EqualError(t, rerr, herr.Error(), "ReadHeader's error, ParseHeader's")
		}
		if err != nil {
			checkMessage(t, err.Error())
			require.Nil(t, m, "model and error")
			return
		}
		require.NoError(t, herr, "Parse succeeded, ParseHeader failed")
		require.Equal(t, c, m.Config, "config (the header's, Parse's)")
		require.Equal(t, ExpectedSize(c), int64(len(data)), "size (ExpectedSize, the data's)")
		shapes := TensorShapes(c)
		require.Equal(t, len(shapes), len(m.Tensors), "tensors")
		for name, shape := range shapes {
			tn := m.Tensors[name]
			require.NotNil(t, tn, "tensor %s", name)
			require.Equal(t, shape, tn.Shape, "tensor %s", name)
		}
		out := Write(m)
		require.Equal(t, len(data), len(out), "bytes Write wrote")
		back, err := Parse(out)
		require.NoError(t, err)
		require.True(t, sameBits(m, back), "Parse(Write(m)) differs from m")
	})
}

func FuzzParseTokenizer(f *testing.F) {
	f.Add(WriteTokenizer(Synthetic(3)), 3, "hello")
	f.Add(WriteTokenizer(Synthetic(40)), 40, "a cab")
	f.Add(WriteTokenizer(Synthetic(300)), 300, "Hello, wörld!")
	f.Add(WriteTokenizer(toy([]string{"<unk>", "<s>", "</s>", " ", "a", "b", "ab", " a", "ba", " ab", "é", "<0x41>", " <0x", "x\x00y"},
		[]float32{0, 0, 0, -1, -1, -1, -5, -2, -5, -3, -1, 0, float32(math.NaN()), 2})), 14, "aba é")
	f.Add([]byte{7, 0, 0, 0}, 1, "")
	f.Fuzz(func(t *testing.T, data []byte, vocab int, text string) {
		tok, err := ParseTokenizer(data, vocab)
		if err != nil {
			checkMessage(t, err.Error())
			require.Nil(t, tok, "tokenizer and error")
			return
		}
		require.Equal(t, vocab, len(tok.Pieces), "pieces")
		require.Equal(t, vocab, len(tok.Scores), "scores")
		require.Equal(t, data, WriteTokenizer(tok), "WriteTokenizer differs from the input")
		for i, p := range tok.Pieces {
			require.LessOrEqual(t, len(p), tok.MaxTokenLength, "piece %d longer than max_token_length", i)
			for _, prev := range []int{0, BOS, i} {
				q := tok.Piece(prev, i)
				require.NotNil(t, q, "Piece(%d, %d) from %q", prev, i, p)
				require.LessOrEqual(t, len(q), len(p), "Piece(%d, %d) = %q from %q", prev, i, q, p)
				require.NotContains(t, string(q), "\x00", "Piece(%d, %d) = %q from %q", prev, i, q, p)
				Printable(q)
			}
		}
		for _, flags := range [][2]bool{{true, false}, {false, true}} {
			ids, err := tok.Encode(text, flags[0], flags[1])
			if err != nil {
				checkMessage(t, err.Error())
				continue
			}
			for _, id := range ids {
				require.GreaterOrEqual(t, id, 0, "Encode(%q) = %v: id outside the vocabulary", text, ids)
				require.Less(t, id, vocab, "Encode(%q) = %v: id outside the vocabulary", text, ids)
			}
			if flags[0] {
				require.NotEmpty(t, ids, "Encode(%q, bos)", text)
				require.Equal(t, BOS, ids[0], "Encode(%q, bos) = %v", text, ids)
			}
			if flags[1] {
				require.NotEmpty(t, ids, "Encode(%q, eos)", text)
				require.Equal(t, EOS, ids[len(ids)-1], "Encode(%q, eos) = %v", text, ids)
			}
		}
	})
}

// FuzzEncode checks that with the synthetic tokenizer (which has byte
// tokens and no piece that decodes to anything but itself) decoding an
// encoding gives the text back, up to its first NUL.
func FuzzEncode(f *testing.F) {
	tok := Synthetic(512)
	for _, s := range []string{"", "a", "once upon a time", "Lily, 42 €!", "\xff\xc3", "<0x41>", " lead", "tab\there\n", "a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		ids, err := tok.Encode(text, true, false)
		require.NoError(t, err)
		require.Equal(t, string(cstr([]byte(text))), decodeAll(tok, ids), "decode(encode(%q)) (ids %v)", text, ids)
	})
}
