package loopgen

import (
	"math/bits"

	x86 "tfc/codegen/x86_16"
	"tfc/lir"
)

// A loop's selection: counting up to its count (in 16 bits where that is
// the same, shortLoop), down to 0 where nothing reads its index, or on a
// running bit's zero flag.

// loop is a loop; before are the nodes before it in its list.
func (k *kernel) loop(n *lir.Node, before []*lir.Node) {
	var prev *lir.Node
	if len(before) > 0 {
		prev = before[len(before)-1]
	}
	idx := k.dst(n.Index)
	top, end := k.fresh("loop"), k.fresh("end")
	count := x86.Operand(x86.Imm(n.CountImm))
	if r := countReg(n); r != lir.NoReg {
		count = k.src(r)
	}
	if k.readers[n.Index] == 0 && (bitLoop(n, prev, k.nd, k.f.Types) || n.ZeroEnds) {
		// The running bit's shift sets the zero flag after the last
		// pass alone (or the lowering lets the loop end there): no
		// count.
		k.label(top)
		k.nodes(n.Body)
		k.i(x86.JNZ, x86.Label(top))
		k.label(end)
		return
	}
	if k.fill(n) {
		return
	}
	if p, last, ok := k.endLoop(n, before); ok {
		k.label(top)
		k.nodes(n.Body)
		if last == 0 && n.Body[len(n.Body)-1].Inst.Dst == p && indexes(n.Body, p) {
			// The step is the body's last, in 32 bits where p indexes
			// a linear address (stories15M's argmax): stepTest takes
			// its flags for the compare's, in its width.
			k.i(x86.CMP, k.src(p), x86.Imm(0))
		} else {
			k.i(x86.CMP, word16(k.src(p)), x86.Imm(last))
		}
		k.i(x86.JNZ, x86.Label(top))
		k.label(end)
		return
	}
	if k.readers[n.Index] == 0 && (n.Count == lir.NoReg && n.CountImm > 0 || n.Count != lir.NoReg && n.Once) {
		k.countDown(n, idx, count, top)
		k.label(end)
		return
	}
	if k.countsUp(n) {
		k.countToZero(n, idx, top)
		k.label(end)
		return
	}
	k.i(x86.MOV, idx, x86.Imm(0))
	// A count in a register is tested before the first pass, unless the
	// lowering knows it is at least 1; a constant one needs no test.
	guard := n.Count != lir.NoReg && !n.Once
	if c, ok := count.(x86.Imm); ok && c <= 0 {
		k.i(x86.JMP, x86.Label(end))
		guard = false
	}
	if guard {
		k.i(x86.CMP, idx, count)
		k.i(x86.JGE, x86.Label(end))
	}
	k.label(top)
	short := k.shortLoop(n)
	k.words[n.Index] = short
	k.nodes(n.Body)
	if short {
		idx, count = short16(idx, count)
	}
	if n.Step > 1 {
		k.i(x86.ADD, idx, x86.Imm(n.Step))
		if n.Count == lir.NoReg {
			count = x86.Imm(n.CountImm * n.Step)
		}
	} else {
		k.i(x86.INC, idx)
	}
	k.i(x86.CMP, idx, count)
	k.i(x86.JL, x86.Label(top))
	k.label(end)
}

// bitLoop: a loop of a constant count whose body ends shifting a 32-bit
// register right by one, which the node before the loop sets to a
// constant whose highest bit is bit count−1 and nothing else writes (the
// square root's running bit): the register is 0 after the last pass, and
// not before.
func bitLoop(n, prev *lir.Node, nd []int, types []lir.Type) bool {
	if n.Count != lir.NoReg || len(n.Body) == 0 || prev == nil || prev.Kind != lir.NInst || prev.Inst.Op != lir.OpConst {
		return false
	}
	last := n.Body[len(n.Body)-1]
	if last.Kind != lir.NInst || last.Inst.Op != lir.OpShrI || last.Inst.Imm != 1 || last.Inst.Dst != last.Inst.A {
		return false
	}
	r := last.Inst.Dst
	return prev.Inst.Dst == r && types[r] == lir.I32 && nd[r] == 2 && bits.Len32(uint32(prev.Inst.Imm)) == int(n.CountImm)
}

// endLoop: for size, a loop of a constant count whose index nothing
// reads, whose body steps a pointer p by a constant, p set to a
// known value by a node before the loop in its list and written by
// nothing else, runs until p's low word reaches its end (cmp p16, end;
// jnz: the bytes of a count's mov and dec, and no register or memory of
// its own: rope's loop, whose registers mac2's routine takes, had its
// count in memory). It returns p and the end.
func (k *kernel) endLoop(n *lir.Node, before []*lir.Node) (lir.Reg, int64, bool) {
	if !k.short || n.Count != lir.NoReg || n.CountImm <= 0 || k.readers[n.Index] != 0 || len(n.Body) == 0 {
		return 0, 0, false
	}
	p, end, found := lir.NoReg, int64(0), false
	for i, x := range n.Body {
		in := &x.Inst
		if x.Kind != lir.NInst || in.Op != lir.OpAdd || in.Dst != in.A || k.f.Types[in.Dst] != lir.I32 || k.nd[in.Dst] != 2 {
			continue
		}
		step, ok := k.known(in.B)
		if !ok || step == 0 || n.CountImm*abs64(step) >= 0x10000 {
			continue
		}
		v, ok := k.valueBefore(in.Dst, before)
		if !ok {
			continue
		}
		e := int64(int16(v + n.CountImm*step))
		if e == 0 && i == len(n.Body)-1 {
			// The step's own flags end the loop (stepTest drops the compare).
			return in.Dst, e, true
		}
		if !found {
			p, end, found = in.Dst, e, true
		}
	}
	return p, end, found
}

