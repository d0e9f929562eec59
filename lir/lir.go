// Package lir is tfc's loop-level IR: what the tensor IR's ops compute,
// written as counted loops over scalar integer operations on virtual
// registers, loads and stores through named buffers. Each tensor op lowers
// to it once (lower.go, following spec.md section 6); an interpreter
// (interp.go) runs it on the host and must equal ir's simulator bit for
// bit; passes (passes.go) rewrite it; the code generator selects x86
// instructions for it.
//
// Registers are mutable (not SSA): a loop's accumulator is a register its
// body updates. Each register has one type, I32 or I64; arithmetic wraps.
package lir

import (
	"fmt"
	"strings"
)

// Type is a register's type.
type Type uint8

const (
	I32 Type = iota + 1
	I64
)

func (t Type) String() string {
	switch t {
	case I32:
		return "i32"
	case I64:
		return "i64"
	}
	return "?"
}

// Reg is a virtual register: an index into Func.Types. NoReg is none.
type Reg int32

const NoReg Reg = -1

func (r Reg) String() string {
	if r == NoReg {
		return "_"
	}
	return fmt.Sprintf("r%d", r)
}

// Opcode is a scalar operation. Unless noted, the operands and the result
// have one type (the result register's) and arithmetic wraps.
type Opcode uint8

const (
	OpConst    Opcode = iota + 1 // Dst = Imm
	OpCopy                       // Dst = A
	OpAdd                        // Dst = A + B
	OpSub                        // Dst = A - B
	OpAnd                        // Dst = A & B
	OpOr                         // Dst = A | B
	OpXor                        // Dst = A ^ B
	OpMul                        // Dst = A * B (low bits)
	OpNeg                        // Dst = -A
	OpShl                        // Dst = A << B (B an i32 register, 0..width-1)
	OpShr                        // Dst = A >> B, logical
	OpSar                        // Dst = A >> B, arithmetic
	OpShlI                       // Dst = A << Imm
	OpShrI                       // Dst = A >> Imm, logical
	OpSarI                       // Dst = A >> Imm, arithmetic
	OpMulWide                    // i64 Dst = i32 A * i32 B, signed
	OpMulWideU                   // i64 Dst = i32 A * i32 B, unsigned
	OpExt                        // i64 Dst = i32 A sign-extended
	OpExtU                       // i64 Dst = i32 A zero-extended
	OpLo                         // i32 Dst = low half of i64 A
	OpHi                         // i32 Dst = high half of i64 A
	OpRshr                       // Dst = rshr(A, B): (A + 2^(B-1)) >> B, arithmetic, B an i32 register 0..31 (ir.Rshr)
	OpRshrI                      // Dst = rshr(A, Imm), 1 <= Imm <= 31
	OpRshrLo                     // i32 Dst = low half of rshr(i64 A, Imm), 1 <= Imm <= 31
	OpUDiv                       // i64 Dst = i64 A / i32 B, unsigned (B > 0)
	OpCmp                        // i32 Dst = A Cond B ? 1 : 0
	OpSelect                     // Dst = C != 0 ? A : B (C an i32 register)
	OpLoad                       // Dst = Mem (Width bytes, sign- or zero-extended by Signed)
	OpStore                      // Mem = A (its low Width bytes)
	OpToken                      // i32 Dst = the current token
	OpPos                        // i32 Dst = the current position
	OpAddr                       // i32 Dst = the address of Mem (its Width unused)
	// OpDot (-march sse2, the simd pass): i64 Dst = Σ_{j<Imm} Mem[j]·x_j,
	// Mem the first of Imm int16 weights (Width 2, signed), x_j = d0_j +
	// d1_j·2^11 + d2_j·2^22 from Mem2: three rows of DigitRow(Imm) int16
	// digits (Mem2 names its buffer only: no registers).
	OpDot
	// OpSplit (-march sse2, the simd pass): the four i32 at Mem (Width 4)
	// as three balanced 11-bit digits (OpDot's x_j), int16 each, the
	// four of digit r at Mem2 (Width 2) + r·Imm. No Dst: it stores.
	OpSplit
	// OpSeg (segmented): i32 Dst = the segment of Mem's buffer (Buf
	// only): what a proc loads in a segment register to reach a buffer it
	// is passed when its callers' buffers lie in different segments. The
	// machine has no segments (its OpAddr is the whole address): 0 there.
	OpSeg
	// OpUDiv32: i32 Dst = i64 A / i32 B, unsigned (B > 0), where the
	// lowering proves the quotient below 2^32 (x86's one div faults
	// otherwise; the interpreter reports a BUG): attention's weighted mean.
	OpUDiv32
	// OpLookup: i32 Dst = the table Mem (Buf and Disp only, Width 4)
	// read at j = A>>Imm and interpolated toward entry j+1 by A's low Imm
	// bits f, A unsigned: t[j] + rshr((t[j+1] − t[j])·f, Imm) in 32 bits
	// (ir.ExpLookup, ir.GateLookup); the lowering proves j+1 in the
	// table. The pass lookups makes it its loads and arithmetic, except
	// where the size policy keeps it for a shared routine.
	OpLookup
	// OpMac2: i32 Dst = the low half of rshr(A·[Mem] + B·[Mem2], Imm),
	// A and B i32, Mem and Mem2 signed dwords of tables, the products and
	// their sum in 64 bits, 1 <= Imm <= 31: a rotation's coordinate (rope, as the
	// size policy lowers it). The code generator may call one routine for
	// all those whose Mem2 lies a constant after Mem.
	OpMac2
	// OpUndef: Dst holds any value (no instruction computes it), where
	// the lowering proves that nothing computed depends on it: argmax's
	// index before its first pass, which always sets it. The
	// interpreter gives it Poison, so that a wrong proof shows.
	OpUndef
	opEnd
)

