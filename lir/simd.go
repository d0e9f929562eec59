package lir

// The simd pass (-march sse2): a matmul row's dot product of int16
// weights with an i32 vector becomes one OpDot, which SSE2's pmaddwd runs
// eight products at a time, exactly: pmaddwd multiplies int16 by int16,
// so the vector is split once, before the row loop, into three balanced
// 11-bit digits (x = d0 + d1·2^11 + d2·2^22, each in [-1024, 1023], d2
// within ±512), and a row sums w·d for each digit in 32-bit lanes (a pair
// of products is below 2^26, so 32 pairs a lane, 256 columns, cannot
// overflow) before the three sums meet in 64 bits.

// DigitRow is the length of a row of digits for n columns: whole 16-byte
// chunks of eight, the padding zeros.
func DigitRow(n int64) int64 { return (n + 7) &^ 7 }

// maxDotCols is the most columns an OpDot takes (its lanes' bound).
const maxDotCols = 256

func simd(f *Func) {
	// splitKey names a split: the vector's buffer, its first element,
	// the columns.
	type splitKey struct {
		buf  *Buf
		disp int64
		n    int64
	}
	var rewrite func(nodes []*Node) []*Node
	rewrite = func(nodes []*Node) []*Node {
		var out []*Node
		// The splits made in this list, while nothing writes their
		// vector (a fused matmul's row loops share one).
		splits := map[splitKey]*Buf{}
		for _, n := range nodes {
			if n.Kind == NLoop {
				for i := 0; i < len(n.Body); i++ {
					dot, ok := matchDot(f, n.Body[i])
					if !ok {
						continue
					}
					key := splitKey{dot.x.Buf, dot.x.Disp, dot.n}
					buf := splits[key]
					if buf == nil {
						var split []*Node
						split, buf = splitDigits(f, dot.x, dot.n)
						out = append(out, split...)
						splits[key] = buf
					}
					in := Inst{Op: OpDot, Dst: dot.sum, A: NoReg, B: NoReg, C: NoReg, Imm: dot.n,
						Mem: dot.w, Mem2: Mem{Buf: buf, Base: NoReg, Index: NoReg, Width: 2, Signed: true}}
					if i > 0 && isZero(n.Body[i-1], dot.acc) {
						// acc = 0 just before: the dot is acc.
						in.Dst = dot.acc
						n.Body[i-1] = &Node{Kind: NInst, Inst: in}
						n.Body = append(n.Body[:i], n.Body[i+1:]...)
						i--
						continue
					}
					n.Body[i] = &Node{Kind: NInst, Inst: in}
					// The loop added into acc: so does the dot.
					add := &Node{Kind: NInst, Inst: Inst{Op: OpAdd, Dst: dot.acc, A: dot.acc, B: dot.sum, C: NoReg}}
					n.Body = append(n.Body[:i+1], append([]*Node{add}, n.Body[i+1:]...)...)
				}
			}
			n.Body, n.Then, n.Else = rewrite(n.Body), rewrite(n.Then), rewrite(n.Else)
			for k := range splits {
				if writes(n, k.buf) {
					delete(splits, k)
				}
			}
			out = append(out, n)
		}
		return out
	}
	f.Body = rewrite(f.Body)
}

// isZero: n sets r to the constant 0.
func isZero(n *Node, r Reg) bool {
	return n.Kind == NInst && n.Inst.Op == OpConst && n.Inst.Dst == r && n.Inst.Imm == 0
}

// writes: n stores into b (or calls a procedure, which might).
func writes(n *Node, b *Buf) bool {
	w := false
	Walk([]*Node{n}, func(x *Node) {
		m := x.Inst.Stored()
		w = w || x.Kind == NCall || x.Kind == NInst && m != nil && (m.Buf == b || m.Buf == nil)
	})
	return w
}

// dotLoop is a matched dot product: acc += Σ w[j]·x[j] over n columns.
type dotLoop struct {
	w, x     Mem // the row's first weight (int16); the vector's first element (i32)
	n        int64
	acc, sum Reg
}

// matchDot matches a loop of a constant count (a multiple of 4, at most
// maxDotCols) whose body is exactly: the index times 2 added to a row
// offset, the int16 weight there, the vector's element at the index, their
// wide product added into an i64 accumulator.
func matchDot(f *Func, d *Node) (dotLoop, bool) {
	var m dotLoop
	if d.Kind != NLoop || d.Count != NoReg || d.Step > 1 || d.CountImm%4 != 0 || d.CountImm > maxDotCols || d.CountImm == 0 {
		return m, false
	}
	c := d.Index
	def := map[Reg]*Inst{}
	var wl, xl, mul, add *Inst
	for _, x := range d.Body {
		if x.Kind != NInst {
			return m, false
		}
		in := &x.Inst
		def[in.Dst] = in
		switch {
		case in.Op == OpLoad && in.Mem.Width == 2 && in.Mem.Signed && in.Mem.Buf != nil && in.Mem.Buf.Kind == BufParam:
			wl = in
		case in.Op == OpLoad && in.Mem.Width == 4 && in.Mem.Buf != nil && in.Mem.Index == c && in.Mem.Scale == 4 && in.Mem.Base == NoReg:
			xl = in
		case in.Op == OpMulWide:
			mul = in
		case in.Op == OpAdd && f.Types[in.Dst] == I64 && (in.A == in.Dst || in.B == in.Dst):
			add = in
		case in.Op == OpConst || in.Op == OpMul || in.Op == OpShlI || in.Op == OpAdd && f.Types[in.Dst] == I32:
		default:
			return m, false
		}
	}
	if wl == nil || xl == nil || mul == nil || add == nil || len(d.Body) > 8 {
		return m, false
	}
	if !(mul.A == wl.Dst && mul.B == xl.Dst || mul.A == xl.Dst && mul.B == wl.Dst) {
		return m, false
	}
	acc := add.Dst
	if other := add.A + add.B - acc; other != mul.Dst {
		return m, false
	}
	// The weight's address: row + 2·c (+ Disp), in Base or Index.
	addr := wl.Mem.Index
	if wl.Mem.Base != NoReg {
		if wl.Mem.Index != NoReg {
			return m, false
		}
		addr = wl.Mem.Base
	} else if wl.Mem.Scale != 1 {
		return m, false
	}
	a := def[addr]
	if a == nil || a.Op != OpAdd {
		return m, false
	}
	row, twice := a.A, a.B
	if !timesTwo(def, twice, c) {
		row, twice = a.B, a.A
		if !timesTwo(def, twice, c) {
			return m, false
		}
	}
	if def[row] != nil {
		return m, false // the row offset comes from outside the loop
	}
	m.w = Mem{Buf: wl.Mem.Buf, Base: row, Index: NoReg, Disp: wl.Mem.Disp, Width: 2, Signed: true}
	m.x = Mem{Buf: xl.Mem.Buf, Base: NoReg, Index: NoReg, Disp: xl.Mem.Disp, Width: 4, Signed: true}
	m.n, m.acc, m.sum = d.CountImm, acc, f.NewReg(I64)
	return m, true
}

