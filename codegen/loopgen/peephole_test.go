package loopgen

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	x86 "tfc/codegen/x86_16"
	"tfc/regalloc"
)

// mov r, 0 becomes xor r, r where the flags are dead: before an
// instruction that writes them all (one-operand imul too, which leaves
// some undefined: nothing may read them after it; a shift by an
// immediate count other than 0; an inc, which writes all but CF, and
// then one that writes CF), not before a jump that reads them (after an
// inc too: CF is still xor's), or a shift by cl, which keeps them all
// when cl is 0. A jump is followed to its label, flag by flag.
func TestPeephole(t *testing.T) {
	v0, v1 := regalloc.V(0), regalloc.V(1)
	mem := x86.D(x86.Abs16(0x600))
	dec := x86.Inst{Op: x86.DEC, Args: []x86.Operand{v1}}
	cmp := x86.Inst{Op: x86.CMP, Args: []x86.Operand{v1, x86.Imm(3)}}
	jne := func(l string) x86.Inst { return x86.Inst{Op: x86.JNE, Args: []x86.Operand{x86.Label(l)}} }
	for _, c := range []struct {
		name string
		next []x86.Inst
		xor  bool
	}{
		{"one-operand imul", []x86.Inst{{Op: x86.MOVSX, Args: []x86.Operand{v1, x86.W(x86.Abs16(0x604))}}, {Op: x86.IMUL, Args: []x86.Operand{v1}}}, true},
		{"cmp, across a label", []x86.Inst{{Op: x86.MOV, Args: []x86.Operand{v1, mem}}, {}, {Op: x86.CMP, Args: []x86.Operand{v1, x86.Imm(3)}}}, true},
		{"a jump reads them", []x86.Inst{{Op: x86.JL, Args: []x86.Operand{x86.Label("l")}}}, false},
		{"inc keeps CF, which jb reads", []x86.Inst{{Op: x86.INC, Args: []x86.Operand{v1}}, {Op: x86.JB, Args: []x86.Operand{x86.Label("l")}}}, false},
		{"inc keeps CF, which cmp writes", []x86.Inst{{Op: x86.INC, Args: []x86.Operand{v1}}, {Op: x86.CMP, Args: []x86.Operand{v1, x86.Imm(3)}}}, true},
		{"a shift by 5", []x86.Inst{{Op: x86.SHL, Args: []x86.Operand{v1, x86.Imm(5)}}}, true},
		{"a shift by cl, which may be 0", []x86.Inst{{Op: x86.SHL, Args: []x86.Operand{v1, x86.CL}}}, false},
		{"shrd by 16", []x86.Inst{{Op: x86.SHRD, Args: []x86.Operand{v1, v0, x86.Imm(16)}}}, true},
		{"a call: no procedure reads them", []x86.Inst{{Op: x86.CALL, Args: []x86.Operand{x86.Label("proc0")}}}, true},
		// Past a jump that reads ZF alone, CF is still xor's, on both paths.
		{"dec, jne: cmp where it jumps and after", []x86.Inst{dec, jne("l"), cmp, {}, cmp}, true},
		{"dec, jne: adc where it jumps", []x86.Inst{dec, jne("l"), cmp, {}, {Op: x86.ADC, Args: []x86.Operand{v1, v0}}}, false},
		{"dec, jne: adc after it", []x86.Inst{dec, jne("l"), {Op: x86.SBB, Args: []x86.Operand{v1, v0}}, {}, cmp}, false},
		{"dec, jne back: a loop that reads none", []x86.Inst{{}, dec, jne("l"), cmp}, true},
		{"dec, jne out of the kernel", []x86.Inst{dec, jne("out"), cmp}, false},
	} {
		items := []regalloc.Item{{Inst: x86.Inst{Op: x86.MOV, Args: []x86.Operand{v0, x86.Imm(0)}}}}
		for _, in := range c.next {
			if in.Op == 0 {
				items = append(items, regalloc.Item{Label: "l"})
				continue
			}
			items = append(items, regalloc.Item{Inst: in})
		}
		peephole(items, true)
		want := x86.MOV
		if c.xor {
			want = x86.XOR
		}
		assert.Equal(t, want, items[0].Inst.Op, c.name)
	}
}