var opNames = [...]string{"", "const", "copy", "add", "sub", "and", "or", "xor", "mul", "neg", "shl", "shr", "sar",
	"shl", "shr", "sar", "mulwide", "mulwideu", "ext", "extu", "lo", "hi", "rshr", "rshr", "rshrlo", "udiv", "cmp",
	"select", "load", "store", "token", "pos", "addr", "dot", "split", "seg", "udiv32", "lookup", "mac2", "undef"}

func (o Opcode) String() string {
	if o < opEnd {
		return opNames[o]
	}
	return fmt.Sprintf("op%d", o)
}

// Cond is a comparison of OpCmp.
type Cond uint8

const (
	EQ Cond = iota + 1
	NE
	LT // signed
	LE
	GT
	GE
	LTU // unsigned
	LEU
	GTU
	GEU
)

var condNames = [...]string{"", "eq", "ne", "lt", "le", "gt", "ge", "ltu", "leu", "gtu", "geu"}

func (c Cond) String() string { return condNames[c] }

// Inst is one scalar operation.
type Inst struct {
	Op      Opcode
	Dst     Reg
	A, B, C Reg
	Imm     int64
	Cond    Cond
	Mem     Mem
	Mem2    Mem // OpDot's and OpSplit's digits
}

// Stored is the memory operand the instruction writes (its only result:
// no Dst), or nil.
func (in *Inst) Stored() *Mem {
	switch in.Op {
	case OpStore:
		return &in.Mem
	case OpSplit:
		return &in.Mem2
	}
	return nil
}

// Mem is a memory operand: byte address base(Buf) + Base + Index*Scale +
// Disp, where base(Buf) is, for a per-layer buffer, the current layer's
// slice (0 when Buf is nil: Base then holds an address, OpAddr's), and
// Base and Index are i32 registers or NoReg. Width is 1, 2, 4 or 8 bytes;
// a load of fewer bytes than its register extends them (Signed: sign,
// else zero).
type Mem struct {
	Buf    *Buf
	Base   Reg
	Index  Reg
	Scale  int64
	Disp   int64
	Width  int
	Signed bool
}

// NodeKind is what a Node is.
type NodeKind uint8

const (
	NInst   NodeKind = iota + 1 // one instruction
	NLoop                       // Body runs Count times, Index from 0
	NIf                         // Then when Cond != 0, else Else
	NLayers                     // Body runs once per layer, the per-layer buffers at that layer
	NOp                         // Body is the code of one tensor op (Note names it): its registers are its own
	NCall                       // runs Proc with its Params set to Args
)

