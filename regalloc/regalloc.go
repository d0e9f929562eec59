// Package regalloc assigns physical registers to the virtual registers of
// a kernel written for the x86_16 encoder.
//
// A kernel is a list of instructions and labels. Where the choice of
// register is free it names virtual registers, V(n) (32 bits), V16(n) (its
// low 16 bits) or V8(n) (its low 8 bits), anywhere a Reg may stand: as an
// operand or as Mem.Base / Mem.Index. Where an instruction fixes its
// registers (one-operand mul/imul/div/idiv, cdq, loop, shifts by cl, string
// ops, in/out, call, ...) it names the physical registers, and the
// allocator keeps every virtual out of a register while that register holds
// a value of its own.
//
// Allocate computes liveness over the kernel's control-flow graph, builds
// the interference graph of virtuals and the physical registers, and
// colours it greedily in a deterministic order; Rewrite appends the
// kernel to a Program with every virtual replaced by its register. There
// is no spilling: a kernel that needs more registers than there are is
// reported with the instruction where too many values are live.
//
// Conventions:
//   - A virtual keeps one register for its whole life (live ranges are not
//     split): give independent values their own numbers, or two uses with
//     different needs (one across a mul, one across a shift by cl) may
//     leave it no register.
//   - Arguments are virtuals listed in Options.LiveIn, results those in
//     Options.LiveOut; Options.Pinned fixes their registers. Physical
//     registers are dead at the kernel's exits (ret, falling off the end,
//     a jump to a label outside the kernel).
//   - A write to an 8- or 16-bit view keeps the other bits, so it does not
//     define the whole virtual: define it in full first (xor v, v).
//   - A virtual used as an 8-bit register only gets eax, ecx, edx or ebx;
//     one used in an address without a segment override never gets ebp
//     (such addresses would default to ss); in a 16-bit address, base
//     and index get the registers the 16-bit forms allow.
//   - A 32-bit `mov r, r` whose operands end up in the same register is
//     dropped by Rewrite.
package regalloc

import (
	"fmt"
	"strings"

	x86 "tfc/codegen/x86_16"
)

// Virtual registers are Reg values above the encoder's physical registers
// (which end well below vBase; a test checks it). The 32-bit virtuals come
// first, then the 16- and 8-bit views of the first MaxViews of them.
const (
	vBase = 48
	// MaxVirtual is the number of virtual registers: V(0) .. V(MaxVirtual-1).
	// Generated kernels (codegen/loopgen) take thousands.
	MaxVirtual = 4096
	// MaxViews is the number of virtuals that have 16- and 8-bit views.
	MaxViews = MaxVirtual

	v16Base = vBase + MaxVirtual
	v8Base  = v16Base + MaxViews
)

// V returns the register that stands for virtual register n, 32 bits wide.
func V(n int) x86.Reg {
	if n < 0 || n >= MaxVirtual {
		panic(fmt.Sprintf("regalloc.V(%d): virtual registers are 0..%d", n, MaxVirtual-1))
	}
	return x86.Reg(vBase + n)
}

// V16 is the low 16 bits of virtual register n (like ax of eax).
func V16(n int) x86.Reg {
	if n < 0 || n >= MaxViews {
		panic(fmt.Sprintf("regalloc.V16(%d): only virtuals 0..%d have 16-bit views", n, MaxViews-1))
	}
	return x86.Reg(v16Base + n)
}

// V8 is the low 8 bits of virtual register n (like al of eax). Such a
// virtual can only be given eax, ecx, edx or ebx.
func V8(n int) x86.Reg {
	if n < 0 || n >= MaxViews {
		panic(fmt.Sprintf("regalloc.V8(%d): only virtuals 0..%d have 8-bit views", n, MaxViews-1))
	}
	return x86.Reg(v8Base + n)
}

// IsVirtual reports whether r is a virtual register or a view of one.
func IsVirtual(r x86.Reg) bool { return r >= vBase }

// Bits is r's width: a virtual's view (V 32, V16 16, V8 8), or a
// physical register's.
func Bits(r x86.Reg) int {
	if _, bits, ok := virt(r); ok {
		return bits
	}
	return r.Size()
}

// Number is the virtual that r, of any width, stands for (V(n), V16(n)
// or V8(n)); ok is false for a physical register.
func Number(r x86.Reg) (n int, ok bool) {
	n, _, ok = virt(r)
	return n, ok
}

// virt decodes a virtual register: its number and width in bits.
func virt(r x86.Reg) (n, bits int, ok bool) {
	switch {
	case r < vBase:
		return 0, 0, false
	case r < v16Base:
		return int(r - vBase), 32, true
	case r < v8Base:
		return int(r - v16Base), 16, true
	}
	return int(r - v8Base), 8, true
}

