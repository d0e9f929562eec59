package loopgen

import (
	x86 "tfc/codegen/x86_16"
	"tfc/regalloc"
)

// cmpHigh: for size, a compare of a word or dword with a constant whose
// low byte (or low word) is 0 compares only the high part that is not
// (`cmp dx, 0x200` is `cmp dh, 2`, argmax's loop: 1 byte fewer; `cmp
// dword [m], 0x100000` is `cmp byte [m+2], 0x10`, 4 fewer), where only
// the carry, sign and overflow flags are read after it: subtracting the
// low part's 0 borrows nothing, so the high part's difference is the
// whole one's high part, and those three flags are its. The zero, parity
// and adjust flags are not (they depend on the low part too). After
// allocation (k in physical registers).
func cmpHigh(k *regalloc.Kernel) {
	for i, it := range k.Items {
		in := it.Inst
		if it.Label != "" || in.Op != x86.CMP || len(in.Args) != 2 {
			continue
		}
		imm, ok := in.Args[1].(x86.Imm)
		if !ok {
			continue
		}
		high, ok := highPart(in.Args[0], imm)
		if !ok {
			continue
		}
		short := x86.Inst{Op: x86.CMP, Args: []x86.Operand{high.at, high.imm}}
		if instBytes(short) >= instBytes(in) || !flagsDead(k.Items, i+1, true, zf|pf|af) {
			continue
		}
		k.Items[i].Inst = short
	}
}

// highCmp is the high part of a compared operand and the constant's.
type highCmp struct {
	at  x86.Operand
	imm x86.Imm
}

// highPart is the highest part of o (a 16-bit register with a high byte,
// or a word or dword in memory) below which imm, taken at o's width, is
// 0; ok false where there is none (imm's low byte is not 0, or imm is 0).
func highPart(o x86.Operand, imm x86.Imm) (highCmp, bool) {
	switch o := o.(type) {
	case x86.Reg:
		// ax's own short form (cmp ax, imm16) is as long as cmp ah's:
		// cmpHigh's size check keeps it.
		if v := uint16(imm); o < x86.AX || o > x86.BX || v == 0 || v&0xff != 0 {
			return highCmp{}, false
		}
		return highCmp{o - x86.AX + x86.AH, x86.Imm(int8(uint16(imm) >> 8))}, true
	case x86.Mem:
		if o.Size != 16 && o.Size != 32 {
			return highCmp{}, false
		}
		v := uint32(imm)
		if o.Size == 16 {
			v = uint32(uint16(imm))
		}
		if v == 0 || v&0xff != 0 {
			return highCmp{}, false
		}
		// The fewest bytes that hold v's bits that are not 0: its top
		// byte, else its top word.
		top := o.Size / 8
		skip := top - 1
		for v>>(8*skip)<<(8*skip) != v {
			skip--
		}
		if top-skip == 3 {
			return highCmp{}, false // no 3-byte operand
		}
		m := o
		m.Disp += int32(skip)
		m.Size = 8 * (top - skip)
		rest := int64(v >> (8 * skip))
		if m.Size == 8 {
			rest = int64(int8(rest))
		} else {
			rest = int64(int16(rest))
		}
		return highCmp{m, x86.Imm(rest)}, true
	}
	return highCmp{}, false
}
