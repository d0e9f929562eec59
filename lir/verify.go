package lir

import "fmt"

// Verify checks a Func's invariants: every register read is written
// earlier in program order (a loop's index by its loop, a proc's params
// by its calls), operand types fit each opcode, memory operands name the
// Func's buffers (or an address in a register) with a valid width, counts
// and conditions are i32, calls pass their procs' params.
func Verify(f *Func) error {
	bufs := map[*Buf]bool{}
	for _, b := range f.Bufs {
		bufs[b] = true
	}
	defined := make([]bool, len(f.Types))
	var err error
	fail := func(format string, a ...any) {
		if err == nil {
			err = fmt.Errorf(format, a...)
		}
	}
	typ := func(r Reg) Type {
		if r < 0 || int(r) >= len(f.Types) {
			fail("register %v does not exist", r)
			return 0
		}
		return f.Types[r]
	}
	read := func(in string, r Reg, want Type) {
		if r == NoReg {
			fail("%s: a missing operand", in)
			return
		}
		if t := typ(r); want != 0 && t != want {
			fail("%s: %v is %v, want %v", in, r, t, want)
		}
		if r >= 0 && int(r) < len(defined) && !defined[r] {
			fail("%s: %v is read before it is written", in, r)
		}
	}
	var walk func(nodes []*Node)
	walk = func(nodes []*Node) {
		for _, n := range nodes {
			switch n.Kind {
			case NInst:
				verifyInst(f, &n.Inst, bufs, read, typ, fail)
				if n.Inst.Dst != NoReg && int(n.Inst.Dst) < len(defined) {
					defined[n.Inst.Dst] = true
				}
			case NLoop:
				if n.Step < 0 {
					fail("loop step %d", n.Step)
				}
				if n.Limited() {
					read("loop limit", n.Limit, I32)
				}
				if n.Count != NoReg {
					read("loop count", n.Count, I32)
				} else if n.CountImm < 0 {
					fail("loop of %d iterations", n.CountImm)
				}
				if typ(n.Index) != I32 {
					fail("loop index %v is not i32", n.Index)
				}
				if n.ZeroEnds && !zeroEnds(f, n) {
					fail("loop of index %v: ends on a zero it does not shift", n.Index)
				}
				defined[n.Index] = true
				walk(n.Body)
			case NIf:
				read("if", n.Cond, I32)
				walk(n.Then)
				walk(n.Else)
			case NLayers, NOp:
				walk(n.Body)
			case NCall:
				if len(n.Args) != len(n.Proc.Params) {
					fail("call %s: %d args for %d params", n.Proc.Name, len(n.Args), len(n.Proc.Params))
					break
				}
				for i, a := range n.Args {
					read("call "+n.Proc.Name, a, typ(n.Proc.Params[i]))
				}
			default:
				fail("node kind %d", n.Kind)
			}
		}
	}
	for _, p := range f.Procs {
		for _, r := range p.Params {
			if int(r) < len(defined) && r >= 0 {
				defined[r] = true
			}
		}
		walk(p.Body)
	}
	walk(f.Body)
	return err
}

