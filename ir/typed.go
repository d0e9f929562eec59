package ir

import (
	"bufio"
	"errors"
	"io"

	"tfc/checkpoint"
)

// MaxLine is the most bytes of a typed line: the image keeps the first
// MaxLine and drops the rest (spec.md section 3, "Typed prompts").
const MaxLine = 1024

// Control bytes of the typed-prompt line discipline.
const (
	EOT       = 0x04 // end of input: the image halts
	Backspace = 0x08 // with DEL (0x7F): deletes the last byte of the line
	DEL       = 0x7F
)

// LineReader splits what a typed-prompt image reads from COM1 into lines
// as the image does: a line ends at '\n'; '\r' and NUL are dropped (the
// keyboard's Enter is '\r', which the image reads as '\n'; its extended
// keys read as NUL); backspace (0x08) and DEL (0x7F) delete the line's
// last byte, if any; bytes past MaxLine are dropped; EOT (0x04) ends the
// input at once (a partial line before it is dropped), and so does the
// end of r, after a partial line (tfc run ends its input with '\n' when
// it does not, then EOT: see qemu.Options.Stdin).
type LineReader struct {
	r   *bufio.Reader
	eof bool
}

// NewLineReader reads lines from r.
func NewLineReader(r io.Reader) *LineReader { return &LineReader{r: bufio.NewReader(r)} }

// Next returns the next line, or ok false at the end of the input.
func (lr *LineReader) Next() (line []byte, ok bool, err error) {
	if lr.eof {
		return nil, false, nil
	}
	for {
		c, err := lr.r.ReadByte()
		switch {
		case errors.Is(err, io.EOF):
			lr.eof = true
			return line, len(line) > 0, nil
		case err != nil:
			return nil, false, err
		case c == EOT:
			lr.eof = true
			return nil, false, nil
		}
		switch c {
		case '\n':
			return line, true, nil
		case '\r', 0:
			continue
		case Backspace, DEL:
			if len(line) > 0 {
				line = line[:len(line)-1]
			}
		default:
			if len(line) < MaxLine {
				line = append(line, c)
			}
		}
	}
}

// Converse runs a typed-prompt program (generate { prompt = typed }) on the
// host as its image runs: for each line read from in (LineReader), the
// line's tokens (BOS and the line, llama2.c's encoding), then Generate's
// loop and output from them, with a fresh stepper (position 0, the sampler
// seeded anew); an empty line or the end of the input ends it, with
// nothing more written. With sampling not nil (a program whose final op
// is sample()), a parameter line (ParseSamplingLine) sets *sampling for
// the generations after it and tells no story; newStepper gets the
// sampling of each generation (the zero Sampling without). prompts, when
// not nil, gets each line's tokens. It returns the number of tokens the
// generations chose.
func Converse(newStepper func(Sampling) Stepper, tok *checkpoint.Tokenizer, in io.Reader, steps int, w io.Writer,
	sampling *Sampling, prompts func([]int)) (int, error) {
	lr := NewLineReader(in)
	n := 0
	var cur Sampling
	for {
		line, ok, err := lr.Next()
		if err != nil || !ok || len(line) == 0 {
			return n, err
		}
		if sampling != nil {
			if s, ok := ParseSamplingLine(line, *sampling); ok {
				*sampling = s
				continue
			}
			cur = *sampling
		}
		ids, err := tok.Encode(string(line), true, false)
		if err != nil {
			return n, err
		}
		if prompts != nil {
			prompts(ids)
		}
		out, err := Generate(newStepper(cur), tok, ids, steps, w)
		n += len(out)
		if err != nil {
			return n, err
		}
	}
}

// Samples reports whether p's final op is sample(): its typed lines may
// be parameter lines.
func (p *Program) Samples() bool {
	post := p.Blocks[PostBlock]
	return len(post) > 0 && post[len(post)-1].Kind == Sample
}