// add r, 1 and add r, -1 become inc r and dec r where the flags are dead
// (they keep CF, which add writes): a pointer's step.
func TestPeepholeIncDec(t *testing.T) {
	v0, v1 := regalloc.V(0), regalloc.V(1)
	cmp := x86.Inst{Op: x86.CMP, Args: []x86.Operand{v1, x86.Imm(3)}}
	jl := x86.Inst{Op: x86.JL, Args: []x86.Operand{x86.Label("l")}}
	for _, c := range []struct {
		imm  int64
		next x86.Inst
		want x86.Op
	}{
		{1, cmp, x86.INC},
		{-1, cmp, x86.DEC},
		{2, cmp, x86.ADD},
		{1, jl, x86.ADD}, // the jump reads the add's flags
	} {
		items := []regalloc.Item{{Inst: x86.Inst{Op: x86.ADD, Args: []x86.Operand{v0, x86.Imm(c.imm)}}}, {Inst: c.next}}
		peephole(items, false)
		assert.Equal(t, c.want, items[0].Inst.Op, "add %d, then %v", c.imm, c.next.Op)
	}
}

// After allocation, cmp r, 0 becomes test r, r: the flags a jump reads
// come out the same.
func TestAllocatedTest(t *testing.T) {
	v0 := regalloc.V(0)
	items := []regalloc.Item{{Inst: x86.Inst{Op: x86.CMP, Args: []x86.Operand{v0, x86.Imm(0)}}},
		{Inst: x86.Inst{Op: x86.CMP, Args: []x86.Operand{v0, x86.Imm(1)}}}}
	allocated(items, map[int]x86.Reg{0: x86.EAX})
	assert.Equal(t, x86.Inst{Op: x86.TEST, Args: []x86.Operand{v0, v0}}, items[0].Inst)
	assert.Equal(t, x86.CMP, items[1].Inst.Op)
}

// After allocation, lea r, [s+d] where s got r's register is add r, d
// where the flags are dead; not where a jump reads them next, nor where s
// has another register.
func TestAllocatedLeaIsAdd(t *testing.T) {
	v0, v1, v2 := regalloc.V(0), regalloc.V(1), regalloc.V(2)
	as := map[int]x86.Reg{0: x86.EAX, 1: x86.EAX, 2: x86.ECX}
	lea := func(d, s x86.Reg) regalloc.Item {
		return regalloc.Item{Inst: x86.Inst{Op: x86.LEA, Args: []x86.Operand{d, x86.Mem{Size: 32, Base: s, Disp: 0x104}}}}
	}
	sub := regalloc.Item{Inst: x86.Inst{Op: x86.SUB, Args: []x86.Operand{v2, v0}}}
	jump := regalloc.Item{Inst: x86.Inst{Op: x86.JL, Args: []x86.Operand{x86.Label("top")}}}
	items := []regalloc.Item{lea(v1, v0), sub, lea(v1, v0), jump, lea(v2, v0), sub}
	allocated(items, as)
	assert.Equal(t, x86.Inst{Op: x86.ADD, Args: []x86.Operand{v1, x86.Imm(0x104)}}, items[0].Inst)
	assert.Equal(t, x86.LEA, items[2].Inst.Op, "a jump reads the flags")
	assert.Equal(t, x86.LEA, items[4].Inst.Op, "another register")
}

// At -O2 a shift does not count as writing the flags: mov r, 0 stays,
// since its xor would cost an instruction where r goes to memory.
func TestPeepholeShiftsForSize(t *testing.T) {
	v0, v1 := regalloc.V(0), regalloc.V(1)
	for _, size := range []bool{true, false} {
		items := []regalloc.Item{{Inst: x86.Inst{Op: x86.MOV, Args: []x86.Operand{v0, x86.Imm(0)}}},
			{Inst: x86.Inst{Op: x86.SHL, Args: []x86.Operand{v1, x86.Imm(5)}}}}
		peephole(items, size)
		want := x86.MOV
		if size {
			want = x86.XOR
		}
		assert.Equal(t, want, items[0].Inst.Op, "size %v", size)
	}
}

