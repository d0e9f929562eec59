package checkpoint

import (
	"bytes"
	"math"
	"testing"
	"unicode"
	"unicode/utf8"
)

// checkMessage fails unless msg is a plain lower-case message.
func checkMessage(t *testing.T, msg string) {
	t.Helper()
	r, _ := utf8.DecodeRuneInString(msg)
	if msg == "" || unicode.IsUpper(r) {
		t.Fatalf("bad error message %q", msg)
	}
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
		if (herr == nil) != (rerr == nil) || c != rc {
			t.Fatalf("ParseHeader %v %v, ReadHeader %v %v", c, herr, rc, rerr)
		}
		if herr != nil {
			checkMessage(t, herr.Error())
			if herr.Error() != rerr.Error() {
				t.Fatalf("ParseHeader %q, ReadHeader %q", herr, rerr)
			}
		}
		if err != nil {
			checkMessage(t, err.Error())
			if m != nil {
				t.Fatal("model and error")
			}
			return
		}
		if herr != nil {
			t.Fatalf("Parse succeeded, ParseHeader failed: %v", herr)
		}
		if m.Config != c || ExpectedSize(c) != int64(len(data)) {
			t.Fatalf("config %+v, header %+v, size %d, expected %d", m.Config, c, len(data), ExpectedSize(c))
		}
		shapes := TensorShapes(c)
		if len(m.Tensors) != len(shapes) {
			t.Fatalf("%d tensors, want %d", len(m.Tensors), len(shapes))
		}
		for name, shape := range shapes {
			tn := m.Tensors[name]
			if tn == nil || !equalInts(tn.Shape, shape) {
				t.Fatalf("tensor %s: %v", name, tn)
			}
		}
		out := Write(m)
		if len(out) != len(data) {
			t.Fatalf("Write wrote %d bytes, want %d", len(out), len(data))
		}
		back, err := Parse(out)
		if err != nil {
			t.Fatal(err)
		}
		if !sameBits(m, back) {
			t.Fatal("Parse(Write(m)) differs from m")
		}
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
			if tok != nil {
				t.Fatal("tokenizer and error")
			}
			return
		}
		if len(tok.Pieces) != vocab || len(tok.Scores) != vocab {
			t.Fatalf("%d pieces, %d scores, want %d", len(tok.Pieces), len(tok.Scores), vocab)
		}
		if !bytes.Equal(WriteTokenizer(tok), data) {
			t.Fatal("WriteTokenizer differs from the input")
		}
		for i, p := range tok.Pieces {
			if len(p) > tok.MaxTokenLength {
				t.Fatalf("piece %d longer than max_token_length", i)
			}
			for _, prev := range []int{0, BOS, i} {
				q := tok.Piece(prev, i)
				if q == nil || len(q) > len(p) || bytes.IndexByte(q, 0) >= 0 {
					t.Fatalf("Piece(%d, %d) = %q from %q", prev, i, q, p)
				}
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
				if id < 0 || id >= vocab {
					t.Fatalf("Encode(%q) = %v: id outside the vocabulary", text, ids)
				}
			}
			if flags[0] && (len(ids) == 0 || ids[0] != BOS) {
				t.Fatalf("Encode(%q, bos) = %v", text, ids)
			}
			if flags[1] && (len(ids) == 0 || ids[len(ids)-1] != EOS) {
				t.Fatalf("Encode(%q, eos) = %v", text, ids)
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
		if err != nil {
			t.Fatal(err)
		}
		want := string(cstr([]byte(text)))
		if got := decodeAll(tok, ids); got != want {
			t.Fatalf("decode(encode(%q)) = %q (ids %v)", text, got, ids)
		}
	})
}
