package loopgen

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	x86 "tfc/codegen/x86_16"
	"tfc/lir"
)

// rshrRoutine is the shared rounding shift: eax = rshr(edx:eax, n) to
// its low dword, for 1 <= n <= 31 (shrd leaves bit n-1 in CF), called at
// the entry for n (rshrEntry), which sets cl; it reads rshrReads and
// writes rshrClobbers, the allocator's view of a call of it. Its shrd
// brings in edx's low n bits alone: for n up to 16 it reads dx
// (rshrReadsLow), so that a sum's upper dword that only feeds it narrows
// to 16 bits. Called itself after a clc, it shifts by cl, 0 to 31
// (rshrByCL...).
const rshrRoutine = "rshr"

var (
	rshrReads        = []x86.Reg{x86.EAX, x86.EDX}
	rshrReadsLow     = []x86.Reg{x86.EAX, x86.DX}
	rshrClobbers     = []x86.Reg{x86.EAX, x86.ECX}
	rshrByCLReads    = []x86.Reg{x86.EAX, x86.EDX, x86.CL}
	rshrByCLClobbers = []x86.Reg{x86.EAX}
)

// rshrEntry is the label of rshrRoutine's entry for a count of n.
func rshrEntry(n int64) string { return fmt.Sprintf("%s.%d", rshrRoutine, n) }

// rshrEntries emits rshrRoutine with an entry for each count the kernels
// call it with from two places or more: mov cl, n, then 0x3d, the opcode
// of cmp ax, imm16, whose immediate is the next entry's mov (the last
// entry's falls into the shift): 3 bytes an entry (2 the last) where each
// call's mov cl, n took 2. A count called from one place takes none: that
// call sets cl itself, mov cl, n; call rshr, 5 bytes where the entry and
// its call take 6. Where the code before it ends in a jump to an entry
// (the last mac2 routine's), that entry comes first and the jump goes: the
// routine falls into it, 2 bytes fewer.
func (g *gen) rshrEntries() {
	if len(g.rshrShifts) == 0 {
		return
	}
	uses := map[int64]int{}
	for _, in := range g.prog.Insts() {
		if n, ok := rshrTarget(in); ok {
			uses[n]++
		}
	}
	falls := int64(-1)
	if in, ok := g.prog.Last(); ok && in.Op == x86.JMP {
		if n, ok := rshrTarget(in); ok && uses[n] >= 2 && g.rshrShifts[n] {
			falls = n // an entry: the jump stays one of its uses below
		}
	}
	g.prog.Expand(func(in x86.Inst) []x86.Inst {
		if n, ok := rshrTarget(in); ok && uses[n] == 1 {
			return []x86.Inst{{Op: x86.MOV, Args: []x86.Operand{x86.CL, x86.Imm(n)}}, {Op: in.Op, Args: []x86.Operand{x86.Label(rshrRoutine)}}}
		}
		return nil
	})
	ns := slices.DeleteFunc(slices.Sorted(maps.Keys(g.rshrShifts)), func(n int64) bool {
		return n == 0 || uses[n] == 1 || n == falls // the shift by cl, counts called once, and the first
	})
	if falls >= 0 {
		g.prog.DropLast()
		ns = slices.Insert(ns, 0, falls)
	}
	g.prog.Mark(rshrRoutine)
	for i, n := range ns {
		g.prog.Label(rshrEntry(n))
		g.i(x86.MOV, x86.CL, x86.Imm(n))
		if i < len(ns)-1 {
			g.prog.DB(0x3d)
		}
	}
	g.prog.Label(rshrRoutine)
	g.i(x86.SHRD, x86.EAX, x86.EDX, x86.CL)
	g.i(x86.ADC, x86.EAX, x86.Imm(0))
	g.i(x86.RET)
}

// rshrTarget is the count of the rshrRoutine entry that a call (or a
// jump) in goes to.
func rshrTarget(in x86.Inst) (int64, bool) {
	if in.Op != x86.CALL && in.Op != x86.JMP || len(in.Args) != 1 {
		return 0, false
	}
	l, ok := in.Args[0].(x86.Label)
	if !ok || !strings.HasPrefix(string(l), rshrRoutine+".") {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(string(l), rshrRoutine+"."), 10, 64)
	return n, err == nil
}

// callRshr selects in, a rounding shift of an i64 to its low dword, as a
// call of rshrRoutine: at its entry for a count of n (call rshr.n, 3
// bytes where shrd, adc take 9), or with n 0 the routine itself after a
// clc, its count already in cl (4 bytes for clc, shrd, adc).
func (k *kernel) callRshr(in *lir.Inst, n int64) {
	k.i(x86.MOV, x86.EAX, k.src(in.A))
	k.i(x86.MOV, x86.EDX, k.srcHi(in.A))
	k.callRshrEAX(n)
	k.i(x86.MOV, k.dst(in.Dst), x86.EAX)
}

// callRshrEAX calls rshrRoutine's entry for n on edx:eax (n 0: the
// routine itself after a clc, by cl).
func (k *kernel) callRshrEAX(n int64) {
	at, reads, clobbers := rshrEntry(n), rshrReads, rshrClobbers
	if n >= 1 && n <= 16 {
		reads = rshrReadsLow
	}
	if n == 0 {
		k.i(x86.CLC)
		at, reads, clobbers = rshrRoutine, rshrByCLReads, rshrByCLClobbers
	}
	k.i(x86.CALL, x86.Label(at))
	last := &k.k.Items[len(k.k.Items)-1]
	last.Reads, last.Clobbers = reads, clobbers
	k.rshrShifts[n] = true
}