// For size, a shift by cl, which writes the flags or leaves them, is
// looked past: what follows decides (here an add, which writes them all;
// a jump, which reads them, keeps the mov).
func TestPeepholeLooksPastShiftByCL(t *testing.T) {
	v0, v1 := regalloc.V(0), regalloc.V(1)
	for _, c := range []struct {
		size bool
		next x86.Inst
		want x86.Op
	}{
		{true, x86.Inst{Op: x86.ADD, Args: []x86.Operand{v1, v0}}, x86.XOR},
		{true, x86.Inst{Op: x86.JB, Args: []x86.Operand{x86.Label("l")}}, x86.MOV},
		{false, x86.Inst{Op: x86.ADD, Args: []x86.Operand{v1, v0}}, x86.MOV},
	} {
		items := []regalloc.Item{{Inst: x86.Inst{Op: x86.MOV, Args: []x86.Operand{v0, x86.Imm(0)}}},
			{Inst: x86.Inst{Op: x86.SHR, Args: []x86.Operand{v1, x86.CL}}}, {Inst: c.next}}
		peephole(items, c.size)
		assert.Equal(t, c.want, items[0].Inst.Op, "size %v, then %v", c.size, c.next.Op)
	}
}

// An unscaled 32-bit offset in a segment whose registers got bx or bp
// and si or di becomes a 16-bit one (and assembles shorter); a scaled
// index, a register without a 16-bit address form, two of one pair, a
// displacement past 16 bits, or a flat address (no segment) keep it.
func TestAllocatedAddr16(t *testing.T) {
	v0, v1 := regalloc.V(0), regalloc.V(1)
	for _, c := range []struct {
		name   string
		m      x86.Mem
		r0, r1 x86.Reg
		want   x86.Mem
	}{
		{"base and index", x86.Mem{Seg: x86.ES, Base: v0, Index: v1, Scale: 1, Disp: 0xe118, Addr32: true}, x86.ESI, x86.EBX,
			x86.Mem{Seg: x86.ES, Base: x86.BX, Index: x86.SI, Disp: 0xe118}},
		{"base", x86.Mem{Seg: x86.FS, Base: v0, Disp: -4, Addr32: true}, x86.EDI, x86.EAX,
			x86.Mem{Seg: x86.FS, Index: x86.DI, Disp: -4}},
		{"flat", x86.Mem{Base: v0, Disp: -4, Addr32: true}, x86.EDI, x86.EAX,
			x86.Mem{Base: v0, Disp: -4, Addr32: true}},
		{"scaled", x86.Mem{Seg: x86.ES, Base: v0, Index: v1, Scale: 4, Addr32: true}, x86.ESI, x86.EBX,
			x86.Mem{Seg: x86.ES, Base: v0, Index: v1, Scale: 4, Addr32: true}},
		{"ecx", x86.Mem{Seg: x86.ES, Base: v0, Addr32: true}, x86.ECX, x86.EBX,
			x86.Mem{Seg: x86.ES, Base: v0, Addr32: true}},
		{"si and di", x86.Mem{Seg: x86.ES, Base: v0, Index: v1, Scale: 1, Addr32: true}, x86.ESI, x86.EDI,
			x86.Mem{Seg: x86.ES, Base: v0, Index: v1, Scale: 1, Addr32: true}},
		{"displacement", x86.Mem{Seg: x86.ES, Base: v0, Disp: 0x10000, Addr32: true}, x86.ESI, x86.EDI,
			x86.Mem{Seg: x86.ES, Base: v0, Disp: 0x10000, Addr32: true}},
	} {
		c.m.Size, c.want.Size = 32, 32
		items := []regalloc.Item{{Inst: x86.Inst{Op: x86.MOV, Args: []x86.Operand{x86.EAX, c.m}}}}
		allocated(items, map[int]x86.Reg{0: c.r0, 1: c.r1})
		assert.Equal(t, c.want, items[0].Inst.Args[1], c.name)
		if c.want.Addr32 {
			continue
		}
		size := func(m x86.Mem) int {
			var p x86.Program
			p.I(x86.MOV, x86.EAX, m)
			n, err := p.Size(0)
			require.NoError(t, err, c.name)
			return n
		}
		long := c.m
		long.Base = c.r0
		if long.Index != x86.NoReg {
			long.Index = c.r1
		}
		assert.Less(t, size(c.want), size(long), c.name)
	}
}