func verifyInst(f *Func, in *Inst, bufs map[*Buf]bool, read func(string, Reg, Type), typ func(Reg) Type, fail func(string, ...any)) {
	name := f.InstString(in)
	var dt Type
	if in.Stored() == nil {
		if in.Dst == NoReg {
			fail("%s: no destination", name)
			return
		}
		dt = typ(in.Dst)
	}
	switch in.Op {
	case OpConst, OpToken, OpPos, OpUndef:
		if in.Op != OpConst && dt != I32 {
			fail("%s: not i32", name)
		}
	case OpAddr:
		if f.Segmented && (in.Mem.Buf == nil || in.Mem.Base != NoReg || in.Mem.Index != NoReg) {
			fail("%s: segmented, an address is a buffer's offset in its segment, no more", name)
		}
		want(fail, name, dt, I32)
		for _, r := range []Reg{in.Mem.Base, in.Mem.Index} {
			if r != NoReg {
				read(name, r, I32)
			}
		}
	case OpSeg:
		if !f.Segmented || in.Mem.Buf == nil || in.Mem.Buf.Kind == BufSegment || in.Mem.Base != NoReg || in.Mem.Index != NoReg {
			fail("%s: a segment is a buffer's, in a segmented function", name)
		}
		want(fail, name, dt, I32)
	case OpCopy, OpNeg, OpShlI, OpShrI, OpSarI:
		read(name, in.A, dt)
	case OpRshrI:
		want(fail, name, dt, I64)
		read(name, in.A, dt)
	case OpAdd, OpSub, OpAnd, OpOr, OpXor, OpMul:
		read(name, in.A, dt)
		read(name, in.B, dt)
	case OpShl, OpShr, OpSar:
		read(name, in.A, dt)
		read(name, in.B, I32)
	case OpRshr:
		want(fail, name, dt, I64)
		read(name, in.A, dt)
		read(name, in.B, I32)
	case OpMulWide, OpMulWideU:
		want(fail, name, dt, I64)
		read(name, in.A, I32)
		read(name, in.B, I32)
	case OpExt, OpExtU:
		want(fail, name, dt, I64)
		read(name, in.A, I32)
	case OpLo, OpHi, OpRshrLo:
		want(fail, name, dt, I32)
		read(name, in.A, I64)
	case OpUDiv:
		want(fail, name, dt, I64)
		read(name, in.A, I64)
		read(name, in.B, I32)
	case OpLookup:
		want(fail, name, dt, I32)
		read(name, in.A, I32)
		m := in.Mem
		if m.Buf == nil || !bufs[m.Buf] || m.Buf.Kind != BufTable || m.Base != NoReg || m.Index != NoReg || m.Width != 4 {
			fail("%s: not one of the function's tables", name)
		}
		if in.Imm < 1 || in.Imm > 31 {
			fail("%s: %d bits", name, in.Imm)
		}
	case OpUDiv32:
		want(fail, name, dt, I32)
		read(name, in.A, I64)
		read(name, in.B, I32)
	case OpCmp:
		want(fail, name, dt, I32)
		read(name, in.A, 0)
		read(name, in.B, typ(in.A))
		if in.Cond < EQ || in.Cond > GEU {
			fail("%s: condition %d", name, in.Cond)
		}
	case OpSelect:
		read(name, in.C, I32)
		read(name, in.A, dt)
		read(name, in.B, dt)
	case OpMac2:
		want(fail, name, dt, I32)
		read(name, in.A, I32)
		read(name, in.B, I32)
		for _, m := range []Mem{in.Mem, in.Mem2} {
			if m.Buf == nil || !bufs[m.Buf] || m.Buf.Kind != BufTable || m.Width != 4 || !m.Signed {
				fail("%s: %v is not a signed dword of one of the function's tables", name, m)
			}
			for _, r := range []Reg{m.Base, m.Index} {
				if r != NoReg {
					read(name, r, I32)
				}
			}
		}
		if in.Imm < 1 || in.Imm > 31 {
			fail("%s: rounding shift count %d (1..31)", name, in.Imm)
		}
	case OpLoad, OpStore:
		m := in.Mem
		if m.Buf != nil && !bufs[m.Buf] {
			fail("%s: buffer %v is not the function's", name, m.Buf)
		}
		if m.Buf == nil && m.Base == NoReg {
			fail("%s: no buffer and no address", name)
		}
		if m.Buf == nil && f.Segmented {
			fail("%s: no buffer in a segmented function", name)
		}
		if m.Buf != nil && m.Buf.Kind == BufSegment && (!f.Segmented || m.Base == NoReg) {
			fail("%s: a segment without an offset in a register, or in a flat function", name)
		}
		if m.Width != 1 && m.Width != 2 && m.Width != 4 && m.Width != 8 {
			fail("%s: width %d", name, m.Width)
		}
		for _, r := range []Reg{m.Base, m.Index} {
			if r != NoReg {
				read(name, r, I32)
			}
		}
		if in.Op == OpStore {
			read(name, in.A, 0)
		} else if m.Width == 8 && dt != I64 {
			fail("%s: 8 bytes into an i32", name)
		}
	case OpDot:
		want(fail, name, dt, I64)
		if in.Mem.Buf == nil || !bufs[in.Mem.Buf] || in.Mem.Width != 2 || !in.Mem.Signed || in.Mem.Index != NoReg {
			fail("%s: weights %v", name, in.Mem)
		}
		if in.Mem.Base != NoReg {
			read(name, in.Mem.Base, I32)
		}
		if d := in.Mem2; d.Buf == nil || !bufs[d.Buf] || d.Base != NoReg || d.Index != NoReg || d.Buf.Size < 6*DigitRow(in.Imm) {
			fail("%s: digits %v", name, d)
		}
		if in.Imm <= 0 || in.Imm%4 != 0 || in.Imm > maxDotCols {
			fail("%s: %d columns (a multiple of 4, at most %d)", name, in.Imm, maxDotCols)
		}
	case OpSplit:
		for _, m := range []Mem{in.Mem, in.Mem2} {
			if m.Buf == nil || !bufs[m.Buf] {
				fail("%s: buffer %v", name, m)
			}
			for _, r := range []Reg{m.Base, m.Index} {
				if r != NoReg {
					read(name, r, I32)
				}
			}
		}
		if in.Mem.Width != 4 || in.Mem2.Width != 2 || in.Imm < 8 || in.Imm%8 != 0 {
			fail("%s: widths %d and %d, rows %d bytes apart (four dwords into three rows of words)", name, in.Mem.Width, in.Mem2.Width, in.Imm)
		}
	default:
		fail("%s: unknown opcode %d", name, in.Op)
	}
	switch in.Op {
	case OpShlI, OpShrI, OpSarI:
		if in.Imm < 0 || (dt == I32 && in.Imm > 31) || in.Imm > 63 {
			fail("%s: shift count %d", name, in.Imm)
		}
	case OpRshrI, OpRshrLo:
		if in.Imm < 1 || in.Imm > 31 {
			fail("%s: rounding shift count %d (1..31)", name, in.Imm)
		}
	}
}

func want(fail func(string, ...any), name string, got, t Type) {
	if got != t {
		fail("%s: result is %v, want %v", name, got, t)
	}
}

// zeroEnds: loop n's count is a constant and its body ends shifting an
// i32 register right by one (Node.ZeroEnds).
func zeroEnds(f *Func, n *Node) bool {
	if n.Count != NoReg || len(n.Body) == 0 {
		return false
	}
	last := n.Body[len(n.Body)-1]
	in := &last.Inst
	return last.Kind == NInst && in.Op == OpShrI && in.Imm == 1 && in.Dst == in.A && in.Dst >= 0 && int(in.Dst) < len(f.Types) && f.Types[in.Dst] == I32
}
