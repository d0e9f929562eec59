package lir

// builder appends nodes to a Func: the current list is where instructions
// go; loop and iff open nested lists.
type builder struct {
	f   *Func
	cur *[]*Node
}

func (b *builder) add(n *Node) { *b.cur = append(*b.cur, n) }

func (b *builder) emit(in Inst) { b.add(&Node{Kind: NInst, Inst: in}) }

// op emits Dst = op A, B into a new register of type t.
func (b *builder) op(op Opcode, t Type, a, c Reg) Reg {
	d := b.f.NewReg(t)
	b.emit(Inst{Op: op, Dst: d, A: a, B: c, C: NoReg})
	return d
}

// set emits dst = op A, B into an existing register (an accumulator).
func (b *builder) set(dst Reg, op Opcode, a, c Reg) {
	b.emit(Inst{Op: op, Dst: dst, A: a, B: c, C: NoReg})
}

func (b *builder) imm(op Opcode, t Type, a Reg, n int64) Reg {
	d := b.f.NewReg(t)
	b.emit(Inst{Op: op, Dst: d, A: a, B: NoReg, C: NoReg, Imm: n})
	return d
}

// setConst is dst = v.
func (b *builder) setConst(dst Reg, v int64) {
	b.emit(Inst{Op: OpConst, Dst: dst, A: NoReg, B: NoReg, C: NoReg, Imm: v})
}

func (b *builder) c32(v int64) Reg { return b.imm(OpConst, I32, NoReg, v) }
func (b *builder) c64(v int64) Reg { return b.imm(OpConst, I64, NoReg, v) }

func (b *builder) add32(x, y Reg) Reg { return b.op(OpAdd, I32, x, y) }
func (b *builder) sub32(x, y Reg) Reg { return b.op(OpSub, I32, x, y) }
func (b *builder) mul32(x, y Reg) Reg { return b.op(OpMul, I32, x, y) }
func (b *builder) add64(x, y Reg) Reg { return b.op(OpAdd, I64, x, y) }
func (b *builder) sub64(x, y Reg) Reg { return b.op(OpSub, I64, x, y) }
func (b *builder) wide(x, y Reg) Reg  { return b.op(OpMulWide, I64, x, y) }
func (b *builder) wideU(x, y Reg) Reg { return b.op(OpMulWideU, I64, x, y) }
func (b *builder) ext(x Reg) Reg      { return b.op(OpExt, I64, x, NoReg) }
func (b *builder) extU(x Reg) Reg     { return b.op(OpExtU, I64, x, NoReg) }
func (b *builder) lo(x Reg) Reg       { return b.op(OpLo, I32, x, NoReg) }

// rshrLo is the low 32 bits of rshr(x, n) for an i64 x, 1 <= n <= 31.
func (b *builder) rshrLo(x Reg, n uint) Reg { return b.imm(OpRshrLo, I32, x, int64(n)) }

func (b *builder) cmp(c Cond, x, y Reg) Reg {
	d := b.f.NewReg(I32)
	b.emit(Inst{Op: OpCmp, Dst: d, A: x, B: y, C: NoReg, Cond: c})
	return d
}

// undef is a register of type t that holds any value (OpUndef).
func (b *builder) undef(t Type) Reg {
	d := b.f.NewReg(t)
	b.emit(Inst{Op: OpUndef, Dst: d, A: NoReg, B: NoReg, C: NoReg})
	return d
}

// sel is c != 0 ? x : y, of x's type.
func (b *builder) sel(c, x, y Reg) Reg {
	d := b.f.NewReg(b.f.Types[x])
	b.emit(Inst{Op: OpSelect, Dst: d, A: x, B: y, C: c})
	return d
}

// setSel is dst = c != 0 ? x : y.
func (b *builder) setSel(dst, c, x, y Reg) {
	b.emit(Inst{Op: OpSelect, Dst: dst, A: x, B: y, C: c})
}

func (b *builder) load(t Type, m Mem) Reg {
	d := b.f.NewReg(t)
	b.emit(Inst{Op: OpLoad, Dst: d, A: NoReg, B: NoReg, C: NoReg, Mem: m})
	return d
}

func (b *builder) store(m Mem, v Reg) {
	b.emit(Inst{Op: OpStore, Dst: NoReg, A: v, B: NoReg, C: NoReg, Mem: m})
}

// lookup is dst = the table tab at u>>bits, interpolated (OpLookup).
func (b *builder) lookup(dst Reg, tab *Buf, u Reg, bits int64) {
	b.emit(Inst{Op: OpLookup, Dst: dst, A: u, B: NoReg, C: NoReg, Imm: bits,
		Mem: Mem{Buf: tab, Base: NoReg, Index: NoReg, Width: 4, Signed: true}})
}

// mac2 is the low half of rshr(a·[m] + c·[m2], n) (OpMac2).
func (b *builder) mac2(a Reg, m Mem, c Reg, m2 Mem, n int64) Reg {
	d := b.f.NewReg(I32)
	b.emit(Inst{Op: OpMac2, Dst: d, A: a, B: c, C: NoReg, Imm: n, Mem: m, Mem2: m2})
	return d
}

// at is the memory operand of buf at byte Index*scale + disp, width bytes.
func at(buf *Buf, index Reg, scale, disp int64, width int, signed bool) Mem {
	if index == NoReg {
		scale = 0
	}
	return Mem{Buf: buf, Base: NoReg, Index: index, Scale: scale, Disp: disp, Width: width, Signed: signed}
}

// i32At is the int32 element index+k of buf.
func i32At(buf *Buf, index Reg, k int64) Mem { return at(buf, index, 4, 4*k, 4, true) }

// loop emits a loop of count iterations (a register, or n when count is
// NoReg) and builds its body with the index register.
func (b *builder) loop(count Reg, n int64, body func(i Reg)) *Node {
	node := &Node{Kind: NLoop, Index: b.f.NewReg(I32), Count: count, CountImm: n}
	b.add(node)
	saved := b.cur
	b.cur = &node.Body
	body(node.Index)
	b.cur = saved
	return node
}

// loopN is loop with a constant count.
func (b *builder) loopN(n int, body func(i Reg)) *Node { return b.loop(NoReg, int64(n), body) }

// faster is iff(c, fast, general) where fast only does faster what
// general does: the size policy keeps general alone.
func (b *builder) faster(c Reg, fast, general func()) {
	b.iff(c, fast, general)
	(*b.cur)[len(*b.cur)-1].Faster = true
}

// skip is iff(c, then, nil) where then changes nothing when c is 0.
func (b *builder) skip(c Reg, then func()) {
	b.iff(c, then, nil)
	(*b.cur)[len(*b.cur)-1].Skips = true
}

// iff emits if c != 0 { then } else { els }.
func (b *builder) iff(c Reg, then, els func()) {
	node := &Node{Kind: NIf, Cond: c}
	b.add(node)
	saved := b.cur
	b.cur = &node.Then
	then()
	if els != nil {
		b.cur = &node.Else
		els()
	}
	b.cur = saved
}
