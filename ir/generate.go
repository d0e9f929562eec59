package ir

import (
	"fmt"
	"io"

	"tfc/checkpoint"
	"tfc/lang"
)

// Stepper runs one forward pass: the next token for token at pos.
type Stepper interface {
	Step(token, pos int) int
}

// BOS and EOS are llama2.c's sequence tokens.
const (
	BOS = 1
	EOS = 2
)

// Generate runs llama2.c's generation loop: the prompt's tokens are forced,
// then the model picks each next token, until BOS or EOS (llm.c's
// tokenizer: its end-of-text token) or steps positions.
// It writes what llama2.c's run prints (pieces decoded, unprintable bytes
// skipped, a final newline) and returns the tokens chosen.
func Generate(s Stepper, tok *checkpoint.Tokenizer, prompt []int, steps int, w io.Writer) ([]int, error) {
	var out []int
	token := prompt[0]
	for pos := 0; pos < steps; pos++ {
		next := s.Step(token, pos)
		if pos+1 < len(prompt) {
			next = prompt[pos+1]
		}
		out = append(out, next)
		if tok.Ends(next) {
			break
		}
		piece := tok.Piece(token, next)
		if checkpoint.Printable(piece) {
			if _, err := w.Write(piece); err != nil {
				return out, err
			}
		}
		token = next
	}
	_, err := io.WriteString(w, "\n")
	return out, err
}

// PromptTokens encodes the prompt as the image starts from: BOS, then the
// prompt's tokens. An error points at the prompt in the file, or, for a
// prompt given on the command line, says so.
func (p *Program) PromptTokens() ([]int, error) {
	ids, err := p.Tokenizer.Encode(p.Gen.Prompt, true, false)
	if err == nil {
		return ids, nil
	}
	if p.Gen.PromptPos.Line == 0 {
		return nil, fmt.Errorf("the prompt: %v", err)
	}
	return nil, lang.Errorf(p.Gen.PromptPos, "%v", err)
}
