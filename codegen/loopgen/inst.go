package loopgen

import (
	"fmt"

	x86 "tfc/codegen/x86_16"
	"tfc/lir"
	"tfc/regalloc"
)

// inst selects one lir instruction.
func (k *kernel) inst(in *lir.Inst) {
	if in.Dst != lir.NoReg {
		if _, ok := k.konst[in.Dst]; ok {
			return // an immediate wherever it is read
		}
	}
	w64 := in.Dst != lir.NoReg && k.is64(in.Dst)
	switch in.Op {
	case lir.OpConst:
		k.i(x86.MOV, k.dst(in.Dst), x86.Imm(int64(int32(in.Imm))))
		if w64 {
			k.i(x86.MOV, k.dstHi(in.Dst), x86.Imm(int64(int32(in.Imm>>32))))
		}
	case lir.OpCopy:
		k.move(in.Dst, in.A)
	case lir.OpAdd:
		k.alu(in, x86.ADD, x86.ADC, true)
	case lir.OpSub:
		k.alu(in, x86.SUB, x86.SBB, false)
	case lir.OpAnd:
		k.alu(in, x86.AND, x86.AND, true)
	case lir.OpOr:
		k.alu(in, x86.OR, x86.OR, true)
	case lir.OpXor:
		k.alu(in, x86.XOR, x86.XOR, true)
	case lir.OpMul:
		if w64 {
			k.mul64(in)
		} else {
			k.mul32(in)
		}
	case lir.OpNeg:
		k.move(in.Dst, in.A)
		d := k.dst(in.Dst)
		k.i(x86.NEG, d)
		if w64 {
			h := k.dstHi(in.Dst)
			k.i(x86.ADC, h, x86.Imm(0))
			k.i(x86.NEG, h)
		}
	case lir.OpShlI, lir.OpShrI, lir.OpSarI:
		k.shiftImm(in)
	case lir.OpShl, lir.OpShr, lir.OpSar:
		k.shiftReg(in)
	case lir.OpMulWide, lir.OpMulWideU:
		a, b := in.A, in.B
		if _, ok := k.deferred[a]; ok {
			a, b = b, a // the memory operand is the factor imul reads
		} else if k.endsHere(b, a) {
			// b ends here: it goes to eax (the allocator gives it eax,
			// dropping the copy), a, which lives on, is the factor.
			a, b = b, a
		}
		k.i(x86.MOV, x86.EAX, k.src(a))
		op := x86.IMUL
		if in.Op == lir.OpMulWideU {
			op = x86.MUL
		}
		if _, ok := k.deferred[b]; ok {
			k.i(op, k.src(b))
		} else {
			k.i(op, k.reg(b))
		}
		k.i(x86.MOV, k.dst(in.Dst), x86.EAX)
		k.i(x86.MOV, k.dstHi(in.Dst), x86.EDX)
	case lir.OpExt:
		if k.cdq {
			k.i(x86.MOV, x86.EAX, k.src(in.A))
			k.i(x86.CDQ)
			k.i(x86.MOV, k.dst(in.Dst), x86.EAX)
			k.i(x86.MOV, k.dstHi(in.Dst), x86.EDX)
			break
		}
		d, h := k.dst(in.Dst), k.dstHi(in.Dst)
		k.i(x86.MOV, d, k.src(in.A))
		k.i(x86.MOV, h, d)
		k.i(x86.SAR, h, x86.Imm(31))
	case lir.OpExtU:
		k.i(x86.MOV, k.dst(in.Dst), k.src(in.A))
		if !k.zeroHi[in.Dst] {
			k.i(x86.MOV, k.dstHi(in.Dst), x86.Imm(0))
		}
	case lir.OpLo:
		k.i(x86.MOV, k.dst(in.Dst), k.src(in.A))
	case lir.OpHi:
		k.i(x86.MOV, k.dst(in.Dst), k.srcHi(in.A))
	case lir.OpRshrLo:
		// shrd leaves the last bit shifted out, bit n-1, in CF: adding it
		// rounds as adding 2^(n-1) before the shift would.
		if k.rshrCall {
			k.callRshr(in, in.Imm)
			break
		}
		d := k.dst(in.Dst)
		k.i(x86.MOV, d, k.src(in.A))
		k.i(x86.SHRD, d, k.hiReg(in.A), x86.Imm(in.Imm))
		k.i(x86.ADC, d, x86.Imm(0))
	case lir.OpRshrI:
		k.move(in.Dst, in.A)
		d, h := k.dst(in.Dst), k.dstHi(in.Dst)
		k.i(x86.ADD, d, x86.Imm(int64(int32(1<<(in.Imm-1)))))
		k.i(x86.ADC, h, x86.Imm(0))
		k.i(x86.SHRD, d, h, x86.Imm(in.Imm))
		k.i(x86.SAR, h, x86.Imm(in.Imm))
	case lir.OpRshr:
		if n := k.readers[in.Dst]; n > 0 && n == k.loReaders[in.Dst] {
			// The low dword alone: shrd leaves the last bit out, bit
			// n-1, in CF, which adds as the bias would (RshrLo); a
			// count of 0 leaves the flags alone, so clc first.
			k.i(x86.MOV, x86.ECX, k.src(in.B))
			if k.rshrCall {
				k.callRshr(in, 0)
				break
			}
			k.move(in.Dst, in.A)
			d := k.dst(in.Dst)
			k.i(x86.CLC)
			k.i(x86.SHRD, d, k.dstHi(in.Dst), x86.CL)
			k.i(x86.ADC, d, x86.Imm(0))
			break
		}
		// The bias 2^(n-1) (0 for n = 0) from the count in cl.
		k.i(x86.MOV, x86.ECX, k.src(in.B))
		t := k.v()
		k.i(x86.MOV, t, x86.Imm(1))
		k.i(x86.SHL, t, x86.CL)
		k.i(x86.SHR, t, x86.Imm(1))
		k.move(in.Dst, in.A)
		d, h := k.dst(in.Dst), k.dstHi(in.Dst)
		k.i(x86.ADD, d, t)
		k.i(x86.ADC, h, x86.Imm(0))
		k.i(x86.SHRD, d, h, x86.CL)
		k.i(x86.SAR, h, x86.CL)
	case lir.OpUDiv:
		b := k.reg(in.B)
		k.i(x86.MOV, x86.EAX, k.srcHi(in.A))
		k.i(x86.MOV, x86.EDX, x86.Imm(0))
		k.i(x86.DIV, b)
		k.i(x86.MOV, k.dstHi(in.Dst), x86.EAX)
		k.i(x86.MOV, x86.EAX, k.src(in.A))
		k.i(x86.DIV, b)
		k.i(x86.MOV, k.dst(in.Dst), x86.EAX)
	case lir.OpLookup:
		k.lookup(in)
	case lir.OpMac2:
		k.mac2(in)
	case lir.OpUDiv32:
		k.i(x86.MOV, x86.EDX, k.srcHi(in.A))
		k.i(x86.MOV, x86.EAX, k.src(in.A))
		k.i(x86.DIV, k.reg(in.B))
		k.i(x86.MOV, k.dst(in.Dst), x86.EAX)
	case lir.OpCmp:
		k.cmp(in)
	case lir.OpSelect:
		k.sel(in, nil)
	case lir.OpLoad:
		k.load(in)
	case lir.OpStore:
		k.store(in)
	case lir.OpDot:
		k.dot(in)
	case lir.OpSplit:
		k.split(in)
	case lir.OpAddr:
		if k.l.Segmented {
			// Its offset in its segment (the verifier allows no more).
			a, _ := k.l.base(in.Mem.Buf)
			k.i(x86.MOV, k.dst(in.Dst), x86.Imm(int64(a)+in.Mem.Disp))
			break
		}
		if c, ok := k.konst[in.Dst]; ok {
			k.i(x86.MOV, k.dst(in.Dst), x86.Imm(c)) // an offset where esOffsets says
			break
		}
		m := k.addr(in.Mem)
		if m.Base == x86.NoReg && m.Index == x86.NoReg {
			k.i(x86.MOV, k.dst(in.Dst), x86.Imm(int64(m.Disp)))
			break
		}
		if m.Index == x86.NoReg && m.Disp == 0 {
			// A copy, which allocation may make no instruction.
			k.i(x86.MOV, k.dst(in.Dst), m.Base)
			break
		}
		m.Size = 32
		k.i(x86.LEA, k.dst(in.Dst), m)
	case lir.OpSeg:
		if _, ok := k.inMem[in.Dst]; ok {
			break // its calls read its slot (passedSegments)
		}
		gr := k.l.Group[in.Mem.Buf]
		d := k.dst(in.Dst)
		if s, ok := k.pinned(gr.Slot); ok {
			k.i(x86.MOV, v16(d), s)
			k.i(x86.MOVZX, d, v16(d))
		} else {
			k.i(x86.MOVZX, d, x86.W(x86.Abs16(gr.Slot)))
		}
		if gr.Add != 0 {
			k.i(x86.ADD, d, x86.Imm(int64(gr.Add)))
		}
	case lir.OpUndef:
		regs := []x86.Reg{k.dst(in.Dst)}
		if k.is64(in.Dst) {
			regs = append(regs, k.dstHi(in.Dst))
		}
		for _, d := range regs {
			if v, ok := regalloc.Number(d); ok {
				k.undefs = append(k.undefs, v)
			}
		}
	case lir.OpToken, lir.OpPos:
		a := addrTok
		if in.Op == lir.OpPos {
			a = addrPos
		}
		k.i(x86.MOVZX, k.dst(in.Dst), x86.W(x86.Abs16(uint16(a))))
	default:
		panic(fmt.Sprintf("BUG: loopgen: opcode %v", in.Op))
	}
}

