package runtime

import (
	"encoding/binary"
	"fmt"

	"tfc/checkpoint"
	x86 "tfc/codegen/x86_16"
)

// The typed prompt (generate { prompt = typed }): the routines that read a
// line from the keyboard and COM1 and encode it with the tokenizer's BPE
// merges on the machine (spec.md section 7, "Typed prompts").
//
// Their data, TypedData, lies in one real-mode segment with 16-bit
// offsets: the tables (checkpoint.EncodeTables) and, after them, the line
// and the tokens being merged. The code generators place it right after
// the piece table: segmented, at a paragraph; flat, at 1 MiB, where
// segment FFFFh reaches it (A20 on).

// Typed says where the routines find TypedData, and what they do.
type Typed struct {
	Seg  uint16 // the segment
	Base uint16 // TypedData's offset in it
	// Tables are the tokenizer's tables, MaxLine the most bytes a line
	// keeps (ir.MaxLine).
	Tables  *checkpoint.EncodeTables
	MaxLine int
	// Trace writes each line's tokens, little-endian words, then 0xFFFF,
	// to QEMU's debug console (port 0xE9), for tests against the host's
	// encoder.
	Trace bool
	// Params, when not 0, is the linear address of the sampler's
	// parameters, the dwords InvT and TopP of ir.Sampling, that a
	// parameter line ("/t 0.8", "/p 0.9": ir.ParseSamplingLine) sets
	// instead of being a prompt (an image whose final op is sample()).
	Params uint32
}

// Labels of the typed-prompt routines.
const (
	ReadPrompt = "read_prompt"
	PromptNext = "prompt_next"
)

// debugcon is QEMU's debug console port.
const debugcon = 0xE9

// typedLayout is TypedData's layout, offsets from its start.
type typedLayout struct {
	chars, pairs int // keys, then as many dword values
	nend         int // word: 6 × the number of tokens of the line
	line         int // MaxLine bytes
	ent          int // the tokens: 6-byte entries
	size         int
}

func (t Typed) layout() typedLayout {
	nc, np := len(t.Tables.Chars), len(t.Tables.Pairs)
	var l typedLayout
	l.chars = 0
	l.pairs = 8 * nc
	l.nend = l.pairs + 8*np
	l.line = l.nend + 2
	l.ent = l.line + t.MaxLine
	// BOS, the dummy prefix, a token per byte at most, the end mark.
	l.size = l.ent + 6*(t.MaxLine+3)
	return l
}

// TypedData is the data of the typed-prompt routines (see Typed): the
// tables, then room for the line and its tokens (zeros).
//
//	uint32 key[nc]       the character groups (checkpoint.CharEntry)
//	uint32 val[nc]       their ids
//	uint32 key[np]       the pairs, a | b<<16 (checkpoint.PairEntry)
//	uint32 val[np]       id | rank<<16
//	uint16 nend          6 × the tokens of the last line
//	byte   line[MaxLine]
//	entry  ent[]         per token: uint16 token, uint16 id and uint16
//	                     rank of its merge with the next one (rank 0: none)
//
// The keys are sorted, though the code searches them one by one (repne
// scasd), a value 4·n bytes after its key.
func TypedData(t Typed) []byte {
	l := t.layout()
	b := make([]byte, 0, l.size)
	for _, e := range t.Tables.Chars {
		b = binary.LittleEndian.AppendUint32(b, e.Key)
	}
	for _, e := range t.Tables.Chars {
		b = binary.LittleEndian.AppendUint32(b, uint32(e.ID))
	}
	for _, e := range t.Tables.Pairs {
		b = binary.LittleEndian.AppendUint32(b, e.Key())
	}
	for _, e := range t.Tables.Pairs {
		b = binary.LittleEndian.AppendUint32(b, uint32(e.ID)|uint32(e.Rank)<<16)
	}
	return append(b, make([]byte, l.size-len(b))...)
}