// indexes: an address in nodes takes r as its base or index.
func indexes(nodes []*lir.Node, r lir.Reg) bool {
	found := false
	lir.Walk(nodes, func(n *lir.Node) {
		if n.Kind == lir.NInst {
			m := n.Inst.Mem
			found = found || m.Buf != nil && (m.Base == r || m.Index == r)
		}
	})
	return found
}

// valueBefore is the value that r has after nodes, written once among
// them (not within a loop or if) with a value known when compiling: a
// constant, or a copy of one (or of a register so written before it).
func (k *kernel) valueBefore(r lir.Reg, nodes []*lir.Node) (int64, bool) {
	for i := len(nodes) - 1; i >= 0; i-- {
		x := nodes[i]
		if x.Kind != lir.NInst || x.Inst.Dst != r {
			continue
		}
		if c, ok := k.known(r); ok {
			return c, true
		}
		if x.Inst.Op == lir.OpConst {
			return x.Inst.Imm, true
		}
		if x.Inst.Op == lir.OpCopy && k.nd[x.Inst.A] == 1 {
			return k.valueBefore(x.Inst.A, nodes[:i])
		}
		return 0, false
	}
	if c, ok := k.known(r); ok {
		return c, true
	}
	return 0, false
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// fill is a loop of a constant count that only stores zeros, each pass
// the next bytes of one buffer in ES's segment (attention's sums): rep
// stosd from its first byte (mov di; mov cx; xor eax, eax: 12 bytes for
// the 25 of attention's loop of two stores). It returns false, selecting
// nothing, for any other loop.
func (k *kernel) fill(n *lir.Node) bool {
	if n.Count != lir.NoReg || n.CountImm <= 0 {
		return false
	}
	var buf *lir.Buf
	var first, bytes int64
	stores := 0
	for _, b := range n.Body {
		if b.Kind == lir.NInst && b.Inst.Op == lir.OpConst {
			continue // the zero (the stores' immediate)
		}
		if b.Kind != lir.NInst || b.Inst.Op != lir.OpStore {
			return false
		}
		m := b.Inst.Mem
		if c, ok := k.known(b.Inst.A); !ok || c != 0 || m.Buf == nil || m.Base != lir.NoReg || m.Index != n.Index || m.Scale != 1 {
			return false
		}
		if stores == 0 {
			buf, first = m.Buf, m.Disp
		}
		stores++
		// Each store the bytes right after the one before it's.
		if m.Buf != buf || m.Disp != first+bytes {
			return false
		}
		bytes += int64(m.Width)
	}
	if stores == 0 || k.readers[n.Index] != stores || bytes != max(n.Step, 1) || bytes*n.CountImm%4 != 0 {
		return false
	}
	at := k.addr(lir.Mem{Buf: buf, Base: lir.NoReg, Index: lir.NoReg, Disp: first, Width: 4})
	// Segmented, a buffer in segment 0 (DS: the Zero placement) takes
	// ES for the stores, from DS, and back (4 bytes).
	swap := k.l.Segmented && at.Seg == x86.DS
	if at.Seg != x86.ES && !(k.l.Low && at.Seg == k.l.lowReg()) && !swap || at.Base != x86.NoReg || at.Index != x86.NoReg || at.Addr32 {
		return false
	}
	k.i(x86.MOV, x86.DI, x86.Imm(int64(uint16(at.Disp))))
	k.i(x86.MOV, x86.CX, x86.Imm(bytes*n.CountImm/4))
	k.i(x86.XOR, x86.EAX, x86.EAX)
	if swap {
		k.i(x86.PUSH, x86.ES)
		k.i(x86.PUSH, x86.DS)
		k.i(x86.POP, x86.ES)
	}
	k.i(x86.REP | x86.STOSD)
	if swap {
		k.i(x86.POP, x86.ES)
	}
	return true
}

// countDown is a loop whose index nothing reads, which runs at least
// once: the index counts the passes left down to 0 (dec, jnz: an
// instruction a pass fewer than inc, cmp, jl, and 1 to 4 bytes fewer).
func (k *kernel) countDown(n *lir.Node, idx x86.Reg, count x86.Operand, top string) {
	if k.shortLoop(n) {
		idx, count = short16(idx, count)
	}
	k.i(x86.MOV, idx, count)
	k.label(top)
	k.nodes(n.Body)
	k.i(x86.DEC, idx)
	k.i(x86.JNZ, x86.Label(top))
}

// countsUp: a short loop of a constant count whose index only addresses
// memory in a segment, unscaled, with one register besides it at most:
// the index may count from −count·step up to 0, its addresses taking
// count·step more displacement (countToZero).
func (k *kernel) countsUp(n *lir.Node) bool {
	if !k.toZero || n.Count != lir.NoReg || n.CountImm <= 0 || !k.shortLoop(n) {
		return false
	}
	uses, ok := 0, true
	lir.Walk(n.Body, func(x *lir.Node) {
		if x.Kind != lir.NInst {
			return
		}
		m := x.Inst.Mem
		if x.Inst.Op != lir.OpLoad && x.Inst.Op != lir.OpStore || m.Base != n.Index && m.Index != n.Index {
			return
		}
		uses++
		ok = ok && m.Base != m.Index && (m.Index != n.Index || m.Scale == 1) && k.inSegment(m) && k.addrRegs(m) <= 2
	})
	return ok && uses > 0 && uses == k.readers[n.Index]
}

// countToZero is countsUp's loop: `mov idx, −count·step` and, at the end,
// `add idx, step; jnz` where counting up from 0 compares with the count
// (3 bytes, 4 with a count above 127). Its addresses are 16-bit (the
// index's upper half is not the sign of its lower), in which the
// negative index wraps to the same offset (addr).
func (k *kernel) countToZero(n *lir.Node, idx x86.Reg, top string) {
	step := max(n.Step, 1)
	k.bias[n.Index] = n.CountImm * step
	k.i(x86.MOV, idx, x86.Imm(-n.CountImm*step))
	k.label(top)
	k.nodes(n.Body)
	if step > 1 {
		k.i(x86.ADD, v16(idx), x86.Imm(step))
	} else {
		k.i(x86.INC, v16(idx))
	}
	k.i(x86.JNZ, x86.Label(top))
}

// bound adds to below the values a kernel computes once from the
// position (below steps, the positions the image runs) and constants
// that are not negative: attention's loops over the positions so far
// count to pos+1.
func (k *kernel) bound(nodes []*lir.Node, steps int64) {
	lir.Walk(nodes, func(n *lir.Node) {
		if n.Kind == lir.NLoop && n.Count == lir.NoReg && k.nd[n.Index] == 1 {
			k.below[n.Index] = n.CountImm * max(n.Step, 1)
		}
		if n.Kind != lir.NInst || n.Inst.Dst == lir.NoReg || k.nd[n.Inst.Dst] != 1 || k.is64(n.Inst.Dst) {
			return
		}
		in := &n.Inst
		switch in.Op {
		case lir.OpPos:
			k.below[in.Dst] = steps
		case lir.OpCopy:
			if b, ok := k.below[in.A]; ok {
				k.below[in.Dst] = b
			}
		case lir.OpShlI:
			if b, ok := k.below[in.A]; ok && in.Imm < 16 {
				k.below[in.Dst] = b << in.Imm
			}
		case lir.OpAdd:
			for _, ab := range [][2]lir.Reg{{in.A, in.B}, {in.B, in.A}} {
				b, ok := k.below[ab[0]]
				c, known := k.known(ab[1])
				if ok && known && c >= 0 {
					k.below[in.Dst] = b + c
				}
			}
		case lir.OpMul:
			// attention's cache head, (h·m) >> s (lir's divMagic).
			for _, ab := range [][2]lir.Reg{{in.A, in.B}, {in.B, in.A}} {
				b, ok := k.below[ab[0]]
				c, known := k.known(ab[1])
				if ok && known && b > 0 && c >= 0 && c < 0x10000 && b <= 0x10000 {
					k.below[in.Dst] = (b-1)*c + 1
				}
			}
		}
	})
}

// countReg is the register loop n's index is compared with: its limit,
// or its count (NoReg: a constant count).
func countReg(n *lir.Node) lir.Reg {
	if n.Limited() {
		return n.Limit
	}
	return n.Count
}

// shortLoop: for size, a loop steps and compares the low 16 bits of its
// index (no 0x66 prefix: 2 bytes fewer a loop) where that is the same as
// all 32: the index starts at 0 with its upper half clear, only the loop
// writes it, and it never reaches 0x8000, where the signed 16-bit compare
// would part from the 32-bit one. Its count is a constant, or a proc's
// param that every call passes as a constant below 0x8000 (compared by
// its low word).
func (k *kernel) shortLoop(n *lir.Node) bool {
	if !k.short || k.nd[n.Index] != 1 {
		return false
	}
	if c := countReg(n); c != lir.NoReg {
		b, ok := k.below[c]
		return ok && b <= 0x8000 && k.nd[c] <= 1
	}
	return n.CountImm*max(n.Step, 1) < 0x8000
}

// short16 are a short loop's index and count as their low words.
func short16(idx x86.Reg, count x86.Operand) (x86.Reg, x86.Operand) {
	return v16(idx), word16(count)
}

// word16 is a register's or memory operand's low word.
func word16(o x86.Operand) x86.Operand {
	switch c := o.(type) {
	case x86.Reg:
		return v16(c)
	case x86.Mem:
		return x86.W(c)
	}
	return o
}