// move is dst = a (both dwords of an i64).
func (k *kernel) move(dst, a lir.Reg) {
	if dst == a {
		return
	}
	k.i(x86.MOV, k.dst(dst), k.src(a))
	if k.is64(dst) {
		k.i(x86.MOV, k.dstHi(dst), k.srcHi(a))
	}
}

// alu is dst = a op b, two-address: a copied into dst first, unless b is
// dst (then swapped when op commutes, else through a temporary).
func (k *kernel) alu(in *lir.Inst, op, opHi x86.Op, commutes bool) {
	a, b := in.A, in.B
	if b == in.Dst && a != in.Dst {
		if !commutes {
			t, th := k.v(), k.v()
			k.i(x86.MOV, t, k.src(a))
			if k.is64(in.Dst) {
				k.i(x86.MOV, th, k.srcHi(a))
			}
			k.i(op, t, k.src(b))
			if k.is64(in.Dst) {
				k.i(opHi, th, k.srcHi(b))
				k.i(x86.MOV, k.dstHi(in.Dst), th)
			}
			k.i(x86.MOV, k.dst(in.Dst), t)
			return
		}
		a, b = b, a
	} else if k.short && commutes && k.endsHere(b, a) && a != in.Dst {
		// For size, b ends here and a lives on: dst starts as b, which
		// the allocator can then give b's register, dropping the copy
		// (6 to 14 bytes an example). At -O2 it cost 1,843 instructions
		// a token in llama2.tf, so there the operands stay in order.
		a, b = b, a
	}
	if c, ok := k.konst[b]; ok && int32(c) == 0 && k.is64(in.Dst) && op == x86.ADD && k.zeroHi[a] && in.Dst != a {
		// extu(x) + (c << 32): x, and c above it.
		k.i(x86.MOV, k.dst(in.Dst), k.src(a))
		k.i(x86.MOV, k.dstHi(in.Dst), k.srcHi(b))
		return
	}
	k.move(in.Dst, a)
	if c, ok := k.konst[b]; ok && int32(c) == 0 && k.is64(in.Dst) && (op == x86.ADD || op == x86.SUB) {
		// A low dword of 0 carries nothing: the high dwords' op alone.
		k.i(op, k.dstHi(in.Dst), k.srcHi(b))
		return
	}
	k.i(op, k.dst(in.Dst), k.src(b))
	if k.is64(in.Dst) {
		k.i(opHi, k.dstHi(in.Dst), k.srcHi(b))
	}
}