// regName prints physical and virtual registers (v3, v3w, v3b).
func regName(r x86.Reg) string {
	n, bits, ok := virt(r)
	if !ok {
		return r.String()
	}
	return fmt.Sprintf("v%d%s", n, map[int]string{32: "", 16: "w", 8: "b"}[bits])
}

// Item is one element of a kernel: an instruction, or a label when Label
// is set.
type Item struct {
	Label string
	Inst  x86.Inst
	// Reads are registers a call reads besides Options.CallUses: the
	// arguments it passes in registers.
	Reads []x86.Reg
	// Clobbers, where not nil, are the registers a call destroys in
	// place of Options.CallClobbers (a runtime routine that keeps the
	// rest).
	Clobbers []x86.Reg
	// Data are bytes right after the instruction: a call's arguments
	// that the callee reads and steps over (no instruction runs them).
	Data []byte
	// Aligned: the value the item leaves in eax is a multiple of 4
	// wherever it runs, which its form does not tell (a lods of a proc's
	// argument that every call passes so): Aligned's knowledge.
	Aligned bool
}

// Kernel is a routine written with virtual registers.
type Kernel struct {
	Name  string
	Items []Item
}

// I appends an instruction.
func (k *Kernel) I(op x86.Op, args ...x86.Operand) {
	k.Items = append(k.Items, Item{Inst: x86.Inst{Op: op, Args: append([]x86.Operand(nil), args...)}})
}

// Label defines name at the current position.
func (k *Kernel) Label(name string) { k.Items = append(k.Items, Item{Label: name}) }

// String lists the kernel, one item a line, with virtuals as v0, v1w, v2b.
func (k *Kernel) String() string {
	var sb strings.Builder
	for _, it := range k.Items {
		if it.Label != "" {
			sb.WriteString(it.Label + ":\n")
		} else {
			sb.WriteString("\t" + InstString(it.Inst) + "\n")
		}
	}
	return sb.String()
}

// InstString prints an instruction like Inst.String, naming virtual
// registers v0, v1w (16-bit view), v2b (8-bit view).
func InstString(in x86.Inst) string {
	if !hasVirtual(in) {
		return in.String()
	}
	var sb strings.Builder
	sb.WriteString(in.Op.String())
	for i, a := range in.Args {
		if i == 0 {
			sb.WriteByte(' ')
		} else {
			sb.WriteString(", ")
		}
		sb.WriteString(operandString(in.Op, a))
	}
	return sb.String()
}

func operandString(op x86.Op, a x86.Operand) string {
	switch a := a.(type) {
	case x86.Reg:
		return regName(a)
	case x86.Mem:
		if IsVirtual(a.Base) || IsVirtual(a.Index) {
			return memString(a)
		}
	}
	// Print the operand alone through the encoder's printer.
	s := x86.Inst{Op: op, Args: []x86.Operand{a}}.String()
	return strings.TrimPrefix(s, op.String()+" ")
}

func memString(m x86.Mem) string {
	var sb strings.Builder
	if s, ok := map[int]string{8: "byte ", 16: "word ", 32: "dword "}[m.Size]; ok {
		sb.WriteString(s)
	}
	sb.WriteByte('[')
	if m.Seg != x86.NoReg {
		sb.WriteString(m.Seg.String() + ":")
	}
	plus := ""
	if m.Base != x86.NoReg {
		sb.WriteString(regName(m.Base))
		plus = "+"
	}
	if m.Index != x86.NoReg {
		sb.WriteString(plus + regName(m.Index))
		if m.Scale > 1 {
			fmt.Fprintf(&sb, "*%d", m.Scale)
		}
	}
	if m.Label != "" {
		sb.WriteString("+" + m.Label)
	}
	switch {
	case m.Disp < 0:
		fmt.Fprintf(&sb, "-0x%x", -int64(m.Disp))
	case m.Disp > 0:
		fmt.Fprintf(&sb, "+0x%x", m.Disp)
	}
	sb.WriteByte(']')
	return sb.String()
}

func hasVirtual(in x86.Inst) bool {
	for _, a := range in.Args {
		switch a := a.(type) {
		case x86.Reg:
			if IsVirtual(a) {
				return true
			}
		case x86.Mem:
			if IsVirtual(a.Base) || IsVirtual(a.Index) {
				return true
			}
		}
	}
	return false
}

