package lir

import (
	"encoding/binary"
	"fmt"
	"sort"

	"tfc/ir"
)

// Poison is an OpUndef's value in the interpreter (an i32's, sign-
// extended): no index, count or value the models compute, so that a
// result that depends on it differs from the simulator's.
const Poison = -0x5a5a5a5b

// Machine runs a Func on the host: the reference for the code generator,
// equal to ir's simulator bit for bit. Registers hold int64: an i32
// register its value sign-extended, so that signed comparisons need no
// care and unsigned ones look at the low 32 bits.
type Machine struct {
	f   *Func
	p   *ir.Program
	mem map[*Buf][][]byte // a slice per layer (one for other buffers)
	// Every slice has an address (OpAddr's value), and spans holds them
	// in address order, for memory reached through an address alone.
	addr   map[*Buf][]int64
	spans  []span
	regs   []int64
	layer  int
	token  int
	pos    int
	logits *ir.Var
}

// NewMachine loads a Func's buffers: the params as the image stores them,
// the tables, the initial state; everything else zero.
func NewMachine(f *Func, p *ir.Program) *Machine {
	m := &Machine{f: f, p: p, mem: map[*Buf][][]byte{}, addr: map[*Buf][]int64{}, regs: make([]int64, len(f.Types))}
	next := int64(0x10000)
	for _, b := range f.Bufs {
		if b.Kind == BufSegment {
			continue // no bytes of its own
		}
		n := 1
		if b.PerLayer {
			n = p.Layers
		}
		slices := make([][]byte, n)
		for l := range slices {
			switch b.Kind {
			case BufParam:
				slices[l] = ParamBytes(b, l)
			case BufTable:
				for _, v := range b.Of.(*ir.Table).Data {
					slices[l] = binary.LittleEndian.AppendUint32(slices[l], uint32(v))
				}
			case BufState:
				slices[l] = append([]byte(nil), b.Init...)
			default:
				slices[l] = make([]byte, b.Size)
			}
		}
		m.mem[b] = slices
		for _, s := range slices {
			m.addr[b] = append(m.addr[b], next)
			m.spans = append(m.spans, span{next, s})
			next += (int64(len(s)) + 31) &^ 15 // a gap between slices
		}
	}
	post := p.Blocks[ir.PostBlock]
	m.logits = post[len(post)-1].Args[0]
	return m
}

// Step runs the forward pass for token at pos and returns the token chosen.
func (m *Machine) Step(token, pos int) int {
	m.token, m.pos, m.layer = token, pos, 0
	m.run(m.f.Body)
	for _, b := range m.f.Bufs {
		if b.Kind == BufNext {
			return int(int32(binary.LittleEndian.Uint32(m.mem[b][0])))
		}
	}
	panic("BUG: lir: no next buffer")
}

// RawLogits are the last step's logits as the image holds them.
func (m *Machine) RawLogits() []int32 {
	r, off := m.logits.Root()
	for b, s := range m.mem {
		if b.Kind == BufVar && b.Of == r {
			out := make([]int32, m.logits.Len)
			for i := range out {
				out[i] = int32(binary.LittleEndian.Uint32(s[0][4*(off+i):]))
			}
			return out
		}
	}
	panic("BUG: lir: the logits have no buffer")
}

func (m *Machine) run(nodes []*Node) {
	for _, n := range nodes {
		switch n.Kind {
		case NInst:
			m.exec(&n.Inst)
		case NLoop:
			// The index's bound: the passes times the step.
			step := max(n.Step, 1)
			bound := n.CountImm * step
			switch {
			case n.Limited():
				bound = m.regs[n.Limit]
			case n.Count != NoReg:
				bound = m.regs[n.Count] * step
			}
			if n.ZeroEnds {
				// As the machine runs it: until the shift leaves 0.
				r := n.Body[len(n.Body)-1].Inst.Dst
				for i := int64(0); i == 0 || m.regs[r] != 0; i++ {
					m.regs[n.Index] = i
					m.run(n.Body)
				}
				break
			}
			for i := int64(0); i < bound; i += step {
				m.regs[n.Index] = i
				m.run(n.Body)
			}
		case NIf:
			if m.regs[n.Cond] != 0 {
				m.run(n.Then)
			} else {
				m.run(n.Else)
			}
		case NOp:
			m.run(n.Body)
		case NCall:
			for i, p := range n.Proc.Params {
				m.regs[p] = m.regs[n.Args[i]]
			}
			m.run(n.Proc.Body)
		case NLayers:
			for l := 0; l < m.p.Layers; l++ {
				m.layer = l
				m.run(n.Body)
			}
			m.layer = 0
		}
	}
}