// timesTwo: r is 2·c, computed in the loop (mul by a constant 2 or a
// shift by 1).
func timesTwo(def map[Reg]*Inst, r, c Reg) bool {
	in := def[r]
	if in == nil {
		return false
	}
	konst := func(x Reg, v int64) bool { k := def[x]; return k != nil && k.Op == OpConst && k.Imm == v }
	switch in.Op {
	case OpMul:
		return in.A == c && konst(in.B, 2) || in.B == c && konst(in.A, 2)
	case OpShlI:
		return in.A == c && in.Imm == 1
	}
	return false
}

// splitDigits writes the n elements at x as three rows of DigitRow(n)
// int16 digits into a new scratch buffer, four elements an OpSplit. The
// padding stays 0.
func splitDigits(f *Func, x Mem, n int64) ([]*Node, *Buf) {
	p := DigitRow(n)
	buf := &Buf{Name: "digits", Kind: BufScratch, Size: 6 * p}
	f.Bufs = append(f.Bufs, buf)
	j := f.NewReg(I32)
	x.Index, x.Scale, x.Width = j, 4, 4
	split := Inst{Op: OpSplit, Dst: NoReg, A: NoReg, B: NoReg, C: NoReg, Imm: 2 * p,
		Mem: x, Mem2: Mem{Buf: buf, Base: NoReg, Index: j, Scale: 2, Width: 2, Signed: true}}
	nodes := []*Node{{Kind: NLoop, Index: j, Count: NoReg, CountImm: n / 4, Step: 4, Body: []*Node{{Kind: NInst, Inst: split}}}}
	if p > n {
		zero := f.NewReg(I32)
		nodes = append(nodes, &Node{Kind: NInst, Inst: Inst{Op: OpConst, Dst: zero, A: NoReg, B: NoReg, C: NoReg}})
		for row := int64(0); row < 3; row++ {
			for k := n; k < p; k++ {
				nodes = append(nodes, &Node{Kind: NInst, Inst: Inst{Op: OpStore, Dst: NoReg, A: zero, B: NoReg, C: NoReg,
					Mem: Mem{Buf: buf, Base: NoReg, Index: NoReg, Disp: 2 * (p*row + k), Width: 2}}})
			}
		}
	}
	return nodes, buf
}

// split is OpSplit's semantics for the interpreter, as SSE2 computes it:
// d = x's low 11 bits sign-extended (pslld, psrad), the rest ((x >> 10)
// + 1) >> 1, which is (x − d) / 2048 without x − d's overflow; the last
// digit is within ±512, so packssdw never saturates.
func (m *Machine) split(in *Inst) {
	for k := int64(0); k < 4; k++ {
		mem := in.Mem
		mem.Disp += 4 * k
		x := int32(load(m.bytes(mem), true))
		for r := int64(0); r < 3; r++ {
			d := x << 21 >> 21
			if r == 2 {
				d = x
			}
			out := in.Mem2
			out.Disp += 2*k + r*in.Imm
			store(m.bytes(out), int64(d))
			x = (x>>10 + 1) >> 1
		}
	}
}

// dot is OpDot's semantics for the interpreter, as SSE2 computes it:
// per digit row, pmaddwd's pairs of int16 products summed into four int32
// lanes that wrap (paddd), the lanes then summed in 64 bits, the rows
// recombined. Digits out of range, or columns past the lanes' bound, give
// another sum than the simulator's.
func (m *Machine) dot(in *Inst) int64 {
	p := DigitRow(in.Imm)
	word := func(mem Mem, off int64) int64 {
		mem.Disp += off
		return load(m.bytes(mem), true)
	}
	var sum int64
	for row := int64(2); row >= 0; row-- {
		var lanes [4]int32
		for j := int64(0); j < p; j += 2 {
			var pair int32
			for k := j; k < j+2; k++ {
				w := int64(0)
				if k < in.Imm {
					w = word(in.Mem, 2*k)
				}
				pair += int32(w * word(in.Mem2, 2*(p*row+k)))
			}
			lanes[j/2%4] += pair
		}
		var s int64
		for _, l := range lanes {
			s += int64(l)
		}
		sum = sum<<11 + s
	}
	return sum
}