func (k *kernel) mul32(in *lir.Inst) {
	a, b := in.A, in.B
	if _, ok := k.known(a); ok {
		a, b = b, a
	}
	if c, ok := k.known(b); ok {
		k.i(x86.IMUL, k.dst(in.Dst), k.reg(a), x86.Imm(int64(int32(c))))
		return
	}
	if b == in.Dst {
		a, b = b, a
	}
	k.move(in.Dst, a)
	k.i(x86.IMUL, k.dst(in.Dst), k.src(b))
}

// endsHere: b, a register read once, is read here for the last time
// while a, read again, lives on (a register guess: the counts are the
// kernel's, not a liveness).
func (k *kernel) endsHere(b, a lir.Reg) bool {
	_, mem := k.deferred[b]
	_, imm := k.konst[b]
	return !mem && !imm && a != b && k.readers[b] == 1 && k.readers[a] > 1
}

// mul64 is the low 64 bits of a·b: the low dwords' full product, plus
// the cross products into the high dword.
func (k *kernel) mul64(in *lir.Inst) {
	alo, ahi, blo, bhi := k.reg(in.A), k.hiReg(in.A), k.reg(in.B), k.hiReg(in.B)
	t := k.v()
	k.i(x86.MOV, t, alo)
	k.i(x86.IMUL, t, bhi)
	u := k.v()
	k.i(x86.MOV, u, ahi)
	k.i(x86.IMUL, u, blo)
	k.i(x86.ADD, t, u)
	k.i(x86.MOV, x86.EAX, alo)
	k.i(x86.MUL, blo)
	k.i(x86.ADD, x86.EDX, t)
	k.i(x86.MOV, k.dst(in.Dst), x86.EAX)
	k.i(x86.MOV, k.dstHi(in.Dst), x86.EDX)
}