// A store of 0 to a dword or a word is an and with an 8-bit 0 where the
// flags are dead; where a jump reads them, or to a byte (no shorter), it
// stays a mov.
func TestPeepholeZeroStoreIsAnd(t *testing.T) {
	v0 := regalloc.V(0)
	m := func(size int) x86.Mem { return x86.Mem{Size: size, Seg: x86.ES, Base: x86.BX, Disp: -0x288} }
	add := regalloc.Item{Inst: x86.Inst{Op: x86.ADD, Args: []x86.Operand{v0, v0}}}
	jump := regalloc.Item{Inst: x86.Inst{Op: x86.JB, Args: []x86.Operand{x86.Label("l")}}}
	for _, c := range []struct {
		size int
		next regalloc.Item
		want x86.Op
	}{{32, add, x86.AND}, {16, add, x86.AND}, {8, add, x86.MOV}, {32, jump, x86.MOV}} {
		items := []regalloc.Item{{Inst: x86.Inst{Op: x86.MOV, Args: []x86.Operand{m(c.size), x86.Imm(0)}}}, c.next}
		peephole(items, true)
		assert.Equal(t, c.want, items[0].Inst.Op, "size %d, then %v", c.size, c.next.Inst.Op)
	}
}

// lodsb, lodsw, push and pop neither read nor write a flag: the flags stay dead
// past them (a procedure's arguments after its call).
func TestFlagsDeadPastLodsw(t *testing.T) {
	v0, v1 := regalloc.V(0), regalloc.V(1)
	for _, op := range []x86.Op{x86.LODSB, x86.LODSW, x86.LODSD} {
		items := []regalloc.Item{{Inst: x86.Inst{Op: x86.MOV, Args: []x86.Operand{v0, x86.Imm(0)}}},
			{Inst: x86.Inst{Op: op}}, {Inst: x86.Inst{Op: x86.PUSH, Args: []x86.Operand{x86.SI}}},
			{Inst: x86.Inst{Op: x86.ADD, Args: []x86.Operand{v1, v0}}}}
		peephole(items, true)
		assert.Equal(t, x86.XOR, items[0].Inst.Op, "%v", op)
	}
}

// A procedure's ret leaves no flags a caller reads (as a call clobbers
// them for the code around it): the step of a pointer before the loop's
// dec and jne and the ret narrows; with the kernel's end after the jne,
// where what follows may read them, it does not.
func TestFlagsDeadAtRet(t *testing.T) {
	for _, ret := range []bool{true, false} {
		items := []regalloc.Item{{Label: "top"},
			{Inst: x86.Inst{Op: x86.ADD, Args: []x86.Operand{x86.EBX, x86.Imm(8)}}},
			{Inst: x86.Inst{Op: x86.DEC, Args: []x86.Operand{x86.CX}}},
			{Inst: x86.Inst{Op: x86.JNE, Args: []x86.Operand{x86.Label("top")}}}}
		if ret {
			items = append(items, regalloc.Item{Inst: x86.Inst{Op: x86.RET}})
		}
		assert.Equal(t, ret, flagsDeadAfter(items, 2, true), "ret %v", ret)
	}
}

// A store to a slot that the next instruction changes in place computes
// in the register where nothing reads it after (the next instruction
// writes all of it), and stores last; where the register is read after,
// both stay.
func TestStoreLast(t *testing.T) {
	slot := x86.D(x86.Abs16(0x3800))
	for _, readAfter := range []bool{false, true} {
		k := &regalloc.Kernel{Name: "storelast"}
		k.I(x86.MOV, x86.EAX, x86.D(x86.Abs16(0x1000)))
		k.I(x86.MOV, slot, x86.EAX)
		k.I(x86.SHL, slot, x86.Imm(3))
		if readAfter {
			k.I(x86.MOV, x86.D(x86.Abs16(0x3804)), x86.EAX)
		}
		k.I(x86.MOV, x86.EAX, x86.D(x86.Abs16(0x1004)))
		k.I(x86.ADD, x86.D(x86.Abs16(0x2000)), x86.EAX)
		k.I(x86.RET)
		storeLast(k)
		var p x86.Program
		require.NoError(t, regalloc.Rewrite(k, nil, &p))
		got := p.Listing()
		if readAfter {
			assert.Contains(t, got, "mov dword [0x3800], eax\n    shl dword [0x3800], 0x3\n", "listing:\n%s", got)
		} else {
			assert.Contains(t, got, "shl eax, 0x3\n    mov dword [0x3800], eax\n", "listing:\n%s", got)
		}
	}
}

