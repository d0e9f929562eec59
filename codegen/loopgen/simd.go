package loopgen

import (
	x86 "tfc/codegen/x86_16"
	"tfc/lir"
)

// dot selects lir's OpDot with SSE2 (-march sse2). xmm0..xmm2 sum the
// three digit rows in four 32-bit lanes each (pmaddwd: eight products,
// summed by pairs; the first eight columns' products start the sums),
// xmm3 holds eight weights (the last four, a tail of a row of 4·k
// columns, through movq: no byte past the row is read, which a segment's
// end could fault on), xmm4..xmm6 are scratch. The XMM registers are no
// allocator's: nothing else uses them and none lives past the
// instruction. Then each row's lanes, sign-extended, make two 64-bit
// sums, the rows meet shifted by 11 and 22 bits, and the two halves add
// into Dst.
func (k *kernel) dot(in *lir.Inst) {
	acc := [3]x86.Reg{x86.XMM0, x86.XMM1, x86.XMM2}
	w, d := k.addr(in.Mem), k.addr(in.Mem2)
	n, p := in.Imm, lir.DigitRow(in.Imm)
	for c := int64(0); c < p/8; c++ {
		wm := w
		wm.Disp += int32(16 * c)
		if 8*c+8 <= n {
			wm.Size = 128
			k.i(x86.MOVDQU, x86.XMM3, wm)
		} else {
			wm.Size = 64
			k.i(x86.MOVQ, x86.XMM3, wm)
		}
		for r, a := range acc {
			dm := d
			dm.Disp += int32(2*p*int64(r) + 16*c)
			dm.Size = 128
			if c == 0 { // the first products start the sum
				k.i(x86.MOVDQU, a, dm)
				k.i(x86.PMADDWD, a, x86.XMM3)
				continue
			}
			k.i(x86.MOVDQU, x86.XMM4, dm)
			k.i(x86.PMADDWD, x86.XMM4, x86.XMM3)
			k.i(x86.PADDD, a, x86.XMM4)
		}
	}
	for _, a := range acc {
		k.i(x86.MOVDQA, x86.XMM5, a)
		k.i(x86.PSRAD, x86.XMM5, x86.Imm(31))
		k.i(x86.MOVDQA, x86.XMM6, a)
		k.i(x86.PUNPCKLDQ, x86.XMM6, x86.XMM5)
		k.i(x86.PUNPCKHDQ, a, x86.XMM5)
		k.i(x86.PADDQ, a, x86.XMM6)
	}
	k.i(x86.PSLLQ, x86.XMM1, x86.Imm(11))
	k.i(x86.PSLLQ, x86.XMM2, x86.Imm(22))
	k.i(x86.PADDQ, x86.XMM0, x86.XMM1)
	k.i(x86.PADDQ, x86.XMM0, x86.XMM2)
	k.i(x86.PSHUFD, x86.XMM1, x86.XMM0, x86.Imm(0x4E))
	k.i(x86.PADDQ, x86.XMM0, x86.XMM1)
	k.i(x86.MOVD, k.dst(in.Dst), x86.XMM0)
	k.i(x86.PSRLQ, x86.XMM0, x86.Imm(32))
	k.i(x86.MOVD, k.dstHi(in.Dst), x86.XMM0)
}

// split selects lir's OpSplit with SSE2: four dwords into xmm0, then per
// digit its low 11 bits sign-extended in xmm1 (shifted left 21, back
// arithmetically), packed to words and stored as one qword; the rest,
// ((x >> 10) + 1) >> 1, subtracts xmm7's −1 in each lane. The last digit
// is what remains. The XMM registers live only in the instruction.
func (k *kernel) split(in *lir.Inst) {
	x, d := k.addr(in.Mem), k.addr(in.Mem2)
	x.Size, d.Size = 128, 64
	k.i(x86.MOVDQU, x86.XMM0, x)
	k.i(x86.PCMPEQD, x86.XMM7, x86.XMM7)
	for r := int64(0); r < 3; r++ {
		row := d
		row.Disp += int32(r * in.Imm)
		if r == 2 {
			k.i(x86.PACKSSDW, x86.XMM0, x86.XMM0)
			k.i(x86.MOVQ, row, x86.XMM0)
			break
		}
		k.i(x86.MOVDQA, x86.XMM1, x86.XMM0)
		k.i(x86.PSLLD, x86.XMM1, x86.Imm(21))
		k.i(x86.PSRAD, x86.XMM1, x86.Imm(21))
		k.i(x86.PACKSSDW, x86.XMM1, x86.XMM1)
		k.i(x86.MOVQ, row, x86.XMM1)
		k.i(x86.PSRAD, x86.XMM0, x86.Imm(10))
		k.i(x86.PSUBD, x86.XMM0, x86.XMM7)
		k.i(x86.PSRAD, x86.XMM0, x86.Imm(1))
	}
}
