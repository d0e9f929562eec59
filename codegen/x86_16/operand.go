package x86_16

// Operand is one instruction operand: Reg, Mem, Imm, ImmLabel, SizedImm,
// Label, Addr, Short, Near or Far.
type Operand interface{ isOperand() }

// Mem is a memory operand.
//
// Without 32-bit registers it uses 16-bit addressing: Base and Index are
// any of bx/bp and si/di (in either field), or neither for [disp16].
// With a 32-bit Base or Index, or with Addr32 set, it uses 32-bit
// addressing (0x67 prefix), which unreal-mode code needs to reach memory
// above 64 KiB.
type Mem struct {
	Size   int // 8, 16, 32, 64, 128 (SSE); 0 = taken from the other operand
	Seg    Reg // segment override; NoReg = default segment
	Base   Reg //
	Index  Reg //
	Scale  int // 1, 2, 4, 8 (32-bit addressing only); 0 means 1
	Disp   int32
	Label  string // if set, the address of this label is added to Disp
	Addr32 bool   // force 32-bit addressing, e.g. [dword 0x100000]
}

// Imm is an immediate whose width comes from the instruction (push: 16).
type Imm int64

// ImmLabel is the address of a label (plus Add) used as an immediate. NASM
// always gives such immediates the full operand width, and so do we.
type ImmLabel struct {
	Name string
	Add  int64
}

// SizedImm is an immediate with an explicit width, as in `push dword 5`.
// Val is an Imm or an ImmLabel.
type SizedImm struct {
	Size int
	Val  Operand
}

// Label is a branch target by name. Jumps to labels are relaxed: short when
// the target is in rel8 range, near otherwise.
type Label string

// Addr is an absolute branch target within the code segment. Like NASM,
// jmp/jcc to a number is always near unless wrapped in Short.
type Addr uint32

// Short forces the rel8 form of a jump (an error if out of range).
type Short struct{ To Operand }

// Near forces the rel16 form of a jump.
type Near struct{ To Operand }

// Far is a direct far target seg:offset for jmp/call (EA/9A). Size 32 selects
// the 0x66 ptr16:32 form used to enter 32-bit protected mode code.
type Far struct {
	Seg   uint16
	Label string // optional; its address is added to Off
	Off   uint32
	Size  int // 16 (default) or 32
}

func (Reg) isOperand()      {}
func (Mem) isOperand()      {}
func (Imm) isOperand()      {}
func (ImmLabel) isOperand() {}
func (SizedImm) isOperand() {}
func (Label) isOperand()    {}
func (Addr) isOperand()     {}
func (Short) isOperand()    {}
func (Near) isOperand()     {}
func (Far) isOperand()      {}

// B, W and D give a memory operand an explicit size: byte, word, dword.
func B(m Mem) Mem { m.Size = 8; return m }
func W(m Mem) Mem { m.Size = 16; return m }
func D(m Mem) Mem { m.Size = 32; return m }

// Q and O size a memory operand of an SSE instruction: qword (movq) and
// oword (128 bits, NASM's name). SSE operands may also stay unsized.
func Q(m Mem) Mem { m.Size = 64; return m }
func O(m Mem) Mem { m.Size = 128; return m }

// Ptr16 is a 16-bit addressing form: [base+index+disp]. Either register
// may be NoReg.
func Ptr16(base, index Reg, disp int32) Mem {
	return Mem{Base: base, Index: index, Disp: disp}
}

// Ptr32 is a 32-bit addressing form: [base+index*scale+disp].
func Ptr32(base, index Reg, scale int, disp int32) Mem {
	return Mem{Base: base, Index: index, Scale: scale, Disp: disp, Addr32: true}
}

// Abs16 is [disp16]; Abs32 is [dword disp32].
func Abs16(addr uint16) Mem { return Mem{Disp: int32(addr)} }
func Abs32(addr uint32) Mem { return Mem{Disp: int32(addr), Addr32: true} }

// At is [label+disp] with 16-bit addressing.
func At(label string, disp int32) Mem { return Mem{Label: label, Disp: disp} }

// In returns m with a segment override.
func (m Mem) In(seg Reg) Mem { m.Seg = seg; return m }

// Dword and Word are sized immediates, for push.
func Dword(v int64) SizedImm { return SizedImm{32, Imm(v)} }
func Word(v int64) SizedImm  { return SizedImm{16, Imm(v)} }
