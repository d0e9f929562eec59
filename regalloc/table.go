package regalloc

import (
	"fmt"
	"strings"

	x86 "tfc/codegen/x86_16"
)

// The implicit-operand table: for each mnemonic family, how the explicit
// register operands are used, which physical registers the instruction
// reads and writes without naming them, and where control goes next.
//
// Explicit operands are described by one token each: r (read), w
// (written), rw (read and written), - (not a register operand: an
// immediate or a branch target). A register of a memory operand (base,
// index) is always read, whatever the token. Implicit registers are
// given at their true width: a write to ax keeps the upper half of eax,
// so liveness tracks the low byte, the second byte and the upper 16 bits
// of every register separately.
//
// Rules applied on top of the table (in effects):
//   - xor/sub/sbb r, r with the same register only writes r;
//   - a rep/repe/repne prefix adds cx read and written;
//   - call and int read Options.CallUses and write Options.CallClobbers;
//   - in a 16-bit code segment string instructions address ds:si and es:di
//     and loop and rep count in cx, as the rows say; with the A32 flag
//     (address-size prefix 0x67) they use esi, edi and ecx instead (jcxz
//     always tests cx, jecxz ecx).
type row struct {
	ops  []x86.Op
	size int    // operand size the row is for (first operand); 0: any
	args string // modes of the explicit operands
	use  []x86.Reg
	def  []x86.Reg
	flow flow
	// modes is args split into fields, once: effectsOf runs for every
	// instruction in each liveness analysis, many per kernel.
	modes []string
}

// flow is what an instruction does to control.
type flow uint8

const (
	fNext   flow = iota // falls through
	fJump               // goes to its target only
	fBranch             // goes to its target or falls through
	fExit               // leaves the kernel (ret)
	fStop               // goes nowhere (ud2)
	fCall               // calls and comes back: Options.CallUses/CallClobbers
)

var (
	accs  = [...]x86.Reg{8: x86.AL, 16: x86.AX, 32: x86.EAX}
	shift = []x86.Op{x86.ROL, x86.ROR, x86.RCL, x86.RCR, x86.SHL, x86.SHR, x86.SAR}
)

func opRange(first, last x86.Op) []x86.Op {
	var ops []x86.Op
	for op := first; op <= last; op++ {
		ops = append(ops, op)
	}
	return ops
}

func ops(o ...x86.Op) []x86.Op    { return o }
func regs(r ...x86.Reg) []x86.Reg { return r }

const (
	eax, ecx, edx, ebx, esi, edi, ebp = x86.EAX, x86.ECX, x86.EDX, x86.EBX, x86.ESI, x86.EDI, x86.EBP
	al, ax, cx, dx, bx, bp, si, di    = x86.AL, x86.AX, x86.CX, x86.DX, x86.BX, x86.BP, x86.SI, x86.DI
)