func (k *kernel) shiftImm(in *lir.Inst) {
	n := in.Imm
	if n >= 32 && k.is64(in.Dst) {
		k.shiftWord(in)
		return
	}
	k.move(in.Dst, in.A)
	d := k.dst(in.Dst)
	if !k.is64(in.Dst) {
		op := map[lir.Opcode]x86.Op{lir.OpShlI: x86.SHL, lir.OpShrI: x86.SHR, lir.OpSarI: x86.SAR}[in.Op]
		if b, ok := k.below[in.A]; ok && b <= 0x10000 && op != x86.SHL {
			// A value below 0x10000 shifts right in its low word
			// (its upper half, clear, stays so): narrow may then take
			// the words it reads (attention's head index, halved).
			op, d = x86.SHR, v16(d)
		}
		if n != 0 {
			k.i(op, d, x86.Imm(n))
		}
		return
	}
	h := k.dstHi(in.Dst)
	switch {
	case n == 0:
	case n < 32 && in.Op == lir.OpShlI:
		k.i(x86.SHLD, h, d, x86.Imm(n))
		k.i(x86.SHL, d, x86.Imm(n))
	default:
		k.i(x86.SHRD, d, h, x86.Imm(n))
		k.i(map[lir.Opcode]x86.Op{lir.OpShrI: x86.SHR, lir.OpSarI: x86.SAR}[in.Op], h, x86.Imm(n))
	}
}

// shiftWord shifts an i64 by 32 to 63, which moves one dword into the
// other: the dword that goes is never copied (a sign mask, x >> 63, takes
// three instructions).
func (k *kernel) shiftWord(in *lir.Inst) {
	n := in.Imm - 32
	d, h := k.dst(in.Dst), k.dstHi(in.Dst)
	shift := func(op x86.Op, r x86.Reg) {
		if n > 0 {
			k.i(op, r, x86.Imm(n))
		}
	}
	switch in.Op {
	case lir.OpShlI:
		k.i(x86.MOV, h, k.src(in.A))
		shift(x86.SHL, h)
		k.i(x86.MOV, d, x86.Imm(0))
	case lir.OpShrI:
		k.i(x86.MOV, d, k.srcHi(in.A))
		shift(x86.SHR, d)
		k.i(x86.MOV, h, x86.Imm(0))
	default:
		k.i(x86.MOV, d, k.srcHi(in.A))
		shift(x86.SAR, d)
		if n == 31 {
			k.i(x86.MOV, h, d) // both dwords are the sign
			return
		}
		if in.Dst != in.A {
			k.i(x86.MOV, h, k.srcHi(in.A))
		}
		k.i(x86.SAR, h, x86.Imm(31))
	}
}

// shiftReg shifts by a register count: an i64 by 0..31 (the lowering's
// only counts; shld/shrd take counts mod 32).
func (k *kernel) shiftReg(in *lir.Inst) {
	// The count last: the value's register may be ecx until its move.
	k.move(in.Dst, in.A)
	if m, ok := k.deferred[in.B]; ok && m.Width < 4 {
		a := k.addr(m)
		a.Size = 8 * m.Width
		k.i(extension(m), x86.ECX, a)
	} else {
		k.i(x86.MOV, x86.ECX, k.src(in.B))
	}
	d := k.dst(in.Dst)
	op := map[lir.Opcode]x86.Op{lir.OpShl: x86.SHL, lir.OpShr: x86.SHR, lir.OpSar: x86.SAR}[in.Op]
	if !k.is64(in.Dst) {
		k.i(op, d, x86.CL)
		return
	}
	h := k.dstHi(in.Dst)
	if in.Op == lir.OpShl {
		k.i(x86.SHLD, h, d, x86.CL)
		k.i(x86.SHL, d, x86.CL)
		return
	}
	k.i(x86.SHRD, d, h, x86.CL)
	k.i(op, h, x86.CL)
}

