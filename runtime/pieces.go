package runtime

import (
	"bytes"
	"encoding/binary"

	"tfc/checkpoint"
	x86 "tfc/codegen/x86_16"
)

// PieceTable returns the table c's print_piece reads at c.PiecesAddr, for
// a vocabulary of V tokens:
//
//	off[2V]   where the bytes printed for token i start: off[2i] after a
//	          token other than BOS, off[2i+1] after BOS; 16-bit offsets in
//	          the segment print_piece reads it through (c.Narrow, or
//	          segmented) or 32-bit linear addresses
//	strings   each the bytes printed, then a NUL
//
// The printed bytes are checkpoint.Tokenizer.Piece(prev, i) when
// checkpoint.Printable says safe_printf prints them, else none: byte
// tokens ("<0x0A>") are already the raw byte. Piece never holds a NUL
// (llama2.c prints with %s), so NUL ends each. After BOS the piece is
// usually the other's tail (llama2.c drops a leading space), which then
// shares its bytes; else (" <0x42>", which llama2.c decodes as a byte
// token after BOS) it has a string of its own.
func (c Console) PieceTable(t *checkpoint.Tokenizer) []byte {
	entry := 4
	if _, _, narrow := c.pieceSeg(); narrow {
		entry = 2
	}
	return pieceTable(t, entry, c.pieceBias())
}

// pieceTable is PieceTable with entries of entry bytes (2 or 4), holding
// bias + the string's offset in the table.
func pieceTable(t *checkpoint.Tokenizer, entry int, bias uint32) []byte {
	v := len(t.Pieces)
	out := make([]byte, 2*entry*v)
	put := func(k int, off int) {
		at := uint32(off) + bias
		if entry == 2 {
			binary.LittleEndian.PutUint16(out[2*k:], uint16(at))
		} else {
			binary.LittleEndian.PutUint32(out[4*k:], at)
		}
	}
	for i := range v {
		n, b := printed(t, 0, i), printed(t, checkpoint.BOS, i)
		put(2*i, len(out))
		if bytes.HasSuffix(n, b) {
			put(2*i+1, len(out)+len(n)-len(b))
			out = append(append(out, n...), 0)
			continue
		}
		out = append(append(out, n...), 0)
		put(2*i+1, len(out))
		out = append(append(out, b...), 0)
	}
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