// Activations is the number (Func.Segment) of the activations'
// segment, which every kernel reaches through a segment register of its
// own (es): a proc needs registers (fs, gs) for two others at most.
const Activations = 1

// Zero is the number (Func.Segment) of segment 0, where the code
// generator may put the computed activations (its Zero placement): DS
// reaches it in every kernel, with no segment register of its own.
const Zero = 2

// Node is an instruction or a structured control construct.
type Node struct {
	Kind NodeKind
	Inst Inst
	// NLoop: the body runs Count times (an i32 register, or CountImm
	// when Count is NoReg), Index taking 0, Step, 2·Step, … (Step 0 or 1:
	// counting by one; a step other than 1 only with CountImm).
	Index    Reg
	Count    Reg
	CountImm int64
	Step     int64
	Body     []*Node
	// Once (NLoop with a Count register): the count is at least 1, so
	// nothing tests it before the first pass.
	Once bool
	// Limit (NLoop with a Count register and a Step above 1): the index's
	// bound, Count·Step, below which the loop runs (stride computes it).
	Limit Reg
	// ZeroEnds (NLoop of a constant count): the body ends shifting an
	// i32 register right by one, and a pass that starts with it 0, or one
	// past the count, changes nothing (the lowering proves it): the loop
	// may end after the first pass that leaves it 0 instead, on the
	// shift's zero flag (the interpreter runs it so).
	ZeroEnds bool
	// NIf
	Cond       Reg
	Then, Else []*Node
	// Faster (NIf): Then only does faster what Else does for any Cond;
	// the size policy keeps Else alone (the pass general).
	Faster bool
	// Skips (NIf, no Else): Then changes nothing where Cond is 0, which
	// it only tests to save the time; the size policy runs Then always
	// (general).
	Skips bool
	// Note names the tensor op of an NOp (dumps, size reports).
	Note string
	// NCall
	Proc *Proc
	Args []Reg
}

// Proc is a procedure that calls share: code that several ops run with
// other constants and buffers (the outline pass makes them). Its
// registers, Params among them, are its own.
type Proc struct {
	Name   string
	Params []Reg
	Body   []*Node
	Calls  int
}

// BufKind is what a buffer holds.
type BufKind uint8

const (
	BufVar         BufKind = iota + 1 // an activation vector: int32 Q16.16
	BufParam                          // a param as the image stores it (ParamBytes)
	BufTable                          // a constant table of int32
	BufCache                          // a cache's rows: [context][2][width] of Bits, each position's keys then its values
	BufCacheShifts                    // their shifts: [context][2][heads] bytes, the keys' then the values'
	BufScratch                        // working memory of one op
	BufState                          // memory that lives across steps (the sampler's generator)
	BufNext                           // the chosen token (i32)
	// BufSegment is a whole 64 KiB segment of the segmented model, its
	// offset 0 at the segment's start: a proc reaches a buffer it is
	// passed (OpAddr, the buffer's offset in its segment) through it. Of
	// is a buffer in that segment, or the proc's register that holds the
	// segment (OpSeg's value) when its calls pass buffers of different
	// segments. The segment has no bytes of its own.
	BufSegment
)

var bufKindNames = [...]string{"", "var", "param", "table", "cachek", "cachev", "cacheks", "cachevs", "scratch", "state", "next", "segment"}

// Buf is a named region of memory: per layer (a slice per layer) or one.
type Buf struct {
	Name     string
	Kind     BufKind
	PerLayer bool
	Size     int64 // bytes (of one layer's slice)
	// Init is the content of a BufState at the start of the run.
	Init []byte
	// The tensor IR object it holds (for the code generator's layout):
	// *ir.Var, *ir.Param, *ir.Table or *ir.Cache; []*ir.Param for the
	// params of a fused matmul that one loop runs, one after the other.
	Of any
}

func (b *Buf) String() string { return b.Name }

// Activation: b is what the forward pass computes in, step to step (a
// var, scratch, the chosen token), which the code generator lays out
// together.
func (b *Buf) Activation() bool {
	return b != nil && (b.Kind == BufVar || b.Kind == BufScratch || b.Kind == BufNext)
}

