package codegen

import (
	"encoding/binary"
	"fmt"
)

// TraceStep is what a trace build (Options.Trace) writes for one forward
// pass.
type TraceStep struct {
	// Logits as the image holds them, Q16.16: ir.Sim's RawLogits.
	Logits []int32
	// Token is the one the model chose (argmax or sample), what ir.Sim's
	// Step returns: while a prompt lasts, the generation loop then
	// replaces it by the prompt's next token.
	Token int
}

// ParseTrace splits the bytes a trace build wrote to QEMU's debug console
// into its forward passes. A pass is vocab little-endian int32 logits,
// then the chosen token as a little-endian uint16: 4·vocab+2 bytes. A trace
// that does not end on a pass's end (an image that stopped in the middle,
// or other output on the console) is an error.
func ParseTrace(raw []byte, vocab int) ([]TraceStep, error) {
	if vocab <= 0 {
		return nil, fmt.Errorf("trace: vocabulary size %d", vocab)
	}
	size := 4*vocab + 2
	if len(raw)%size != 0 {
		return nil, fmt.Errorf("trace: %d bytes are not whole steps of %d (%d logits and a token): %d steps and %d bytes",
			len(raw), size, vocab, len(raw)/size, len(raw)%size)
	}
	steps := make([]TraceStep, len(raw)/size)
	for i := range steps {
		b := raw[i*size:]
		logits := make([]int32, vocab)
		for j := range logits {
			logits[j] = int32(binary.LittleEndian.Uint32(b[4*j:]))
		}
		steps[i] = TraceStep{Logits: logits, Token: int(binary.LittleEndian.Uint16(b[4*vocab:]))}
	}
	return steps, nil
}
