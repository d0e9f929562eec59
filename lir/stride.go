package lir

import "math/bits"

// stride makes a loop whose index only indexes memory, scaled by 2, 4 or
// 8 (a vector of words, dwords or int64s), count in bytes: its index
// steps by the least scale and its operands take it unscaled, or scaled
// by what remains (attention's scores by 4, the cache's shifts by 8: the
// shifts then by 2). The loop's step costs 2 bytes more than an inc, and each
// operand loses its scale: no SIB byte where the index is its only
// register, and where the allocator gives it si, di, bx or bp the
// segmented model's 16-bit address (no 0x67 prefix, no SIB, a 16-bit
// displacement for a 32-bit one), as the flat model's activations where
// they lie in low memory (LowActivations). The index may also be shifted
// left by the scale or more (a row's offset: t<<5 becomes t<<3), or
// multiplied by a constant that the scale divides (a cache row of 72
// bytes: t*72 becomes t*18). An index that indexes nothing and is only
// shifted steps by the least shift's amount (the store of k and v: each
// head's offset, h<<5, is then the index itself, which counts to 0). A loop
// of a register count runs below a limit, the count shifted by the
// scale's power, computed just before it (Node.Limit), which cse and
// licm may share and move out: attention's loops over the positions.
func stride(f *Func) {
	uses, nd := useCounts(f), defs(f)
	by := scalings(f)
	// shifts: each register's readers that shift it left by an
	// immediate, and the least such shift.
	shifts := map[Reg]int{}
	least := map[Reg]int64{}
	note := func(r Reg, k int64) {
		if _, ok := least[r]; !ok || k < least[r] {
			least[r] = k
		}
		shifts[r]++
	}
	konst := constants(f)
	walkAll(f, func(n *Node) {
		if n.Kind == NInst && n.Inst.Op == OpShlI {
			note(n.Inst.A, n.Inst.Imm)
		}
		if r, c, ok := mulByConst(n, konst); ok {
			// A multiply by c is a shift by c's trailing zeros, and
			// a multiply by what is left (a cache row of 72 bytes).
			note(r, int64(bits.TrailingZeros64(uint64(c))))
		}
	})
	// A procedure's loop of a register count (a parameter) is left: its
	// limit is computed and kept a call, and where its index and base
	// are no 16-bit pair the operands stay 32-bit (the matmul
	// procedure: +22 bytes, llama2-int8.tf, `tfc size --gen loop`).
	inProc := map[*Node]bool{}
	for _, p := range f.Procs {
		Walk(p.Body, func(n *Node) { inProc[n] = true })
	}
	rewriteNodes(f, func(out []*Node, n *Node) []*Node {
		if n.Kind == NLoop && !(inProc[n] && n.Count != NoReg) {
			out = append(out, strideLoop(f, n, by[n.Index], shifts[n.Index], least[n.Index], uses, nd, konst)...)
		}
		return append(out, n)
	})
}

// zeroTests are the compares in loop n of its index with 0 for equality
// (attention's first position, whose score is the best so far): they
// hold of the index times any scale alike.
func zeroTests(n *Node, konst map[Reg]int64) int {
	tests := 0
	Walk(n.Body, func(b *Node) {
		in := &b.Inst
		if b.Kind != NInst || in.Op != OpCmp || in.Cond != EQ && in.Cond != NE {
			return
		}
		for _, ab := range [][2]Reg{{in.A, in.B}, {in.B, in.A}} {
			if c, ok := konst[ab[1]]; ok && c == 0 && ab[0] == n.Index {
				tests++
				return
			}
		}
	})
	return tests
}

// mulByConst: n multiplies r by a positive constant c.
func mulByConst(n *Node, konst map[Reg]int64) (r Reg, c int64, ok bool) {
	if n.Kind != NInst || n.Inst.Op != OpMul {
		return NoReg, 0, false
	}
	for _, swap := range []bool{false, true} {
		a, b := n.Inst.A, n.Inst.B
		if swap {
			a, b = b, a
		}
		if v, isConst := konst[b]; isConst && v > 0 && a != b {
			return a, v, true
		}
	}
	return NoReg, 0, false
}