// Check reports whether TypedData fits its segment.
func (t Typed) Check() error {
	if end := int(t.Base) + t.layout().size; end > 0x10000 {
		return fmt.Errorf("the typed prompt's tables and buffers (%d bytes) at offset %#x pass the 64 KiB of their segment", t.layout().size, t.Base)
	}
	return nil
}

// EmitTyped appends the typed-prompt routines:
//
//	read_prompt  prints the marker "> " on the screen, reads a line from
//	             the keyboard (INT 16h) and COM1 (its ports, polled)
//	             at once, echoed on the screen (ir.LineReader's line
//	             discipline), and encodes it: BOS, the line's tokens
//	             (checkpoint.EncodeTables.Encode, step for step). An empty
//	             line or EOT exits with code 0. Changes every register
//	             but SP, FS and GS (DS and ES are 0 again).
//	prompt_next  BX = a position, AX = the token the model chose: AX =
//	             the prompt's token at BX+1 while there is one. Changes BX.
//
// The marker and the echo go to the screen only: the keyboard's user
// sees them, and COM1 carries the stories alone (a terminal on COM1
// echoes its own line). Regions: prompt.read, prompt.encode,
// prompt.next. They call exit (see EmitConsole).
func EmitTyped(p *x86.Program, t Typed) {
	l := t.layout()
	off := func(o int) int32 { return int32(int(t.Base) + o) }
	nc, np := len(t.Tables.Chars), len(t.Tables.Pairs)
	i := p.I
	lbl := func(s string) x86.Label { return x86.Label("rp." + s) }
	at := func(s string) { p.Label("rp." + s) }
	mem := func(base x86.Reg, o int32) x86.Mem { return x86.Ptr16(base, x86.NoReg, o) }

	p.Mark("prompt.read")
	p.Label(ReadPrompt)
	i(x86.PUSH, x86.Word(int64(t.Seg)))
	i(x86.POP, x86.DS)
	i(x86.PUSH, x86.DS)
	i(x86.POP, x86.ES)
	i(x86.MOV, x86.AX, x86.Imm(0x0E00|'>'))
	i(x86.INT, x86.Imm(0x10))
	i(x86.MOV, x86.AL, x86.Imm(' '))
	i(x86.INT, x86.Imm(0x10))
	i(x86.MOV, x86.DI, x86.Imm(int64(off(l.line))))
	at("next")
	// The keyboard: Enter is '\r', read as '\n'.
	i(x86.MOV, x86.AH, x86.Imm(1))
	i(x86.INT, x86.Imm(0x16))
	i(x86.JZ, lbl("com"))
	i(x86.MOV, x86.AH, x86.Imm(0))
	i(x86.INT, x86.Imm(0x16))
	i(x86.CMP, x86.AL, x86.Imm('\r'))
	i(x86.JNE, lbl("got"))
	i(x86.MOV, x86.AL, x86.Imm('\n'))
	i(x86.JMP, lbl("got"))
	// COM1: a received byte when the line status says so; '\r' dropped.
	at("com")
	i(x86.MOV, x86.DX, x86.Imm(0x3FD))
	i(x86.IN, x86.AL, x86.DX)
	i(x86.TEST, x86.AL, x86.Imm(1))
	i(x86.JZ, lbl("next"))
	i(x86.MOV, x86.DL, x86.Imm(0xF8))
	i(x86.IN, x86.AL, x86.DX)
	i(x86.CMP, x86.AL, x86.Imm('\r'))
	i(x86.JE, lbl("next"))
	at("got")
	i(x86.TEST, x86.AL, x86.AL)
	i(x86.JZ, lbl("next"))
	i(x86.CMP, x86.AL, x86.Imm(4)) // EOT
	i(x86.JE, lbl("quit"))
	i(x86.CMP, x86.AL, x86.Imm('\n'))
	i(x86.JE, lbl("eol"))
	i(x86.CMP, x86.AL, x86.Imm(8))
	i(x86.JE, lbl("bs"))
	i(x86.CMP, x86.AL, x86.Imm(0x7F))
	i(x86.JE, lbl("bs"))
	i(x86.CMP, x86.DI, x86.Imm(int64(off(l.line+t.MaxLine))))
	i(x86.JAE, lbl("next"))
	i(x86.STOSB)
	at("echo")
	i(x86.MOV, x86.AH, x86.Imm(0x0E))
	i(x86.INT, x86.Imm(0x10))
	i(x86.JMP, lbl("next"))
	at("bs")
	i(x86.CMP, x86.DI, x86.Imm(int64(off(l.line))))
	i(x86.JE, lbl("next"))
	i(x86.DEC, x86.DI)
	i(x86.MOV, x86.AX, x86.Imm(0x0E08))
	i(x86.INT, x86.Imm(0x10))
	i(x86.MOV, x86.AL, x86.Imm(' '))
	i(x86.INT, x86.Imm(0x10))
	i(x86.MOV, x86.AL, x86.Imm(8))
	i(x86.JMP, lbl("echo"))
	at("eol")
	i(x86.MOV, x86.AX, x86.Imm(0x0E0D))
	i(x86.INT, x86.Imm(0x10))
	i(x86.MOV, x86.AL, x86.Imm('\n'))
	i(x86.INT, x86.Imm(0x10))
	i(x86.CMP, x86.DI, x86.Imm(int64(off(l.line))))
	i(x86.JNE, lbl("line"))
	at("quit")
	i(x86.MOV, x86.AL, x86.Imm(0))
	i(x86.JMP, x86.Label(Exit))

	at("line")
	if t.Params != 0 {
		emitParamLine(p, t, off(l.line))
	}

	// The encoder: SI reads the line up to BP, DI writes the entries.
	p.Mark("prompt.encode")
	at("encode")
	i(x86.MOV, x86.BP, x86.DI)
	i(x86.MOV, x86.SI, x86.Imm(int64(off(l.line))))
	i(x86.MOV, x86.DI, x86.Imm(int64(off(l.ent))))
	i(x86.MOV, x86.AX, x86.Imm(checkpoint.BOS))
	i(x86.CALL, lbl("put"))
	i(x86.MOV, x86.AX, x86.Imm(int64(t.Tables.Space)))
	i(x86.CALL, lbl("put"))
	at("group")
	i(x86.CMP, x86.SI, x86.BP)
	i(x86.JAE, lbl("merge0"))
	// A group: BX its first byte, SI past its last (up to 4 bytes, the
	// others continuation bytes 10xxxxxx).
	i(x86.MOV, x86.BX, x86.SI)
	at("gb")
	i(x86.INC, x86.SI)
	i(x86.CMP, x86.SI, x86.BP)
	i(x86.JAE, lbl("gend"))
	i(x86.LEA, x86.AX, mem(x86.BX, 4))
	i(x86.CMP, x86.SI, x86.AX)
	i(x86.JAE, lbl("gend"))
	i(x86.MOV, x86.AL, mem(x86.SI, 0))
	i(x86.AND, x86.AL, x86.Imm(0xC0))
	i(x86.CMP, x86.AL, x86.Imm(0x80))
	i(x86.JE, lbl("gb"))
	at("gend")
	if nc > 0 {
		// Its key: the dword at BX less the bytes past the group (a shift
		// by 32 - 8·length, 0 for 4 bytes, each way).
		i(x86.MOV, x86.CX, x86.BX)
		i(x86.SUB, x86.CX, x86.SI)
		i(x86.SHL, x86.CX, x86.Imm(3))
		i(x86.ADD, x86.CL, x86.Imm(32))
		i(x86.MOV, x86.EAX, mem(x86.BX, 0))
		i(x86.SHL, x86.EAX, x86.CL)
		i(x86.SHR, x86.EAX, x86.CL)
		i(x86.PUSH, x86.DI)
		i(x86.MOV, x86.DI, x86.Imm(int64(off(l.chars))))
		i(x86.MOV, x86.CX, x86.Imm(int64(nc)))
		i(x86.REPNE | x86.SCASD)
		i(x86.MOV, x86.AX, mem(x86.DI, int32(4*nc-4))) // keeps the flags
		i(x86.POP, x86.DI)
		i(x86.JNE, lbl("bytes"))
		i(x86.CALL, lbl("put"))
		i(x86.JMP, lbl("group"))
	}
	// No such piece: each byte's token, byte+3.
	at("bytes")
	i(x86.MOVZX, x86.AX, x86.B(mem(x86.BX, 0)))
	i(x86.ADD, x86.AX, x86.Imm(3))
	i(x86.CALL, lbl("put"))
	i(x86.INC, x86.BX)
	i(x86.CMP, x86.BX, x86.SI)
	i(x86.JB, lbl("bytes"))
	i(x86.JMP, lbl("group"))
	// put: an entry of token AX (its merge comes later).
	at("put")
	i(x86.STOSW)
	i(x86.STOSW)
	i(x86.STOSW)
	i(x86.RET)

	at("merge0")
	// The end mark, a token no pair has; BP points at it.
	i(x86.OR, x86.W(mem(x86.DI, 0)), x86.Imm(-1))
	i(x86.MOV, x86.BP, x86.DI)
	if np > 0 {
		i(x86.MOV, x86.SI, x86.Imm(int64(off(l.ent))))
		at("init")
		i(x86.CALL, lbl("pair"))
		i(x86.ADD, x86.SI, x86.Imm(6))
		i(x86.CMP, x86.SI, x86.BP)
		i(x86.JB, lbl("init"))
		// The merges: the entry of the highest rank, the first of equals
		// (BX; DX its rank), takes its merge's id, and the next entry goes.
		at("merge")
		i(x86.MOV, x86.SI, x86.Imm(int64(off(l.ent))))
		i(x86.XOR, x86.DX, x86.DX)
		at("scan")
		i(x86.CMP, mem(x86.SI, 4), x86.DX)
		i(x86.JBE, lbl("nb"))
		i(x86.MOV, x86.DX, mem(x86.SI, 4))
		i(x86.MOV, x86.BX, x86.SI)
		at("nb")
		i(x86.ADD, x86.SI, x86.Imm(6))
		i(x86.CMP, x86.SI, x86.BP)
		i(x86.JB, lbl("scan"))
		i(x86.TEST, x86.DX, x86.DX)
		i(x86.JZ, lbl("done"))
		i(x86.MOV, x86.AX, mem(x86.BX, 2))
		i(x86.MOV, mem(x86.BX, 0), x86.AX)
		i(x86.LEA, x86.DI, mem(x86.BX, 6))
		i(x86.LEA, x86.SI, mem(x86.BX, 12))
		i(x86.MOV, x86.CX, x86.BP)
		i(x86.SUB, x86.CX, x86.BX)
		i(x86.SHR, x86.CX, x86.Imm(1))
		i(x86.SUB, x86.CX, x86.Imm(5)) // the words from BX+12 to the end mark's
		i(x86.REP | x86.MOVSW)
		i(x86.SUB, x86.BP, x86.Imm(6))
		i(x86.MOV, x86.SI, x86.BX)
		i(x86.CALL, lbl("pair"))
		i(x86.CMP, x86.SI, x86.Imm(int64(off(l.ent))))
		i(x86.JE, lbl("merge"))
		i(x86.SUB, x86.SI, x86.Imm(6))
		i(x86.CALL, lbl("pair"))
		i(x86.JMP, lbl("merge"))
		// pair: the merge of the entry at SI with the next one.
		at("pair")
		i(x86.MOV, x86.EAX, mem(x86.SI, 4)) // the next token in the top half
		i(x86.MOV, x86.AX, mem(x86.SI, 0))
		i(x86.MOV, x86.DI, x86.Imm(int64(off(l.pairs))))
		i(x86.MOV, x86.CX, x86.Imm(int64(np)))
		i(x86.REPNE | x86.SCASD)
		i(x86.MOV, x86.EAX, mem(x86.DI, int32(4*np-4))) // keeps the flags
		i(x86.JE, lbl("found"))
		i(x86.XOR, x86.EAX, x86.EAX)
		at("found")
		i(x86.MOV, mem(x86.SI, 2), x86.EAX)
		i(x86.RET)
	}
	at("done")
	if t.Trace {
		i(x86.MOV, x86.SI, x86.Imm(int64(off(l.ent))))
		at("trace")
		i(x86.LODSW)
		i(x86.OUT, x86.Imm(debugcon), x86.AL)
		i(x86.MOV, x86.AL, x86.AH)
		i(x86.OUT, x86.Imm(debugcon), x86.AL)
		i(x86.ADD, x86.SI, x86.Imm(4))
		i(x86.CMP, x86.SI, x86.BP)
		i(x86.JBE, lbl("trace")) // the end mark too: 0xFFFF
	}
	i(x86.SUB, x86.BP, x86.Imm(int64(off(l.ent))))
	i(x86.MOV, mem(x86.NoReg, off(l.nend)), x86.BP)
	i(x86.XOR, x86.AX, x86.AX)
	i(x86.MOV, x86.DS, x86.AX)
	i(x86.MOV, x86.ES, x86.AX)
	i(x86.RET)

	p.Mark("prompt.next")
	p.Label(PromptNext)
	i(x86.PUSH, x86.DS)
	i(x86.PUSH, x86.Word(int64(t.Seg)))
	i(x86.POP, x86.DS)
	i(x86.INC, x86.BX)
	i(x86.IMUL, x86.BX, x86.BX, x86.Imm(6))
	i(x86.CMP, x86.BX, mem(x86.NoReg, off(l.nend)))
	i(x86.JAE, lbl("pn"))
	i(x86.MOV, x86.AX, mem(x86.BX, off(l.ent)))
	at("pn")
	i(x86.POP, x86.DS)
	i(x86.RET)
}