// span is a buffer slice at its address.
type span struct {
	addr int64
	b    []byte
}

// address is where mem points: OpAddr's value. The machine has no
// segments: an offset in a segment (a BufSegment's) is the address that
// OpAddr gave the buffer, so memory there is reached through it alone.
func (m *Machine) address(mem Mem) int64 {
	a := mem.Disp
	if reached(mem) {
		l := 0
		if mem.Buf.PerLayer {
			l = m.layer
		}
		a += m.addr[mem.Buf][l]
	}
	if mem.Base != NoReg {
		a += m.regs[mem.Base]
	}
	if mem.Index != NoReg {
		a += m.regs[mem.Index] * mem.Scale
	}
	return a
}

// bytes are the Width bytes mem names; they must lie in one slice (in
// mem's buffer, when it names one).
func (m *Machine) bytes(mem Mem) []byte {
	a := m.address(mem)
	var s span
	if reached(mem) {
		l := 0
		if mem.Buf.PerLayer {
			l = m.layer
		}
		s = span{m.addr[mem.Buf][l], m.mem[mem.Buf][l]}
	} else if i := sort.Search(len(m.spans), func(i int) bool { return m.spans[i].addr > a }) - 1; i >= 0 {
		s = m.spans[i]
	}
	if off := a - s.addr; s.b != nil && off >= 0 && off+int64(mem.Width) <= int64(len(s.b)) {
		return s.b[off : off+int64(mem.Width)]
	}
	name := "memory"
	if mem.Buf != nil {
		name = mem.Buf.Name
	}
	panic(fmt.Sprintf("BUG: lir: %d bytes at %#x outside %s", mem.Width, a, name))
}

// reached: mem names the buffer it lies in (not a segment).
func reached(mem Mem) bool { return mem.Buf != nil && mem.Buf.Kind != BufSegment }

func (m *Machine) exec(in *Inst) {
	r := m.regs
	a, b := int64(0), int64(0)
	if in.A != NoReg {
		a = r[in.A]
	}
	if in.B != NoReg {
		b = r[in.B]
	}
	var v int64
	switch in.Op {
	case OpSelect:
		v = b
		if r[in.C] != 0 {
			v = a
		}
	case OpLoad:
		v = load(m.bytes(in.Mem), in.Mem.Signed)
	case OpStore:
		store(m.bytes(in.Mem), a)
		return
	case OpUndef:
		v = Poison
	case OpToken:
		v = int64(m.token)
	case OpPos:
		v = int64(m.pos)
	case OpAddr:
		v = m.address(in.Mem)
	case OpSeg:
		v = 0 // no segments: OpAddr's value is the whole address
	case OpLookup:
		u := uint32(a)
		t := in.Mem
		t.Disp += 4 * int64(u>>in.Imm)
		t0 := int32(load(m.bytes(t), true))
		t.Disp += 4
		t1 := int32(load(m.bytes(t), true))
		v = int64(ir.Lerp(t0, t1, int64(u&(1<<in.Imm-1)), uint(in.Imm)))
	case OpMac2:
		p := int64(int32(a))*load(m.bytes(in.Mem), true) + int64(int32(b))*load(m.bytes(in.Mem2), true)
		v = int64(int32(ir.Rshr(p, uint(in.Imm))))
	case OpDot:
		v = m.dot(in)
	case OpSplit:
		m.split(in)
		return
	default:
		var at Type
		if in.A != NoReg {
			at = m.f.Types[in.A]
		}
		v = eval(in, m.f.Types[in.Dst], at, a, b)
	}
	r[in.Dst] = norm(m.f.Types[in.Dst], v)
}