// Options describe the calling convention and the registers available.
type Options struct {
	// Allowed are the registers the allocator may give to virtuals
	// (default: eax ecx edx ebx esi edi ebp; esp is never allowed). The
	// order is the order of preference when nothing else decides.
	Allowed []x86.Reg
	// Pinned virtuals must get the given 32-bit register (arguments and
	// results of the calling convention). A pin may name a register
	// outside Allowed.
	Pinned map[int]x86.Reg
	// LiveIn are the virtuals that hold values at entry (arguments);
	// LiveOut those that must hold values at every exit (results).
	LiveIn, LiveOut []int
	// Undef are virtuals whose values at entry do not matter (read before
	// any write, in passes where what they hold is never used: a running
	// best that the first pass always sets). Like LiveIn's they are live
	// at entry, but AllocateSpilling may spill one, with nothing to store.
	Undef []int
	// CallUses are the registers a call (or int) reads, CallClobbers those
	// it destroys. CallClobbers nil means all seven general registers; an
	// empty non-nil slice means a call preserves them all.
	CallUses, CallClobbers []x86.Reg
	// Invariant is low memory, the 16-bit addresses [From, To) from ds,
	// that neither the kernel nor what it calls writes: a value that one
	// load from there writes whole is spilled by loading it again where
	// it is read, with no slot and no store (AllocateSpilling).
	Invariant struct{ From, To uint16 }
	// Split lets AllocateSpilling split a value around a loop that
	// never names it instead of spilling one (splitAround).
	Split bool
	// SplitsCheap weighs a split's moves at less than their cost against
	// spilling (victim, splitsCheap): the size policy's pushPairs makes
	// most of them a push and a pop, 2 bytes, where spilling a value read
	// in a loop costs a memory operand or a move at each use.
	SplitsCheap bool
	// Addr16: offsets in a segment (an address with a segment register)
	// will be 16-bit where their registers allow: a virtual that is such
	// an unscaled address's base or index prefers ebx, ebp, esi or edi.
	Addr16 bool
	// RegisterShifts: a spilled value is shifted in a register (loaded,
	// shifted, stored), never in its slot, so that where it is read next
	// the register may still hold it and the load go (reloads). A choice
	// of the size policy: llama2-int8.tf's attention 4 bytes smaller, the
	// -O2 image of llama2.tf 2 bytes larger.
	RegisterShifts bool
	// Resident virtuals are spilled whole (or loaded again) only where
	// nothing else live can go; they may still be split around loops.
	// The first victim a greedy choice takes may leave spilled a value
	// that later choices freed a register for: a caller tries the
	// allocation again with it resident (Spilled lists them).
	Resident map[int]bool
	// Cost, where set, measures an allocation of the kernel that
	// AllocateSpilling returns (with its registers and slots), which
	// Recolor then lowers.
	Cost func(out *Kernel, as map[int]x86.Reg, slots int) int
	// Hints are assignments that a caller expects to be cheap together
	// (a load's value in eax and its pointer in esi: lods), which no
	// single Kempe swap reaches: Recolor tries each with the other
	// families relabelled every way (relabel).
	Hints []map[int]x86.Reg
}

// addr16 are the families whose 16-bit registers address memory (bx, bp,
// si, di).
const addr16 = 1<<3 | 1<<famEBP | 1<<6 | 1<<7

// addressUses are the virtuals that address memory in in, unscaled,
// through a segment register, and the pairs of them that one address
// adds (which a 16-bit address takes as bx or bp with si or di).
func addressUses(in x86.Inst) (ns []int, pairs [][2]int) {
	for _, a := range in.Args {
		m, ok := a.(x86.Mem)
		if !ok || m.Scale > 1 || m.Seg == x86.NoReg {
			continue
		}
		var both []int
		for _, r := range []x86.Reg{m.Base, m.Index} {
			if n, _, ok := virt(r); ok {
				ns = append(ns, n)
				both = append(both, n)
			}
		}
		if len(both) == 2 && both[0] != both[1] {
			pairs = append(pairs, [2]int{both[0], both[1]})
		}
	}
	return ns, pairs
}

// addrBase are the families whose 16-bit registers are a 16-bit
// address's base (bx, bp); the others of addr16 are its index (si, di).
const addrBase = 1<<3 | 1<<famEBP

// DefaultAllowed is the default register set, in order of preference.
var DefaultAllowed = []x86.Reg{x86.EAX, x86.ECX, x86.EDX, x86.EBX, x86.ESI, x86.EDI, x86.EBP}

// Rewrite appends k to p with every virtual register replaced by the
// register assign gives it (a 16- or 8-bit view by the matching part of
// that register). A mov between two registers that became the same
// register is dropped.
func Rewrite(k *Kernel, assign map[int]x86.Reg, p *x86.Program) error {
	out, err := Physical(k, assign)
	if err != nil {
		return err
	}
	for _, it := range out.Items {
		if it.Label != "" {
			p.Label(it.Label)
			continue
		}
		p.Add(it.Inst)
		if it.Data != nil {
			p.DB(it.Data...)
		}
	}
	return nil
}