var table = []row{
	// Arithmetic and logic: dst op= src (flags are not tracked).
	{ops: ops(x86.ADD, x86.OR, x86.ADC, x86.SBB, x86.AND, x86.SUB, x86.XOR), args: "rw r"},
	{ops: ops(x86.CMP, x86.TEST, x86.BT), args: "r r"},
	{ops: ops(x86.NEG, x86.NOT, x86.INC, x86.DEC), args: "rw"},
	// Shifts and rotates by 1, imm8 or cl (cl is an explicit operand).
	{ops: shift, args: "rw r"},
	{ops: ops(x86.SHLD, x86.SHRD), args: "rw r r"},
	{ops: ops(x86.BTS, x86.BTR, x86.BTC), args: "rw r"},
	// bsf/bsr leave dst undefined for a zero source: treated as a write.
	{ops: ops(x86.BSF, x86.BSR), args: "w r"},
	// cmovcc may keep dst, so it reads it.
	{ops: opRange(x86.CMOVO, x86.CMOVG), args: "rw r"},
	{ops: opRange(x86.SETO, x86.SETG), args: "w"},
	{ops: ops(x86.MOV, x86.MOVZX, x86.MOVSX, x86.LEA), args: "w r"},
	{ops: ops(x86.XCHG), args: "rw rw"},

	// Multiply and divide: one-operand forms use the accumulator pair.
	{ops: ops(x86.MUL, x86.IMUL), size: 8, args: "r", use: regs(al), def: regs(ax)},
	{ops: ops(x86.MUL, x86.IMUL), size: 16, args: "r", use: regs(ax), def: regs(ax, dx)},
	{ops: ops(x86.MUL, x86.IMUL), size: 32, args: "r", use: regs(eax), def: regs(eax, edx)},
	{ops: ops(x86.IMUL), args: "rw r"},
	{ops: ops(x86.IMUL), args: "w r -"},
	{ops: ops(x86.DIV, x86.IDIV), size: 8, args: "r", use: regs(ax), def: regs(ax)},
	{ops: ops(x86.DIV, x86.IDIV), size: 16, args: "r", use: regs(ax, dx), def: regs(ax, dx)},
	{ops: ops(x86.DIV, x86.IDIV), size: 32, args: "r", use: regs(eax, edx), def: regs(eax, edx)},

	// Sign extensions of the accumulator.
	{ops: ops(x86.CBW), use: regs(al), def: regs(ax)},
	{ops: ops(x86.CWDE), use: regs(ax), def: regs(eax)},
	{ops: ops(x86.CWD), use: regs(ax), def: regs(dx)},
	{ops: ops(x86.CDQ), use: regs(eax), def: regs(edx)},

	// Stack (sp/esp is not allocated and not tracked).
	{ops: ops(x86.PUSH), args: "r"},
	{ops: ops(x86.POP), args: "w"},
	{ops: ops(x86.PUSHA), use: regs(ax, cx, dx, bx, bp, si, di)},
	{ops: ops(x86.POPA), def: regs(ax, cx, dx, bx, bp, si, di)},
	{ops: ops(x86.PUSHAD), use: regs(eax, ecx, edx, ebx, ebp, esi, edi)},
	{ops: ops(x86.POPAD), def: regs(eax, ecx, edx, ebx, ebp, esi, edi)},
	{ops: ops(x86.PUSHF, x86.POPF, x86.PUSHFD, x86.POPFD)},
	{ops: ops(x86.LEAVE), use: regs(bp), def: regs(bp)},

	// String instructions: ds:si source, es:di destination.
	{ops: ops(x86.LODSB), use: regs(si), def: regs(al, si)},
	{ops: ops(x86.LODSW), use: regs(si), def: regs(ax, si)},
	{ops: ops(x86.LODSD), use: regs(si), def: regs(eax, si)},
	{ops: ops(x86.STOSB), use: regs(al, di), def: regs(di)},
	{ops: ops(x86.STOSW), use: regs(ax, di), def: regs(di)},
	{ops: ops(x86.STOSD), use: regs(eax, di), def: regs(di)},
	{ops: ops(x86.MOVSB, x86.MOVSW, x86.MOVSD, x86.CMPSB, x86.CMPSW, x86.CMPSD), use: regs(si, di), def: regs(si, di)},
	{ops: ops(x86.SCASB), use: regs(al, di), def: regs(di)},
	{ops: ops(x86.SCASW), use: regs(ax, di), def: regs(di)},
	{ops: ops(x86.SCASD), use: regs(eax, di), def: regs(di)},
	{ops: ops(x86.XLATB), use: regs(al, bx), def: regs(al)},

	// Control flow.
	{ops: ops(x86.JMP), args: "-", flow: fJump},
	{ops: opRange(x86.JO, x86.JG), args: "-", flow: fBranch},
	{ops: ops(x86.LOOP, x86.LOOPE, x86.LOOPNE), args: "-", use: regs(cx), def: regs(cx), flow: fBranch},
	{ops: ops(x86.JCXZ), args: "-", use: regs(cx), flow: fBranch},
	{ops: ops(x86.JECXZ), args: "-", use: regs(ecx), flow: fBranch},
	{ops: ops(x86.CALL), args: "r", flow: fCall}, // the operand: a target, or a register/memory read
	{ops: ops(x86.INT), args: "-", flow: fCall},
	{ops: ops(x86.RET, x86.RETF, x86.IRET), flow: fExit},
	{ops: ops(x86.RET, x86.RETF), args: "-", flow: fExit},
	{ops: ops(x86.UD2), flow: fStop},

	// Ports: in acc, dx|imm8; out dx|imm8, acc.
	{ops: ops(x86.IN), args: "w r"},
	{ops: ops(x86.OUT), args: "r r"},

	// System and the rest.
	{ops: ops(x86.HLT, x86.CLI, x86.STI, x86.CLD, x86.STD, x86.CLC, x86.STC, x86.CMC, x86.NOP, x86.INT3)},
	{ops: ops(x86.LGDT, x86.LIDT), args: "r"},
	{ops: ops(x86.RDTSC), def: regs(eax, edx)},
	{ops: ops(x86.CPUID), use: regs(eax, ecx), def: regs(eax, ebx, ecx, edx)},

	// SSE2 (-march sse2's dot products): XMM registers are not tracked
	// (no virtual stands for one), so only a GPR operand (movd's) and the
	// registers of a memory operand count.
	{ops: ops(x86.MOVDQU, x86.MOVDQA, x86.MOVQ, x86.MOVD), args: "w r"},
	{ops: ops(x86.PMADDWD, x86.PADDD, x86.PADDQ, x86.PSUBQ, x86.PXOR, x86.PUNPCKLWD, x86.PUNPCKHWD, x86.PUNPCKLDQ,
		x86.PUNPCKHDQ, x86.PUNPCKLQDQ, x86.PUNPCKHQDQ, x86.PSRAW, x86.PSRAD, x86.PSRLQ, x86.PSRLDQ, x86.PSLLQ, x86.PSLLD, x86.PCMPEQD, x86.PSUBD, x86.PACKSSDW), args: "rw r"},
	{ops: ops(x86.PSHUFD), args: "w r -"},
}

