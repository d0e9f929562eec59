package checkpoint

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// llm.c's GPT-2 tokenizer file (tokenizer.h's tokenizer_init, as
// train_gpt2.py writes it): a header of 256 uint32, [0] the magic
// 20240328, [1] the version (1, or 2 with [3] the end-of-text token), [2]
// vocab_size; then per token a uint8 length (at least 1) and its bytes.
// The pieces are the tokens' raw bytes (GPT-2's byte-level encoding
// undone), and the file has no merges: it decodes, it cannot encode.

// LLMCTokenizerMagic is the first uint32 of an llm.c tokenizer file.
const LLMCTokenizerMagic = 20240328

// llmcDefaultEOT is version 1's end-of-text token (GPT-2's <|endoftext|>).
const llmcDefaultEOT = 50256

// ErrNoMerges: an llm.c tokenizer cannot encode text.
var ErrNoMerges = errors.New("llm.c's tokenizer file has no merges: it cannot encode a prompt (use the empty prompt, or llama2.c's tokenizer)")

// ParseLLMCTokenizer decodes an llm.c tokenizer file for a model of vocab
// tokens (its vocab_size must be that).
func ParseLLMCTokenizer(data []byte, vocab int) (*Tokenizer, error) {
	const header = 256 * 4
	if len(data) < header {
		return nil, fmt.Errorf("llm.c tokenizer is truncated: %d bytes, its header is %d", len(data), header)
	}
	h := func(i int) uint32 { return binary.LittleEndian.Uint32(data[4*i:]) }
	if h(0) != LLMCTokenizerMagic {
		return nil, fmt.Errorf("not an llm.c tokenizer: magic %d, want %d", h(0), LLMCTokenizerMagic)
	}
	eot := uint32(llmcDefaultEOT)
	switch h(1) {
	case 1:
	case 2:
		eot = h(3)
	default:
		return nil, fmt.Errorf("llm.c tokenizer version %d (tfc reads 1 and 2)", h(1))
	}
	if int(h(2)) != vocab {
		return nil, fmt.Errorf("llm.c tokenizer has %d tokens, the model's vocab is %d", h(2), vocab)
	}
	if eot == 0 || int(eot) >= vocab {
		return nil, fmt.Errorf("llm.c tokenizer's end-of-text token %d is outside 1..%d", eot, vocab-1)
	}
	t := &Tokenizer{EOT: int(eot), Pieces: make([][]byte, 0, vocab), Scores: make([]float32, vocab)}
	at := header
	for i := 0; i < vocab; i++ {
		if at >= len(data) {
			return nil, fmt.Errorf("llm.c tokenizer is truncated at token %d of %d", i, vocab)
		}
		n := int(data[at])
		if n == 0 {
			return nil, fmt.Errorf("llm.c tokenizer: token %d has length 0", i)
		}
		if at+1+n > len(data) {
			return nil, fmt.Errorf("llm.c tokenizer is truncated in token %d", i)
		}
		t.Pieces = append(t.Pieces, append([]byte(nil), data[at+1:at+1+n]...))
		t.MaxTokenLength = max(t.MaxTokenLength, n)
		at += 1 + n
	}
	if at != len(data) {
		return nil, fmt.Errorf("llm.c tokenizer has %d bytes after its %d tokens", len(data)-at, vocab)
	}
	return t, nil
}

// WriteLLMCTokenizer encodes pieces (each 1..255 bytes) as an llm.c
// tokenizer file, version 2 with end-of-text token eot (tests).
func WriteLLMCTokenizer(pieces [][]byte, eot int) []byte {
	b := make([]byte, 256*4)
	binary.LittleEndian.PutUint32(b[0:], LLMCTokenizerMagic)
	binary.LittleEndian.PutUint32(b[4:], 2)
	binary.LittleEndian.PutUint32(b[8:], uint32(len(pieces)))
	binary.LittleEndian.PutUint32(b[12:], uint32(eot))
	for _, p := range pieces {
		b = append(b, byte(len(p)))
		b = append(b, p...)
	}
	return b
}

// Start is the token a generation starts from: BOS (llama2.c), or the
// end-of-text token (llm.c's GPT-2, which starts from it).
func (t *Tokenizer) Start() int {
	if t.EOT != 0 {
		return t.EOT
	}
	return BOS
}

// Ends says whether a chosen token ends the generation: BOS or EOS
// (llama2.c), or the end-of-text token.
func (t *Tokenizer) Ends(tok int) bool {
	if t.EOT != 0 {
		return tok == t.EOT
	}
	return tok == BOS || tok == EOS
}