// Func is a program's forward pass in the loop IR: Body runs once per
// token; it stores the chosen token into the BufNext buffer. Procs are
// the procedures its calls run.
type Func struct {
	Types []Type
	Bufs  []*Buf
	Body  []*Node
	Procs []*Proc
	// Segmented: the code generator reaches buffers through segment
	// registers, each address an offset in a 64 KiB segment: OpAddr is a
	// buffer's offset in its segment, and every memory operand names a
	// buffer (a BufSegment where the offset is in a register).
	Segmented bool
	// Segment numbers the segment each buffer lies in (segmented only;
	// from the layout, which the passes do not change): buffers that
	// share one share a number; the activations' is Activations.
	Segment map[*Buf]int
	// LowActivations (flat): the activations lie in one 64 KiB segment
	// of low memory, which the code generator reaches with 16-bit
	// offsets, as the segmented model's buffers.
	LowActivations bool
	// NoFullUnroll: the speed policy unrolls dot products by 8 at most
	// (when the code of whole rows does not fit).
	NoFullUnroll bool
	// FuseElementwise: the size policy runs fuse, forward and dse too,
	// fusing only ops whose loop has no loop inside (a gate and the mul
	// after it), and a matmul with the residual add after it (which
	// addflag makes alike with the others): codegen builds with and
	// without and keeps the smaller.
	FuseElementwise bool
}

// Bodies lists Body and every proc's body: what passes rewrite.
func (f *Func) Bodies() []*[]*Node {
	b := []*[]*Node{&f.Body}
	for _, p := range f.Procs {
		b = append(b, &p.Body)
	}
	return b
}

// NewReg makes a register of type t.
func (f *Func) NewReg(t Type) Reg {
	f.Types = append(f.Types, t)
	return Reg(len(f.Types) - 1)
}

// Walk calls fn for every node, depth first, in program order.
func Walk(nodes []*Node, fn func(n *Node)) {
	for _, n := range nodes {
		fn(n)
		Walk(n.Body, fn)
		Walk(n.Then, fn)
		Walk(n.Else, fn)
	}
}

// Limited: a loop of a count in a register that steps by more than 1,
// which runs below its Limit.
func (n *Node) Limited() bool { return n.Kind == NLoop && n.Count != NoReg && n.Step > 1 }

// LoopReads are the registers a loop node reads: its count, and its limit
// where it has one.
func (n *Node) LoopReads() []Reg {
	var r []Reg
	if n.Count != NoReg {
		r = append(r, n.Count)
	}
	if n.Limited() {
		r = append(r, n.Limit)
	}
	return r
}

// String prints f, one instruction a line, loops and ifs indented.
func (f *Func) String() string {
	var b strings.Builder
	for _, buf := range f.Bufs {
		layer := ""
		if buf.PerLayer {
			layer = " per layer"
		}
		fmt.Fprintf(&b, "buf %s %s %d%s\n", buf.Name, bufKindNames[buf.Kind], buf.Size, layer)
	}
	for _, p := range f.Procs {
		fmt.Fprintf(&b, "proc %s(%s) # %d calls\n", p.Name, regList(p.Params), p.Calls)
		printNodes(&b, f, p.Body, 1)
	}
	printNodes(&b, f, f.Body, 0)
	return b.String()
}

func regList(rs []Reg) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	return strings.Join(s, ", ")
}