// A copy and an add (or a subtract of a constant) to it are one lea
// where the flags are dead after them; a 16-bit one takes a 16-bit
// address where its registers make one, else their 32-bit registers'.
// Where a jump reads the add's flags, or the subtrahend is a register,
// they stay.
func TestMovAdd(t *testing.T) {
	for _, c := range []struct {
		mov, add x86.Inst
		next     x86.Op
		want     string
	}{
		{x86.Inst{Op: x86.MOV, Args: []x86.Operand{x86.EDX, x86.EDI}}, x86.Inst{Op: x86.SUB, Args: []x86.Operand{x86.EDX, x86.Imm(-0x100000)}}, x86.CMP, "lea edx, [edi+0x100000]\n"},
		{x86.Inst{Op: x86.MOV, Args: []x86.Operand{x86.EAX, x86.ECX}}, x86.Inst{Op: x86.ADD, Args: []x86.Operand{x86.EAX, x86.EDX}}, x86.CMP, "lea eax, [ecx+edx*1]\n"},
		{x86.Inst{Op: x86.MOV, Args: []x86.Operand{x86.AX, x86.BX}}, x86.Inst{Op: x86.ADD, Args: []x86.Operand{x86.AX, x86.SI}}, x86.CMP, "lea ax, [bx+si]\n"},
		{x86.Inst{Op: x86.MOV, Args: []x86.Operand{x86.AX, x86.CX}}, x86.Inst{Op: x86.ADD, Args: []x86.Operand{x86.AX, x86.Imm(8)}}, x86.CMP, "lea ax, [ecx+0x8]\n"},
		{x86.Inst{Op: x86.MOV, Args: []x86.Operand{x86.EDX, x86.EDI}}, x86.Inst{Op: x86.ADD, Args: []x86.Operand{x86.EDX, x86.Imm(4)}}, x86.JB, "add edx, 0x4\n"},
		{x86.Inst{Op: x86.MOV, Args: []x86.Operand{x86.CX, x86.BX}}, x86.Inst{Op: x86.SUB, Args: []x86.Operand{x86.CX, x86.SI}}, x86.CMP, "sub cx, si\n"},
	} {
		k := &regalloc.Kernel{Name: "movadd"}
		k.I(c.mov.Op, c.mov.Args...)
		k.I(c.add.Op, c.add.Args...)
		switch c.next {
		case x86.CMP:
			k.I(x86.CMP, c.add.Args[0], x86.Imm(3))
		default:
			k.I(c.next, x86.Label("movadd"))
		}
		k.Label("movadd")
		k.I(x86.RET)
		movAdd(k)
		var p x86.Program
		require.NoError(t, regalloc.Rewrite(k, nil, &p))
		assert.Contains(t, p.Listing(), c.want)
	}
}

// A clear of memory before a clear of a register of its width stores
// the register; of another width, or apart (a label between), they stay.
func TestZeroStore(t *testing.T) {
	slot := x86.D(x86.Abs16(0x1120))
	for _, c := range []struct {
		name  string
		xor   x86.Reg
		label bool
		want  string
	}{
		{"a dword", x86.EBP, false, "    xor ebp, ebp\n    mov dword [0x1120], ebp\n"},
		{"a word's register", x86.SI, false, "    and dword [0x1120], 0x0\n    xor si, si\n"},
		{"a label between", x86.EBP, true, "    and dword [0x1120], 0x0\nl:\n    xor ebp, ebp\n"},
	} {
		k := &regalloc.Kernel{Name: "zero"}
		k.I(x86.AND, slot, x86.Imm(0))
		if c.label {
			k.Label("l")
		}
		k.I(x86.XOR, c.xor, c.xor)
		k.I(x86.RET)
		zeroStore(k)
		var p x86.Program
		require.NoError(t, regalloc.Rewrite(k, nil, &p))
		assert.Contains(t, p.Listing(), c.want, c.name)
	}
}