var setcc = map[lir.Cond]x86.Op{
	lir.EQ: x86.SETE, lir.NE: x86.SETNE, lir.LT: x86.SETL, lir.LE: x86.SETLE, lir.GT: x86.SETG, lir.GE: x86.SETGE,
	lir.LTU: x86.SETB, lir.LEU: x86.SETBE, lir.GTU: x86.SETA, lir.GEU: x86.SETAE,
}

// swapped is the condition with its operands exchanged.
var swapped = map[lir.Cond]lir.Cond{
	lir.EQ: lir.EQ, lir.NE: lir.NE, lir.LT: lir.GT, lir.LE: lir.GE, lir.GT: lir.LT, lir.GE: lir.LE,
	lir.LTU: lir.GTU, lir.LEU: lir.GEU, lir.GTU: lir.LTU, lir.GEU: lir.LEU,
}

func (k *kernel) cmp(in *lir.Inst) {
	d := k.v() // the flag, then the result
	k.i(x86.MOV, d, x86.Imm(0))
	c := k.compare(in)
	k.i(setcc[c], v8(d))
	k.i(x86.MOV, k.dst(in.Dst), d)
}

// addFlag is add's d = d + c, where c is cmp's result (0 or 1), on cmp's
// flags: the carry of an unsigned below is c (adc d, 0), and sbb d, −1
// adds its complement (at or above); a > or <= against a constant below
// 2^32−1 compares against the next one instead. Any other condition
// takes a setcc (the mov of 0 before it leaves the flags alone): 2 to 6
// bytes fewer than c's register from a setcc, then an add.
func (k *kernel) addFlag(add, cmp *lir.Inst) {
	d := k.dst(add.Dst)
	c := cmp.Cond
	if v, ok := k.known(cmp.B); ok && !k.is64(cmp.A) && (c == lir.GTU || c == lir.LEU) && uint32(v) != 1<<32-1 {
		k.i(x86.CMP, k.reg(cmp.A), x86.Imm(int64(int32(uint32(v)+1))))
		c = map[lir.Cond]lir.Cond{lir.GTU: lir.GEU, lir.LEU: lir.LTU}[c]
	} else {
		c = k.compare(cmp)
	}
	switch c {
	case lir.LTU:
		k.i(x86.ADC, d, x86.Imm(0))
	case lir.GEU:
		k.i(x86.SBB, d, x86.Imm(-1))
	default:
		t := k.v()
		k.i(x86.MOV, t, x86.Imm(0))
		k.i(setcc[c], v8(t))
		k.i(x86.ADD, d, t)
	}
}

// compare sets the flags for in, an OpCmp, and returns the condition to
// test them by (the operands may have been swapped).
func (k *kernel) compare(in *lir.Inst) lir.Cond {
	a, b, c := in.A, in.B, in.Cond
	if !k.is64(a) {
		if _, ok := k.known(a); ok {
			a, b, c = b, a, swapped[c]
		}
		ra, sb := k.reg(a), k.src(b)
		if v, ok := k.known(b); ok && k.words[a] && v >= 0 && v < 0x8000 {
			ra, sb = v16(ra), word16(sb)
		}
		k.i(x86.CMP, ra, sb)
		return c
	}
	switch c {
	case lir.EQ, lir.NE:
		t, u := k.v(), k.v()
		k.i(x86.MOV, t, k.src(a))
		k.i(x86.XOR, t, k.src(b))
		k.i(x86.MOV, u, k.srcHi(a))
		k.i(x86.XOR, u, k.srcHi(b))
		k.i(x86.OR, t, u)
	default:
		// a − b over 64 bits sets the flags of the high dwords' compare:
		// GT and LE compare b − a.
		if c == lir.GT || c == lir.LE || c == lir.GTU || c == lir.LEU {
			a, b, c = b, a, swapped[c]
		}
		t := k.v()
		k.i(x86.MOV, t, k.srcHi(a))
		ra, sb := k.reg(a), k.src(b)
		k.i(x86.CMP, ra, sb)
		k.i(x86.SBB, t, k.srcHi(b))
	}
	return c
}