func printNodes(b *strings.Builder, f *Func, nodes []*Node, depth int) {
	ind := strings.Repeat("  ", depth)
	for _, n := range nodes {
		switch n.Kind {
		case NOp:
			fmt.Fprintf(b, "%s# %s\n", ind, n.Note)
			printNodes(b, f, n.Body, depth)
		case NInst:
			fmt.Fprintf(b, "%s%s\n", ind, f.InstString(&n.Inst))
		case NLoop:
			count := n.Count.String()
			if n.Count == NoReg {
				count = fmt.Sprint(n.CountImm)
			}
			step := ""
			if n.Step > 1 {
				step = fmt.Sprintf(" step %d", n.Step)
			}
			if n.Limited() {
				step += " limit " + n.Limit.String()
			}
			if n.Once {
				step += " once"
			}
			if n.ZeroEnds {
				step += " or zero " + n.Body[len(n.Body)-1].Inst.Dst.String()
			}
			fmt.Fprintf(b, "%sloop %s < %s%s {\n", ind, n.Index, count, step)
			printNodes(b, f, n.Body, depth+1)
			fmt.Fprintf(b, "%s}\n", ind)
		case NIf:
			faster := ""
			if n.Faster {
				faster = " faster"
			}
			if n.Skips {
				faster = " skips"
			}
			fmt.Fprintf(b, "%sif%s %s {\n", ind, faster, n.Cond)
			printNodes(b, f, n.Then, depth+1)
			if len(n.Else) > 0 {
				fmt.Fprintf(b, "%s} else {\n", ind)
				printNodes(b, f, n.Else, depth+1)
			}
			fmt.Fprintf(b, "%s}\n", ind)
		case NCall:
			fmt.Fprintf(b, "%scall %s(%s)\n", ind, n.Proc.Name, regList(n.Args))
		case NLayers:
			fmt.Fprintf(b, "%slayers {\n", ind)
			printNodes(b, f, n.Body, depth+1)
			fmt.Fprintf(b, "%s}\n", ind)
		}
	}
}

// InstString prints one instruction: "r3:i64 = mulwide r1, r2".
func (f *Func) InstString(in *Inst) string {
	typ := func(r Reg) string {
		if r >= 0 && int(r) < len(f.Types) {
			return r.String() + ":" + f.Types[r].String()
		}
		return r.String()
	}
	switch in.Op {
	case OpStore:
		return fmt.Sprintf("store%d %s, %s", in.Mem.Width, in.Mem, in.A)
	case OpLoad:
		s := "u"
		if in.Mem.Signed {
			s = "s"
		}
		return fmt.Sprintf("%s = load%s%d %s", typ(in.Dst), s, in.Mem.Width, in.Mem)
	case OpConst:
		return fmt.Sprintf("%s = %d", typ(in.Dst), in.Imm)
	case OpDot:
		return fmt.Sprintf("%s = dot%d %s, %s", typ(in.Dst), in.Imm, in.Mem, in.Mem2)
	case OpSplit:
		return fmt.Sprintf("split %s, %s, %d", in.Mem2, in.Mem, in.Imm)
	case OpCmp:
		return fmt.Sprintf("%s = cmp.%s %s, %s", typ(in.Dst), in.Cond, in.A, in.B)
	case OpSelect:
		return fmt.Sprintf("%s = select %s, %s, %s", typ(in.Dst), in.C, in.A, in.B)
	case OpShlI, OpShrI, OpSarI, OpRshrI, OpRshrLo:
		return fmt.Sprintf("%s = %s %s, %d", typ(in.Dst), in.Op, in.A, in.Imm)
	case OpToken, OpPos, OpUndef:
		return fmt.Sprintf("%s = %s", typ(in.Dst), in.Op)
	case OpAddr, OpSeg:
		return fmt.Sprintf("%s = %s %s", typ(in.Dst), in.Op, in.Mem)
	case OpLookup:
		return fmt.Sprintf("%s = lookup %s, %s, %d", typ(in.Dst), in.Mem, in.A, in.Imm)
	case OpMac2:
		return fmt.Sprintf("%s = mac2 %s·%s + %s·%s, %d", typ(in.Dst), in.A, in.Mem, in.B, in.Mem2, in.Imm)
	}
	args := []string{}
	for _, r := range []Reg{in.A, in.B} {
		if r != NoReg {
			args = append(args, r.String())
		}
	}
	return fmt.Sprintf("%s = %s %s", typ(in.Dst), in.Op, strings.Join(args, ", "))
}

func (m Mem) String() string {
	s := "[0"
	if m.Buf != nil {
		s = "[" + m.Buf.Name
	}
	if m.Base != NoReg {
		s += " + " + m.Base.String()
	}
	if m.Index != NoReg {
		s += fmt.Sprintf(" + %s*%d", m.Index, m.Scale)
	}
	if m.Disp != 0 {
		s += fmt.Sprintf(" + %d", m.Disp)
	}
	return s + "]"
}