// emitParamLine emits prompt.params: a line (at line up to DI) that is a
// parameter line (ir.ParseSamplingLine) sets the sampler's parameter at
// t.Params and reads the next line; any other goes on to rp.encode.
func emitParamLine(p *x86.Program, t Typed, line int32) {
	i := p.I
	lbl := func(s string) x86.Label { return x86.Label("rp." + s) }
	at := func(s string) { p.Label("rp." + s) }
	mem := func(base x86.Reg, o int32) x86.Mem { return x86.Ptr16(base, x86.NoReg, o) }
	p.Mark("prompt.params")
	i(x86.CMP, x86.B(mem(x86.NoReg, line)), x86.Imm('/'))
	i(x86.JNE, lbl("encode"))
	i(x86.CMP, x86.B(mem(x86.NoReg, line+2)), x86.Imm(' '))
	i(x86.JNE, lbl("encode"))
	// X: one to three digits (N in ECX, 10^digits in EBP), then a point
	// and one to four digits (EBP: 10^those), then the end of the line.
	i(x86.MOV, x86.SI, x86.Imm(int64(line+3)))
	i(x86.XOR, x86.ECX, x86.ECX)
	i(x86.CALL, lbl("digits"))
	i(x86.LEA, x86.AX, mem(x86.SI, -(line+4)))
	i(x86.CMP, x86.AX, x86.Imm(2))
	i(x86.JA, lbl("encode"))
	i(x86.XOR, x86.EBP, x86.EBP)
	i(x86.INC, x86.BP)
	i(x86.CMP, x86.SI, x86.DI)
	i(x86.JE, lbl("set"))
	i(x86.LODSB)
	i(x86.CMP, x86.AL, x86.Imm('.'))
	i(x86.JNE, lbl("encode"))
	i(x86.MOV, x86.BX, x86.SI)
	i(x86.CALL, lbl("digits"))
	i(x86.CMP, x86.SI, x86.DI)
	i(x86.JNE, lbl("encode"))
	i(x86.LEA, x86.AX, mem(x86.SI, -1))
	i(x86.SUB, x86.AX, x86.BX)
	i(x86.CMP, x86.AX, x86.Imm(3))
	i(x86.JA, lbl("encode"))
	at("set")
	i(x86.MOV, x86.AL, mem(x86.NoReg, line+1))
	i(x86.XOR, x86.EDX, x86.EDX)
	i(x86.XOR, x86.EBX, x86.EBX) // InvT's offset; TopP's is 4
	i(x86.CMP, x86.AL, x86.Imm('t'))
	i(x86.JE, lbl("temp"))
	i(x86.CMP, x86.AL, x86.Imm('p'))
	i(x86.JNE, lbl("encode"))
	// /p: round(N/scale · 2^16), or 2^16 for 0 and from 1 on.
	i(x86.MOV, x86.EAX, x86.Imm(1<<16))
	i(x86.TEST, x86.ECX, x86.ECX)
	i(x86.JZ, lbl("topp"))
	i(x86.CMP, x86.ECX, x86.EBP)
	i(x86.JAE, lbl("topp"))
	i(x86.MOV, x86.EAX, x86.ECX)
	i(x86.SHL, x86.EAX, x86.Imm(17))
	i(x86.ADD, x86.EAX, x86.EBP)
	i(x86.ADD, x86.EBP, x86.EBP)
	i(x86.DIV, x86.EBP)
	at("topp")
	i(x86.MOV, x86.BL, x86.Imm(4))
	i(x86.JMP, lbl("store"))
	// /t: round(2^16 · scale/N), or 0 (greedy) for 0.
	at("temp")
	i(x86.XOR, x86.EAX, x86.EAX)
	i(x86.TEST, x86.ECX, x86.ECX)
	i(x86.JZ, lbl("store"))
	i(x86.MOV, x86.EAX, x86.EBP)
	i(x86.SHL, x86.EAX, x86.Imm(17))
	i(x86.ADD, x86.EAX, x86.ECX)
	i(x86.ADD, x86.ECX, x86.ECX)
	i(x86.DIV, x86.ECX)
	at("store")
	if t.Params > 0xFFFF && t.Params < 0x100000 {
		// The segmented model's data, past DS 0's 64 KiB in real mode.
		i(x86.PUSH, x86.Word(int64(t.Params>>4)))
		i(x86.POP, x86.DS)
		i(x86.MOV, x86.D(x86.Mem{Base: x86.EBX, Disp: int32(t.Params & 15), Addr32: true}), x86.EAX)
	}
	i(x86.PUSH, x86.Word(0))
	i(x86.POP, x86.DS)
	if t.Params <= 0xFFFF || t.Params >= 0x100000 {
		i(x86.MOV, x86.D(x86.Mem{Base: x86.EBX, Disp: int32(t.Params), Addr32: true}), x86.EAX)
	}
	i(x86.JMP, x86.Label(ReadPrompt))
	// digits: N = 10·N + each digit at SI (up to DI), EBP ×10 for each.
	at("digits")
	i(x86.CMP, x86.SI, x86.DI)
	i(x86.JAE, lbl("dret"))
	i(x86.MOV, x86.AL, mem(x86.SI, 0))
	i(x86.SUB, x86.AL, x86.Imm('0'))
	i(x86.CMP, x86.AL, x86.Imm(9))
	i(x86.JA, lbl("dret"))
	i(x86.INC, x86.SI)
	i(x86.MOVZX, x86.EAX, x86.AL)
	i(x86.IMUL, x86.ECX, x86.ECX, x86.Imm(10))
	i(x86.ADD, x86.ECX, x86.EAX)
	i(x86.IMUL, x86.EBP, x86.EBP, x86.Imm(10))
	i(x86.JMP, lbl("digits"))
	at("dret")
	i(x86.RET)
}
