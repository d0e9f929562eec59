package runtime

import (
	"bytes"
	"encoding/binary"

	"tfc/checkpoint"
	x86 "tfc/codegen/x86_16"
)

// PieceData is the table print_piece reads at Console.PiecesAddr, for a
// vocabulary of V tokens, its offsets biased by bias (Console.PieceBias):
//
//	uint32 off[V+1]   bias + offset of region i from the start of the table;
//	                  region i ends where region i+1 starts
//	region i:         byte k, then the bytes llama2.c prints for token i
//	                  after a token other than BOS
//
// The printed bytes are checkpoint.Tokenizer.Piece(prev, i) when
// checkpoint.Printable says safe_printf prints them, else none: byte
// tokens ("<0x0A>") are already the raw byte. After BOS, print_piece skips
// the first k bytes, which gives Piece(BOS, i) under the same rule: k is 1
// for a piece whose leading space llama2.c drops, 0 when there is none
// (even if the decoded byte is a space, as for "<0x20>"), and the whole
// length when nothing is left to print (" " alone).
//
// That is exact unless Piece(BOS, i) is not a tail of Piece(prev, i),
// which happens only for a piece of the form " <0x..": llama2.c decodes
// it as a byte token after BOS. No llama2.c tokenizer has one; for such a
// piece print_piece drops the leading space and prints the rest as is.
func PieceData(t *checkpoint.Tokenizer, bias uint32) []byte {
	v := len(t.Pieces)
	out := make([]byte, 4*(v+1), 4*(v+1)+2*v)
	for i := range v {
		binary.LittleEndian.PutUint32(out[4*i:], bias+uint32(len(out)))
		n, b := printed(t, 0, i), printed(t, checkpoint.BOS, i)
		k := len(n) - len(b)
		if !bytes.HasSuffix(n, b) || k > 127 {
			k = 1 // n starts with the space (see above)
		}
		out = append(out, byte(k))
		out = append(out, n...)
	}
	binary.LittleEndian.PutUint32(out[4*v:], bias+uint32(len(out)))
	return out
}

// EmitEndCheck jumps to done when AX, the token the model chose, ends the
// generation (checkpoint.Tokenizer.Ends): llama2.c's BOS (1) or EOS (2),
// whose AX−1 is 0 or 1, or llm.c's end-of-text token. AX is kept.
func EmitEndCheck(p *x86.Program, t *checkpoint.Tokenizer, done string) {
	if t.EOT != 0 {
		p.I(x86.CMP, x86.AX, x86.Imm(int64(t.EOT)))
		p.I(x86.JE, x86.Label(done))
		return
	}
	p.I(x86.DEC, x86.AX)
	p.I(x86.CMP, x86.AX, x86.Imm(checkpoint.EOS-1))
	p.I(x86.JBE, x86.Label(done))
	p.I(x86.INC, x86.AX)
}

// printed is what llama2.c prints for token tok after prev.
func printed(t *checkpoint.Tokenizer, prev, tok int) []byte {
	if p := t.Piece(prev, tok); checkpoint.Printable(p) {
		return p
	}
	return nil
}