// Physical is k with every virtual replaced by the register assign gives
// it, in items (Rewrite's instructions): a pass after allocation that
// needs what each register holds, which a dropped reload or a value two
// virtuals share leave to the registers, reads this.
func Physical(k *Kernel, assign map[int]x86.Reg) (*Kernel, error) {
	out := &Kernel{Name: k.Name, Items: make([]Item, 0, len(k.Items))}
	for i, it := range k.Items {
		if it.Label != "" {
			out.Items = append(out.Items, it)
			continue
		}
		in, err := rewriteInst(it.Inst, assign)
		if err != nil {
			return nil, fmt.Errorf("kernel %s: item %d (%s): %w", k.Name, i, InstString(it.Inst), err)
		}
		if isSelfMove(in) {
			continue
		}
		p := Item{Inst: in, Data: it.Data, Clobbers: it.Clobbers, Aligned: it.Aligned}
		for _, r := range it.Reads {
			r, err := physical(r, assign)
			if err != nil {
				return nil, fmt.Errorf("kernel %s: item %d (%s): %w", k.Name, i, InstString(it.Inst), err)
			}
			p.Reads = append(p.Reads, r)
		}
		out.Items = append(out.Items, p)
	}
	return out, nil
}

func isSelfMove(in x86.Inst) bool {
	if in.Op != x86.MOV && in.Op != x86.XCHG || len(in.Args) != 2 {
		return false
	}
	a, ok1 := in.Args[0].(x86.Reg)
	b, ok2 := in.Args[1].(x86.Reg)
	return ok1 && ok2 && a == b && a.Size() > 0 && a != x86.CR0 && !a.IsSeg()
}

func rewriteInst(in x86.Inst, assign map[int]x86.Reg) (x86.Inst, error) {
	if !hasVirtual(in) {
		return in, nil
	}
	args := make([]x86.Operand, len(in.Args))
	for i, a := range in.Args {
		switch a := a.(type) {
		case x86.Reg:
			r, err := physical(a, assign)
			if err != nil {
				return in, err
			}
			args[i] = r
		case x86.Mem:
			var err error
			if a.Base, err = physical(a.Base, assign); err != nil {
				return in, err
			}
			if a.Index, err = physical(a.Index, assign); err != nil {
				return in, err
			}
			args[i] = a
		default:
			args[i] = a
		}
	}
	return x86.Inst{Op: in.Op, Args: args}, nil
}

// physical maps a virtual (or view) to its assigned register.
// Assigned is the register r names once assign is applied (r itself
// where it is not a virtual).
func Assigned(r x86.Reg, assign map[int]x86.Reg) (x86.Reg, error) { return physical(r, assign) }

func physical(r x86.Reg, assign map[int]x86.Reg) (x86.Reg, error) {
	n, bits, ok := virt(r)
	if !ok {
		return r, nil
	}
	p, ok := assign[n]
	if !ok {
		return 0, fmt.Errorf("v%d has no register", n)
	}
	f, ok := family(p)
	if !ok || p.Size() != 32 {
		return 0, fmt.Errorf("v%d is assigned %s, not a 32-bit general register", n, p)
	}
	return view(f, bits, n)
}

// family is the hardware number 0..7 of a general register of any width
// (al, ah, ax and eax are all family 0).
func family(r x86.Reg) (int, bool) {
	switch {
	case r >= x86.AL && r <= x86.BL:
		return int(r - x86.AL), true
	case r >= x86.AH && r <= x86.BH:
		return int(r - x86.AH), true
	case r >= x86.AX && r <= x86.DI:
		return int(r - x86.AX), true
	case r >= x86.EAX && r <= x86.EDI:
		return int(r - x86.EAX), true
	}
	return 0, false
}

// Family is r's general register's number (eax 0 … edi 7, its 16- and
// 8-bit parts alike); ok is false for any other register.
func Family(r x86.Reg) (f int, ok bool) { return family(r) }

// View is family f's register of the given width (32, 16, or 8 for the
// low bytes of eax to ebx); ok is false where f has none.
func View(f, bits int) (r x86.Reg, ok bool) {
	r, err := view(f, bits, 0)
	return r, err == nil && f >= 0 && f < 8
}

// view is the register of family f with the given width.
func view(f, bits, n int) (x86.Reg, error) {
	switch bits {
	case 32:
		return x86.EAX + x86.Reg(f), nil
	case 16:
		return x86.AX + x86.Reg(f), nil
	}
	if f >= 4 {
		return 0, fmt.Errorf("v%d is used as an 8-bit register but is assigned %s", n, x86.EAX+x86.Reg(f))
	}
	return x86.AL + x86.Reg(f), nil
}