// norm makes v a value of type t: an i32 sign-extended.
func norm(t Type, v int64) int64 {
	if t == I32 {
		return int64(int32(v))
	}
	return v
}

// eval computes an operation on register values (dt: the result's type,
// at: A's): the semantics the interpreter runs and the passes fold by.
func eval(in *Inst, dt, at Type, a, b int64) int64 {
	is32 := dt == I32
	switch in.Op {
	case OpConst:
		return in.Imm
	case OpCopy:
		return a
	case OpAdd:
		return a + b
	case OpSub:
		return a - b
	case OpAnd:
		return a & b
	case OpOr:
		return a | b
	case OpXor:
		return a ^ b
	case OpMul:
		return a * b
	case OpNeg:
		return -a
	case OpShl:
		return a << uint(b)
	case OpShlI:
		return a << uint(in.Imm)
	case OpShr, OpShrI:
		n := uint(b)
		if in.Op == OpShrI {
			n = uint(in.Imm)
		}
		if is32 {
			return int64(uint32(a) >> n)
		}
		return int64(uint64(a) >> n)
	case OpSar:
		return a >> uint(b)
	case OpSarI:
		return a >> uint(in.Imm)
	case OpMulWide:
		return int64(int32(a)) * int64(int32(b))
	case OpMulWideU:
		return int64(uint64(uint32(a)) * uint64(uint32(b)))
	case OpExt, OpLo:
		return int64(int32(a))
	case OpExtU:
		return int64(uint32(a))
	case OpHi:
		return int64(int32(a >> 32))
	case OpRshr:
		return ir.Rshr(a, uint(b))
	case OpRshrI, OpRshrLo:
		return ir.Rshr(a, uint(in.Imm))
	case OpUDiv, OpUDiv32:
		d := uint64(uint32(b))
		if d == 0 {
			panic("BUG: lir: division by zero")
		}
		q := uint64(a) / d
		if in.Op == OpUDiv32 {
			if q>>32 != 0 {
				panic(fmt.Sprintf("BUG: lir: udiv32's quotient %#x is above 32 bits", q))
			}
			return int64(int32(uint32(q)))
		}
		return int64(q)
	case OpCmp:
		if compare(in.Cond, a, b, at == I32) {
			return 1
		}
		return 0
	}
	panic(fmt.Sprintf("BUG: lir: opcode %v", in.Op))
}

func compare(c Cond, a, b int64, is32 bool) bool {
	ua, ub := uint64(a), uint64(b)
	if is32 {
		ua, ub = uint64(uint32(a)), uint64(uint32(b))
	}
	switch c {
	case EQ:
		return a == b
	case NE:
		return a != b
	case LT:
		return a < b
	case LE:
		return a <= b
	case GT:
		return a > b
	case GE:
		return a >= b
	case LTU:
		return ua < ub
	case LEU:
		return ua <= ub
	case GTU:
		return ua > ub
	case GEU:
		return ua >= ub
	}
	panic(fmt.Sprintf("BUG: lir: condition %v", c))
}

func load(b []byte, signed bool) int64 {
	switch len(b) {
	case 1:
		if signed {
			return int64(int8(b[0]))
		}
		return int64(b[0])
	case 2:
		v := binary.LittleEndian.Uint16(b)
		if signed {
			return int64(int16(v))
		}
		return int64(v)
	case 4:
		v := binary.LittleEndian.Uint32(b)
		if signed {
			return int64(int32(v))
		}
		return int64(v)
	}
	return int64(binary.LittleEndian.Uint64(b))
}

func store(b []byte, v int64) {
	switch len(b) {
	case 1:
		b[0] = byte(v)
	case 2:
		binary.LittleEndian.PutUint16(b, uint16(v))
	case 4:
		binary.LittleEndian.PutUint32(b, uint32(v))
	default:
		binary.LittleEndian.PutUint64(b, uint64(v))
	}
}