// jcc jumps when a condition holds; negated is the condition that does
// not.
var (
	jcc = map[lir.Cond]x86.Op{
		lir.EQ: x86.JE, lir.NE: x86.JNE, lir.LT: x86.JL, lir.LE: x86.JLE, lir.GT: x86.JG, lir.GE: x86.JGE,
		lir.LTU: x86.JB, lir.LEU: x86.JBE, lir.GTU: x86.JA, lir.GEU: x86.JAE,
	}
	negated = map[lir.Cond]lir.Cond{
		lir.EQ: lir.NE, lir.NE: lir.EQ, lir.LT: lir.GE, lir.LE: lir.GT, lir.GT: lir.LE, lir.GE: lir.LT,
		lir.LTU: lir.GEU, lir.LEU: lir.GTU, lir.GTU: lir.LEU, lir.GEU: lir.LTU,
	}
)

// sel is dst = c ? a : b, with a branch (386 code has no cmov); cmp,
// when not nil, is the comparison that computes c, whose flags it jumps
// on.
func (k *kernel) sel(in *lir.Inst, cmp *lir.Inst) {
	skip := k.fresh("sel")
	if cmp != nil {
		if in.Dst == in.A {
			k.i(jcc[k.compare(cmp)], x86.Label(skip))
			k.move(in.Dst, in.B)
		} else {
			if in.Dst != in.B {
				k.move(in.Dst, in.B)
			}
			k.i(jcc[negated[k.compare(cmp)]], x86.Label(skip))
			k.move(in.Dst, in.A)
		}
		k.label(skip)
		return
	}
	c := k.reg(in.C)
	wide := k.is64(in.Dst)
	if in.Dst == in.A {
		k.i(x86.TEST, c, c)
		k.i(x86.JNZ, x86.Label(skip))
		k.move(in.Dst, in.B)
		k.label(skip)
		return
	}
	k.i(x86.TEST, c, c)
	if in.Dst != in.B {
		k.move(in.Dst, in.B)
	}
	k.i(x86.JZ, x86.Label(skip))
	k.i(x86.MOV, k.dst(in.Dst), k.src(in.A))
	if wide {
		k.i(x86.MOV, k.dstHi(in.Dst), k.srcHi(in.A))
	}
	k.label(skip)
}

func (k *kernel) load(in *lir.Inst) {
	m := k.addr(in.Mem)
	d := k.dst(in.Dst)
	switch in.Mem.Width {
	case 1, 2:
		m.Size = 8 * in.Mem.Width
		k.i(extension(in.Mem), d, m)
	case 4:
		m.Size = 32
		k.i(x86.MOV, d, m)
	case 8:
		m.Size = 32
		k.i(x86.MOV, d, m)
		m.Disp += 4
		k.i(x86.MOV, k.dstHi(in.Dst), m)
		return
	}
	if k.is64(in.Dst) {
		h := k.dstHi(in.Dst)
		if in.Mem.Signed {
			k.i(x86.MOV, h, d)
			k.i(x86.SAR, h, x86.Imm(31))
		} else {
			k.i(x86.MOV, h, x86.Imm(0))
		}
	}
}

// extension is the move that loads m's byte or word extended as m says.
func extension(m lir.Mem) x86.Op {
	if m.Signed {
		return x86.MOVSX
	}
	return x86.MOVZX
}

func (k *kernel) store(in *lir.Inst) {
	if in == k.returns {
		k.i(x86.MOV, x86.EAX, k.src(in.A))
		k.i(x86.RET)
		k.k.Items[len(k.k.Items)-1].Reads = []x86.Reg{x86.AX}
		return
	}
	m := k.addr(in.Mem)
	w := in.Mem.Width
	m.Size = 8 * min(w, 4)
	c, known := k.known(in.A)
	switch {
	case known && w <= 4:
		k.i(x86.MOV, m, x86.Imm(int64(truncate(c, w))))
	case known:
		k.i(x86.MOV, m, x86.Imm(int64(int32(c))))
		m.Disp += 4
		k.i(x86.MOV, m, x86.Imm(int64(int32(c>>32))))
	case w == 1:
		k.i(x86.MOV, m, v8(k.reg(in.A)))
	case w == 2:
		k.i(x86.MOV, m, v16(k.reg(in.A)))
	case w == 4:
		k.i(x86.MOV, m, k.reg(in.A))
	default:
		k.i(x86.MOV, m, k.reg(in.A))
		m.Disp += 4
		k.i(x86.MOV, m, k.hiReg(in.A))
	}
}

// truncate is c as a signed immediate of w bytes.
func truncate(c int64, w int) int64 {
	switch w {
	case 1:
		return int64(int8(c))
	case 2:
		return int64(int16(c))
	}
	return int64(int32(c))
}