var rowsByOp = func() map[x86.Op][]*row {
	m := map[x86.Op][]*row{}
	for i := range table {
		table[i].modes = strings.Fields(table[i].args)
		for _, op := range table[i].ops {
			m[op] = append(m[op], &table[i])
		}
	}
	return m
}()

// access is one register an instruction reads and/or writes. addr marks a
// register of a memory operand; seg that operand has a segment override;
// mem16 that it uses 16-bit addressing, with other the operand's other
// register (index for a base, base for an index) and base which field.
type access struct {
	reg         x86.Reg
	read, write bool
	addr, seg   bool
	mem16, base bool
	other       x86.Reg
}

// effects is what an instruction does to registers and control.
type effects struct {
	acc    []access
	flow   flow
	target string // label of a jump, branch or call ("" for other targets)
}

// opSize is the size of an operand in bits (0 if it has none).
func opSize(a x86.Operand) int {
	switch a := a.(type) {
	case x86.Reg:
		if _, bits, ok := virt(a); ok {
			return bits
		}
		return a.Size()
	case x86.Mem:
		return a.Size
	}
	return 0
}

// itemEffects is effectsOf(it.Inst) with the item's own Reads and
// Clobbers.
func itemEffects(it Item, o *Options) (effects, error) {
	if it.Clobbers != nil {
		own := *o
		own.CallClobbers = it.Clobbers
		o = &own
	}
	e, err := effectsOf(it.Inst, o)
	for _, r := range it.Reads {
		e.acc = append(e.acc, access{reg: r, read: true})
	}
	return e, err
}