// A copy whose register only carries a value to a low-memory slot's
// store stores the source where the copy is (the copy then goes), past
// a lodsw and a push; not where the register is read between, where the
// slot is, or where the copy's register is ax (which lodsw writes).
func TestStoreEarly(t *testing.T) {
	slot := x86.W(x86.Abs16(0x3800))
	for _, c := range []struct {
		name    string
		reg     x86.Reg // the copy's
		between x86.Inst
		early   bool
	}{
		{"past lodsw", x86.CX, x86.Inst{Op: x86.LODSW}, true},
		{"past a push", x86.CX, x86.Inst{Op: x86.PUSH, Args: []x86.Operand{x86.SI}}, true},
		{"read between", x86.CX, x86.Inst{Op: x86.ADD, Args: []x86.Operand{x86.DX, x86.CX}}, false},
		{"the slot read between", x86.CX, x86.Inst{Op: x86.MOV, Args: []x86.Operand{x86.DX, slot}}, false},
		{"ax past lodsw", x86.AX, x86.Inst{Op: x86.LODSW}, false},
	} {
		src := x86.DX
		if c.reg == x86.AX {
			src = x86.BX
		}
		k := &regalloc.Kernel{Name: "early"}
		k.I(x86.MOV, src, x86.W(x86.Abs16(0x1000)))
		k.I(x86.MOV, c.reg, src)
		k.Items = append(k.Items, regalloc.Item{Inst: c.between})
		k.I(x86.MOV, slot, c.reg)
		k.I(x86.RET)
		storeEarly(k)
		deadCode(k)
		var p x86.Program
		require.NoError(t, regalloc.Rewrite(k, nil, &p))
		got := p.Listing()
		moved := strings.Contains(got, fmt.Sprintf("mov word [0x3800], %s\n", src)) && !strings.Contains(got, fmt.Sprintf("mov %s, %s\n", c.reg, src))
		assert.Equal(t, c.early, moved, "%s: listing:\n%s", c.name, got)
	}
}

// loadFold reads a load's memory in the next instruction where that is
// the load's last reader: a three-operand imul's multiplicand (even into
// the loaded register, which it then writes), an ALU op's source; not an
// op into the loaded register itself (add eax, eax would add the load to
// the load), nor where the register is read later.
func TestLoadFold(t *testing.T) {
	tok := x86.W(x86.Abs16(0x1000))
	m := x86.D(x86.Abs16(0x600))
	inst := func(op x86.Op, args ...x86.Operand) x86.Inst { return x86.Inst{Op: op, Args: args} }
	for _, c := range []struct {
		name  string
		items []x86.Inst
		want  []x86.Inst // nil: unchanged
	}{
		{"imul", []x86.Inst{inst(x86.MOV, x86.AX, tok), inst(x86.IMUL, x86.SI, x86.AX, x86.Imm(0x44)), inst(x86.MOV, m, x86.ESI)},
			[]x86.Inst{inst(x86.IMUL, x86.SI, tok, x86.Imm(0x44)), inst(x86.MOV, m, x86.ESI)}},
		{"imul into the loaded register", []x86.Inst{inst(x86.MOV, x86.AX, tok), inst(x86.IMUL, x86.AX, x86.AX, x86.Imm(0x21)), inst(x86.MOV, m, x86.EAX)},
			[]x86.Inst{inst(x86.IMUL, x86.AX, tok, x86.Imm(0x21)), inst(x86.MOV, m, x86.EAX)}},
		{"add", []x86.Inst{inst(x86.MOV, x86.EAX, m), inst(x86.ADD, x86.ECX, x86.EAX), inst(x86.MOV, m, x86.ECX)},
			[]x86.Inst{inst(x86.ADD, x86.ECX, m), inst(x86.MOV, m, x86.ECX)}},
		{"add into the loaded register", []x86.Inst{inst(x86.MOV, x86.EAX, m), inst(x86.ADD, x86.EAX, x86.EAX), inst(x86.MOV, m, x86.EAX)}, nil},
		{"read after", []x86.Inst{inst(x86.MOV, x86.EAX, m), inst(x86.ADD, x86.ECX, x86.EAX), inst(x86.MOV, m, x86.ECX), inst(x86.MOV, m, x86.EAX)}, nil},
		{"a word into a dword's imul", []x86.Inst{inst(x86.MOV, x86.AX, tok), inst(x86.IMUL, x86.ESI, x86.EAX, x86.Imm(0x44)), inst(x86.MOV, m, x86.ESI)}, nil},
	} {
		k := &regalloc.Kernel{}
		for _, in := range c.items {
			k.Items = append(k.Items, regalloc.Item{Inst: in})
		}
		loadFold(k)
		want := c.want
		if want == nil {
			want = c.items
		}
		var got []x86.Inst
		for _, it := range k.Items {
			got = append(got, it.Inst)
		}
		assert.Equal(t, want, got, c.name)
	}
}