// scalings are how each register indexes memory.
func scalings(f *Func) map[Reg]*scaling {
	by := map[Reg]*scaling{}
	walkAll(f, func(n *Node) {
		if n.Kind != NInst {
			return
		}
		for _, m := range n.Inst.mems() {
			if m.Index == NoReg {
				continue
			}
			s := by[m.Index]
			if s == nil {
				s = &scaling{least: m.Scale, most: m.Scale, x86: true}
				by[m.Index] = s
			}
			s.n++
			s.least, s.most = min(s.least, m.Scale), max(s.most, m.Scale)
			// A dot's or a split's operand is a vector's start, which
			// their selection reads in its own way.
			if m.Scale != 1 && m.Scale != 2 && m.Scale != 4 && m.Scale != 8 || n.Inst.Op == OpDot || n.Inst.Op == OpSplit {
				s.x86 = false
			}
		}
	})
	return by
}

// scaling is how a register indexes memory: the least and the most of
// its scales, the operands it indexes, and whether every one is an
// address's plain scale (1, 2, 4 or 8, each a multiple of the least; not
// a dot's or a split's vector).
type scaling struct {
	least, most int64
	n           int
	x86         bool
}

// power is log2 of s's least scale where that is 2, 4 or 8 (else 0: the
// index takes no stride nor unscale).
func (s *scaling) power() int64 {
	if s == nil || !s.x86 || s.least < 2 {
		return 0
	}
	return int64(bits.TrailingZeros64(uint64(s.least)))
}

// strideLoop strides loop n where s, its index's scaling, and the index's
// shifts (how many, the least) allow, and returns what must come before
// it (its limit).
func strideLoop(f *Func, n *Node, s *scaling, shifts int, least int64, uses []int, nd []int, konst map[Reg]int64) []*Node {
	if n.Step > 1 || n.Count == NoReg && n.CountImm < 2 {
		return nil
	}
	if s == nil && shifts == uses[n.Index] && least > 0 {
		// Only shifted: the loop steps by the least shift's amount.
		s = &scaling{least: 1 << least, most: 1 << least, x86: true}
	}
	k := s.power()
	if k == 0 {
		return nil
	}
	if s.n+shifts+zeroTests(n, konst) != uses[n.Index] || shifts > 0 && least < k {
		return nil
	}
	// Flat, the step's 2 bytes pay where three operands each lose a SIB
	// byte, where every operand is a low activation, or where one the
	// index alone addresses is (a 16-bit form, 4 bytes fewer: llama2.tf's
	// norm procedure, 5 bytes smaller; gpt2-random's procedures, 18;
	// stories15M's activations lie above 1 MiB, unchanged).
	if !f.Segmented && s.n > 0 {
		alone, aloneLow, low := 0, 0, f.LowActivations
		Walk(n.Body, func(b *Node) {
			if b.Kind == NInst {
				for _, m := range b.Inst.mems() {
					if m.Index == n.Index && m.Base == NoReg && m.Scale == s.least {
						alone++
						if f.LowActivations && m.Buf.Activation() {
							aloneLow++
						}
					}
					if m.Index == n.Index && !m.Buf.Activation() {
						low = false
					}
				}
			}
		})
		if alone < 3 && !low && aloneLow == 0 {
			return nil
		}
	}
	var pre []*Node
	same := map[Reg]Reg{}
	if n.Count != NoReg {
		n.Limit = f.NewReg(I32)
		pre = append(pre, &Node{Kind: NInst, Inst: Inst{Op: OpShlI, Dst: n.Limit, A: n.Count, B: NoReg, C: NoReg, Imm: k}})
	}
	n.Step = s.least
	Walk(n.Body, func(b *Node) {
		if b.Kind != NInst {
			return
		}
		for _, m := range b.Inst.mems() {
			if m.Index == n.Index {
				m.Scale /= s.least
			}
		}
		if in := &b.Inst; in.Op == OpShlI && in.A == n.Index {
			in.Imm -= k
			if in.Imm == 0 {
				in.Op = OpCopy
				if nd[in.Dst] == 1 && readsIn(n, in.Dst) == uses[in.Dst] {
					same[in.Dst] = n.Index
				}
			}
		}
		if r, c, ok := mulByConst(b, konst); ok && r == n.Index {
			// By c >> k, a constant of its own before the loop.
			d := f.NewReg(I32)
			pre = append(pre, &Node{Kind: NInst, Inst: Inst{Op: OpConst, Dst: d, A: NoReg, B: NoReg, C: NoReg, Imm: c >> k}})
			b.Inst.A, b.Inst.B = r, d
		}
	})
	// A copy of the index that only the loop reads is the index: its
	// readers read the index (the copy goes, dce), where the loop that
	// counts to 0 needs its index the address's base.
	Walk(n.Body, func(b *Node) {
		if b.Kind == NInst {
			renameReads(&b.Inst, same)
		}
	})
	return pre
}