// effectsOf looks an instruction up in the table and applies the rules
// above; calls take their registers from o.
func effectsOf(in x86.Inst, o *Options) (effects, error) {
	var e effects
	base := in.Op &^ (x86.REP | x86.REPE | x86.REPNE | x86.A32)
	rep := in.Op&(x86.REP|x86.REPE|x86.REPNE) != 0
	// A32: 32-bit addresses and counts.
	wide := func(r x86.Reg) x86.Reg {
		if in.Op&x86.A32 != 0 && (r == si || r == di || r == cx) {
			return r - x86.AX + x86.EAX
		}
		return r
	}
	rs := rowsByOp[base]
	if len(rs) == 0 {
		return e, fmt.Errorf("no implicit-operand entry for %v", base)
	}
	var r *row
	size := 0
	if len(in.Args) > 0 {
		size = opSize(in.Args[0])
	}
	for _, c := range rs {
		if len(c.modes) == len(in.Args) && (c.size == 0 || c.size == size) {
			r = c
			break
		}
	}
	if r == nil {
		if len(in.Args) == 1 && (base == x86.MUL || base == x86.DIV || base == x86.IMUL || base == x86.IDIV) {
			return e, fmt.Errorf("%v needs an operand of known size", base)
		}
		return e, fmt.Errorf("%v with %d operands is not in the implicit-operand table", base, len(in.Args))
	}
	e.flow = r.flow
	e.acc = make([]access, 0, 2*len(in.Args)+len(r.use)+len(r.def)+1) // a memory operand's two, and rep's cx
	modes := r.modes
	if (base == x86.XOR || base == x86.SUB || base == x86.SBB) && len(in.Args) == 2 {
		if a, ok := in.Args[0].(x86.Reg); ok && in.Args[1] == x86.Operand(a) {
			modes = []string{"w", "ignored"} // zeroing idiom: the old value is not read
		}
	}
	for i, a := range in.Args {
		m := modes[i]
		if m == "ignored" {
			continue
		}
		switch a := a.(type) {
		case x86.Reg:
			if !tracked(a) {
				continue
			}
			if m == "-" {
				return e, fmt.Errorf("%v through a register is not supported (the target must be a label)", base)
			}
			e.acc = append(e.acc, access{reg: a, read: strings.Contains(m, "r"), write: strings.Contains(m, "w")})
		case x86.Mem:
			if m == "-" {
				return e, fmt.Errorf("%v through memory is not supported (the target must be a label)", base)
			}
			m16 := !(a.Addr32 || is32(a.Base) || is32(a.Index))
			for _, p := range [][2]x86.Reg{{a.Base, a.Index}, {a.Index, a.Base}} {
				if tracked(p[0]) {
					e.acc = append(e.acc, access{reg: p[0], read: true, addr: true, seg: a.Seg != x86.NoReg,
						mem16: m16, base: p[0] == a.Base, other: p[1]})
				}
			}
		case x86.Label:
			e.target = string(a)
		case x86.Short:
			if l, ok := a.To.(x86.Label); ok {
				e.target = string(l)
			}
		case x86.Near:
			if l, ok := a.To.(x86.Label); ok {
				e.target = string(l)
			}
		}
	}
	for _, u := range r.use {
		e.acc = append(e.acc, access{reg: wide(u), read: true})
	}
	for _, d := range r.def {
		e.acc = append(e.acc, access{reg: wide(d), write: true})
	}
	if rep {
		e.acc = append(e.acc, access{reg: wide(cx), read: true, write: true})
	}
	if e.flow == fCall {
		for _, u := range o.CallUses {
			e.acc = append(e.acc, access{reg: u, read: true})
		}
		clob := o.CallClobbers
		if clob == nil {
			clob = []x86.Reg{eax, ecx, edx, ebx, ebp, esi, edi}
		}
		for _, d := range clob {
			e.acc = append(e.acc, access{reg: d, write: true})
		}
	}
	return e, nil
}

// tracked: general registers and virtuals; sp/esp, segment and control
// registers are not allocated and not tracked.
func tracked(r x86.Reg) bool {
	if IsVirtual(r) {
		return true
	}
	f, ok := family(r)
	return ok && f != 4 // family 4 is sp/esp
}

func is32(r x86.Reg) bool {
	if _, bits, ok := virt(r); ok {
		return bits == 32
	}
	return r >= x86.EAX && r <= x86.EDI
}