// cdqByte sets edx to a byte by cdq and a mov to dl after a right shift
// of eax by an immediate (its sign then clear); not after one by cl (0
// keeps the sign), nor for a value past a byte, nor at a label.
func TestCdqByte(t *testing.T) {
	inst := func(op x86.Op, args ...x86.Operand) x86.Inst { return x86.Inst{Op: op, Args: args} }
	shr := inst(x86.SHR, x86.EAX, x86.Imm(1))
	mov := inst(x86.MOV, x86.EDX, x86.Imm(0x40))
	for _, c := range []struct {
		name  string
		items []regalloc.Item
		want  []x86.Inst // nil: unchanged
	}{
		{"after shr eax, 1", []regalloc.Item{{Inst: shr}, {Inst: mov}}, []x86.Inst{shr, inst(x86.CDQ), inst(x86.MOV, x86.DL, x86.Imm(0x40))}},
		{"after shr eax, cl", []regalloc.Item{{Inst: inst(x86.SHR, x86.EAX, x86.CL)}, {Inst: mov}}, nil},
		{"past a byte", []regalloc.Item{{Inst: shr}, {Inst: inst(x86.MOV, x86.EDX, x86.Imm(0x100))}}, nil},
		{"at a label", []regalloc.Item{{Inst: shr}, {Label: "l", Inst: mov}}, nil},
	} {
		k := &regalloc.Kernel{Items: c.items}
		var before []x86.Inst
		for _, it := range c.items {
			before = append(before, it.Inst)
		}
		cdqByte(k)
		want := c.want
		if want == nil {
			want = before
		}
		var got []x86.Inst
		for _, it := range k.Items {
			got = append(got, it.Inst)
		}
		assert.Equal(t, want, got, c.name)
	}
}

// xchgMoves makes a copy to or from (e)ax an xchg, a byte shorter, where
// nothing reads the source after it (its upper half included).
func TestXchgMoves(t *testing.T) {
	inst := func(op x86.Op, args ...x86.Operand) x86.Inst { return x86.Inst{Op: op, Args: args} }
	store := func(r x86.Reg) x86.Inst { return inst(x86.MOV, x86.Mem{Disp: 0x600, Size: r.Size()}, r) }
	for _, c := range []struct {
		name  string
		items []x86.Inst
		want  x86.Inst // the first item after; zero: unchanged
	}{
		{"from ax", []x86.Inst{inst(x86.MOV, x86.BX, x86.AX), store(x86.BX), inst(x86.RET)}, inst(x86.XCHG, x86.BX, x86.AX)},
		{"to eax", []x86.Inst{inst(x86.MOV, x86.EAX, x86.ESI), store(x86.EAX), inst(x86.RET)}, inst(x86.XCHG, x86.EAX, x86.ESI)},
		{"ax read after", []x86.Inst{inst(x86.MOV, x86.BX, x86.AX), store(x86.AX), inst(x86.RET)}, x86.Inst{}},
		{"eax's upper half read after", []x86.Inst{inst(x86.MOV, x86.BX, x86.AX), inst(x86.SHR, x86.EAX, x86.Imm(16)), store(x86.AX), inst(x86.RET)}, x86.Inst{}},
		{"neither ax", []x86.Inst{inst(x86.MOV, x86.BX, x86.CX), store(x86.BX), inst(x86.RET)}, x86.Inst{}},
		{"bytes", []x86.Inst{inst(x86.MOV, x86.BL, x86.AL), store(x86.BL), inst(x86.RET)}, x86.Inst{}},
	} {
		k := &regalloc.Kernel{}
		for _, in := range c.items {
			k.Items = append(k.Items, regalloc.Item{Inst: in})
		}
		xchgMoves(k)
		want := c.want
		if want.Op == 0 {
			want = c.items[0]
		} else {
			assert.Less(t, instBytes(want), instBytes(c.items[0]), c.name)
		}
		assert.Equal(t, want, k.Items[0].Inst, c.name)
		for i := 1; i < len(c.items); i++ {
			assert.Equal(t, c.items[i], k.Items[i].Inst, c.name)
		}
	}
}

