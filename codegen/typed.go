package codegen

import (
	"fmt"

	"tfc/ir"
	"tfc/lang"
	"tfc/runtime"
)

// typedData prepares a typed-prompt build (generate { prompt = typed }):
// the data that the console and the typed-prompt routines read, the piece
// table then (from a paragraph) runtime.TypedData, and the routines'
// description, to be placed by placeTyped. Without a typed prompt: the
// pieces alone and nil.
func typedData(p *ir.Program, pieces []byte, o Options) ([]byte, *runtime.Typed, error) {
	if !p.Gen.Typed {
		return pieces, nil, nil
	}
	et, err := p.Tokenizer.EncodeTables()
	if err != nil {
		return nil, nil, lang.Errorf(p.Gen.PromptPos, "prompt = typed: %v", err)
	}
	t := &runtime.Typed{Tables: et, MaxLine: ir.MaxLine, Trace: o.TracePrompt}
	data := append([]byte{}, pieces...)
	for len(data)%16 != 0 {
		data = append(data, 0)
	}
	return append(data, runtime.TypedData(*t)...), t, nil
}

// placeTyped gives t the segment through which its routines reach
// TypedData, which follows a piece table of n bytes at addr: segmented,
// the data's own paragraph; flat, segment FFFFh, which reaches 1 MiB up to
// 0x10FFEF with A20 on.
func placeTyped(t *runtime.Typed, addr uint32, n int, flat bool) error {
	at := addr + uint32(n+15)/16*16
	switch {
	case !flat:
		t.Seg, t.Base = uint16(at>>4), uint16(at&15)
	case at >= 0xFFFF0 && at < 0x10FFF0:
		t.Seg, t.Base = 0xFFFF, uint16(at-0xFFFF0)
	default:
		return fmt.Errorf("prompt = typed: the tables at %#x are out of the reach of segment FFFFh", at)
	}
	if err := t.Check(); err != nil {
		return fmt.Errorf("prompt = typed: the piece table (%d bytes) and %v", n, err)
	}
	return nil
}

// ParsePromptTrace splits what a TracePrompt build wrote to QEMU's debug
// console into the tokens of each typed line: little-endian words, each
// line's ending in 0xFFFF.
func ParsePromptTrace(raw []byte) ([][]int, error) {
	if len(raw)%2 != 0 {
		return nil, fmt.Errorf("prompt trace: %d bytes, not whole words", len(raw))
	}
	var lines [][]int
	var cur []int
	for i := 0; i < len(raw); i += 2 {
		w := int(raw[i]) | int(raw[i+1])<<8
		if w == 0xFFFF {
			lines = append(lines, cur)
			cur = nil
			continue
		}
		cur = append(cur, w)
	}
	if cur != nil {
		return nil, fmt.Errorf("prompt trace: %d tokens after the last line's end", len(cur))
	}
	return lines, nil
}