// incTwice steps a 16-bit register by 2 with two incs or decs where the
// carry, auxiliary and overflow flags are dead after (the zero flag that
// a loop's jne reads is add's).
func TestIncTwice(t *testing.T) {
	inst := func(op x86.Op, args ...x86.Operand) x86.Inst { return x86.Inst{Op: op, Args: args} }
	add := func(r x86.Reg, n int64) x86.Inst { return inst(x86.ADD, r, x86.Imm(n)) }
	jne, jb, jo := inst(x86.JNE, x86.Label("l")), inst(x86.JB, x86.Label("l")), inst(x86.JO, x86.Label("l"))
	for _, c := range []struct {
		name  string
		items []x86.Inst
		step  x86.Op // 0: unchanged
	}{
		{"before an add", []x86.Inst{add(x86.SI, 2), add(x86.DI, 4)}, x86.INC},
		{"before jne", []x86.Inst{add(x86.SI, 2), jne}, x86.INC},
		{"sub", []x86.Inst{inst(x86.SUB, x86.SI, x86.Imm(2)), jne}, x86.DEC},
		{"add -2", []x86.Inst{add(x86.SI, -2), jne}, x86.DEC},
		{"before jb", []x86.Inst{add(x86.SI, 2), jb}, 0},
		{"before jo", []x86.Inst{add(x86.SI, 2), jo}, 0},
		{"32 bits", []x86.Inst{add(x86.ESI, 2), add(x86.DI, 4)}, 0},
		{"by 4", []x86.Inst{add(x86.SI, 4), add(x86.DI, 4)}, 0},
	} {
		k := &regalloc.Kernel{Items: []regalloc.Item{{Label: "l"}}}
		for _, in := range c.items {
			k.Items = append(k.Items, regalloc.Item{Inst: in})
		}
		k.Items = append(k.Items, regalloc.Item{Inst: inst(x86.RET)})
		incTwice(k)
		var got []x86.Inst
		for _, it := range k.Items[1 : len(k.Items)-1] {
			got = append(got, it.Inst)
		}
		want := c.items
		if c.step != 0 {
			r := c.items[0].Args[0]
			want = append([]x86.Inst{inst(c.step, r), inst(c.step, r)}, c.items[1:]...)
		}
		assert.Equal(t, want, got, c.name)
	}
}

// byteLoads loads a byte into the low byte alone where nothing reads the
// register's other bits after (a shift's count in cl).
func TestByteLoads(t *testing.T) {
	inst := func(op x86.Op, args ...x86.Operand) x86.Inst { return x86.Inst{Op: op, Args: args} }
	m := x86.Mem{Base: x86.DI, Disp: 4, Size: 8}
	shift := inst(x86.SHL, x86.EAX, x86.CL)
	for _, c := range []struct {
		name  string
		items []x86.Inst
		want  x86.Inst // the first item after; zero: unchanged
	}{
		{"a count", []x86.Inst{inst(x86.MOVZX, x86.CX, m), shift}, inst(x86.MOV, x86.CL, m)},
		{"32 bits", []x86.Inst{inst(x86.MOVZX, x86.ECX, m), shift}, inst(x86.MOV, x86.CL, m)},
		{"cx read", []x86.Inst{inst(x86.MOVZX, x86.CX, m), inst(x86.MOV, x86.Mem{Disp: 0x600, Size: 16}, x86.CX)}, x86.Inst{}},
		{"no low byte", []x86.Inst{inst(x86.MOVZX, x86.SI, m), inst(x86.MOV, x86.AL, x86.Mem{Base: x86.SI, Size: 8})}, x86.Inst{}},
	} {
		k := &regalloc.Kernel{}
		for _, in := range append(c.items, inst(x86.RET)) {
			k.Items = append(k.Items, regalloc.Item{Inst: in})
		}
		byteLoads(k)
		want := c.want
		if want.Op == 0 {
			want = c.items[0]
		}
		assert.Equal(t, want, k.Items[0].Inst, c.name)
	}
}
