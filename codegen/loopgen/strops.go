package loopgen

import (
	"fmt"
	"maps"
	"slices"

	x86 "tfc/codegen/x86_16"
	"tfc/regalloc"
)

// lodsLoads: for size, a load into eax through si (esi with 32-bit
// addressing) at no displacement, sign-extending a byte or a word or
// reading a dword, whose pointer an add of the load's width steps later,
// nothing between touching the pointer nor any label, jump, string
// instruction or call but a routine's (steppedAfter), and the add's
// flags dead after it, is lods (then cbw, cwde): it steps the pointer
// itself, DF being clear (the boot sector's cld; nothing sets it). A word through esi: `a32 lodsw; cwde`,
// 4 bytes, for `movsx eax, word [esi]` and `add esi, 2`, 9 (llama2.tf's
// matmul rows and attention's dot products). After allocation (k in
// physical registers).
func lodsLoads(k *regalloc.Kernel) {
	drop := map[int]bool{}
	with := map[int][]x86.Inst{}
	for i, it := range k.Items {
		op, width, ok := lodsOf(it)
		if !ok {
			continue
		}
		m := it.Inst.Args[1].(x86.Mem)
		if j := steppedAfter(k.Items, i, pointer(m), width); j > 0 {
			with[i] = lods(op, width, m)
			drop[j] = true
		}
	}
	rewriteItems(k, drop, with)
}

// lods is the lods op of width (lodsOf's) that loads through m, its
// segment and address size m's, and the extension to a dword after it.
func lods(op x86.Op, width int, m x86.Mem) []x86.Inst {
	if m.Seg != x86.NoReg && m.Seg != x86.DS { // lods reads DS's by default
		op |= x86.SegOverride(m.Seg)
	}
	if m.Addr32 {
		op |= x86.A32
	}
	switch width {
	case 1:
		return []x86.Inst{{Op: op}, {Op: x86.CBW}, {Op: x86.CWDE}}
	case 2:
		return []x86.Inst{{Op: op}, {Op: x86.CWDE}}
	}
	return []x86.Inst{{Op: op}}
}

// indexBase: where a 16-bit address is one unscaled index alone
// (loneIndex), that register is its base (the two encode alike), so that
// lodsLoads takes a load through si there too: llama2-int8.tf's
// embedding, `movsx eax, byte [es:si]` and `inc si`, 6 bytes, becomes `es
// lodsb; cbw; cwde`, 5; the random examples' word embeddings, `es
// lodsw; cwde`, 3 bytes fewer (in physical, where last: after it, incTwice
// makes a step by 2 two incs, which lodsLoads does not take). For the
// kernel that finish chose only (physical's last, for its second
// Recolor's cost): run on every candidate, the greedy chain of variants
// chose a larger matmul proc for llama2-int8.tf (8 bytes more).
func indexBase(k *regalloc.Kernel) {
	for i, it := range k.Items {
		var args []x86.Operand // not in place: k may share them
		for a, o := range it.Inst.Args {
			if loneIndex(o) {
				if args == nil {
					args = slices.Clone(it.Inst.Args)
				}
				m := o.(x86.Mem)
				m.Base, m.Index, m.Scale = m.Index, x86.NoReg, 0
				args[a] = m
			}
		}
		if args != nil {
			k.Items[i].Inst.Args = args
		}
	}
}

// loneIndex: o is a 16-bit address through one unscaled index alone (its
// pointer, no base).
func loneIndex(o x86.Operand) bool {
	m, ok := o.(x86.Mem)
	return ok && !m.Addr32 && m.Base == x86.NoReg && pointer(m) != x86.NoReg
}

// steppedIndexLoad: k loads into a register through a lone index
// (loneIndex) that an add or inc steps later in the same block: what
// indexBase may let lodsLoads take, in some allocation of k.
func steppedIndexLoad(k *regalloc.Kernel) bool {
	for i, it := range k.Items {
		in := it.Inst
		if len(in.Args) != 2 || in.Op != x86.MOV && in.Op != x86.MOVSX || !loneIndex(in.Args[1]) {
			continue
		}
		r := in.Args[1].(x86.Mem).Index
		for _, nx := range k.Items[i+1:] {
			if nx.Label != "" || jumps(nx.Inst.Op) {
				break
			}
			if (nx.Inst.Op == x86.ADD || nx.Inst.Op == x86.INC) && len(nx.Inst.Args) > 0 && nx.Inst.Args[0] == x86.Operand(r) {
				return true
			}
		}
	}
	return false
}

// steppedAfter is the index of the add (or inc) after item i that steps
// ptr by width, where nothing between touches ptr nor is a label, jump,
// string instruction or call (but of a routine that neither reads nor
// writes ptr: rshr's), and the flags are dead after it; else 0.
func steppedAfter(items []regalloc.Item, i int, ptr x86.Reg, width int) int {
	for j := i + 1; j < len(items); j++ {
		nx := items[j]
		if nx.Label != "" || jumps(nx.Inst.Op) || nx.Inst.Op == x86.RET || stringOp(nx.Inst.Op) {
			return 0
		}
		if callTouches(nx, ptr) {
			return 0 // a proc's, or a routine's that reads or writes ptr
		}
		if addsImm(nx.Inst, ptr, width) {
			if flagsDeadAfter(items, j+1, true) {
				return j
			}
			return 0
		}
		if names(nx.Inst, ptr) {
			return 0
		}
	}
	return 0
}

// callTouches: it is a call that may read or write r's register: a
// proc's (its Clobbers nil: any register), or a routine's that names it
// among its Reads or Clobbers (rshr's do not name si or di).
func callTouches(it regalloc.Item, r x86.Reg) bool {
	return callWrites(it, r) || it.Inst.Op == x86.CALL && slices.ContainsFunc(it.Reads, func(x x86.Reg) bool { return gpr(x) == gpr(r) })
}

// callWrites: it is a call that may write r's register: a proc's (its
// Clobbers nil), or a routine's that names it among its Clobbers (mac2's
// reads bx and writes eax, ecx and edx).
func callWrites(it regalloc.Item, r x86.Reg) bool {
	return it.Inst.Op == x86.CALL && (it.Clobbers == nil || slices.ContainsFunc(it.Clobbers, func(x x86.Reg) bool { return gpr(x) == gpr(r) }))
}

// lodsOf is the lods that loads what it, a load into eax through si or
// esi at no displacement, loads (before any extension), and its width.
func lodsOf(it regalloc.Item) (x86.Op, int, bool) {
	in := it.Inst
	if it.Label != "" || len(in.Args) != 2 || in.Args[0] != x86.Operand(x86.EAX) {
		return 0, 0, false
	}
	m, ok := in.Args[1].(x86.Mem)
	if !ok || !through(m, x86.SI) {
		return 0, 0, false
	}
	switch {
	case in.Op == x86.MOVSX && m.Size == 8:
		return x86.LODSB, 1, true
	case in.Op == x86.MOVSX && m.Size == 16:
		return x86.LODSW, 2, true
	case in.Op == x86.MOV && (m.Size == 32 || m.Size == 0):
		return x86.LODSD, 4, true
	}
	return 0, 0, false
}

// addsImm: in adds n to r's register (in r's width or 16 bits: the
// pointer's offset), or increments it where n is 1.
func addsImm(in x86.Inst, r x86.Reg, n int) bool {
	if in.Op == x86.INC && len(in.Args) == 1 && n == 1 {
		d, isReg := in.Args[0].(x86.Reg)
		return isReg && gpr(d) == gpr(r) && (d == r || d.Size() == 16 && r.Size() == 16)
	}
	if in.Op != x86.ADD || len(in.Args) != 2 {
		return false
	}
	d, isReg := in.Args[0].(x86.Reg)
	c, isImm := in.Args[1].(x86.Imm)
	return isReg && isImm && int(c) == n && gpr(d) == gpr(r) && (d == r || d.Size() == 16 && r.Size() == 16)
}

// stringOp: op is a string instruction (it reads or steps si or di).
func stringOp(op x86.Op) bool {
	switch op.Base() {
	case x86.LODSB, x86.LODSW, x86.LODSD, x86.STOSB, x86.STOSW, x86.STOSD, x86.MOVSB, x86.MOVSW, x86.MOVSD, x86.CMPSB, x86.CMPSW, x86.CMPSD, x86.SCASB, x86.SCASW, x86.SCASD, x86.PUSHA, x86.POPA:
		return true
	}
	return false
}

// stosStores: for size, a store of eax, ax or al through di (edi with
// 32-bit addressing) at no displacement, in ES's segment (named, or DS's
// where esIsDS: the flat model's activations in segment 0, where ES is 0
// as the boot hands it over), whose pointer an add of the store's width steps later,
// as lodsLoads's, is stos: `mov dword [di], eax` and `add di, 4`, 6
// bytes, become `stosd`, 2 (llama2.tf's matmul rows). A store of another
// register (its low byte, word or all of it) is an exchange with eax's
// first, where nothing reads either register after the store: `mov byte
// [edi], cl; inc edi`, 5 bytes, becomes `xchg ax, cx; a32 stosb`, 3 (the
// shift of llama2.tf's cache).
func stosStores(k *regalloc.Kernel, esIsDS bool) {
	live := lazyLive(k)
	drop := map[int]bool{}
	with := map[int][]x86.Inst{}
	for i, it := range k.Items {
		op, m, src, ok := stosOf(it, esIsDS)
		if !ok {
			continue
		}
		acc := gpr(src) == gpr(x86.EAX)
		if !acc && (live(i, x86.EAX) || live(i, src)) {
			continue // (or the analysis failed)
		}
		if j := steppedAfter(k.Items, i, pointer(m), m.Size/8); j > 0 {
			if m.Addr32 {
				op |= x86.A32
			}
			with[i] = []x86.Inst{{Op: op}}
			if !acc {
				a, r := x86.AX, sized(src, 16)
				if m.Size == 32 {
					a, r = x86.EAX, src
				}
				with[i] = slices.Insert(with[i], 0, x86.Inst{Op: x86.XCHG, Args: []x86.Operand{a, r}})
			}
			drop[j] = true
		}
	}
	rewriteItems(k, drop, with)
}

// stosOf is the stos that stores what it stores, its memory operand and
// the register it stores (a general register's low byte, word or all).
func stosOf(it regalloc.Item, esIsDS bool) (x86.Op, x86.Mem, x86.Reg, bool) {
	in := it.Inst
	if it.Label != "" || in.Op != x86.MOV || len(in.Args) != 2 {
		return 0, x86.Mem{}, x86.NoReg, false
	}
	m, ok := in.Args[0].(x86.Mem)
	if !ok || !alone(m, x86.DI) || !(m.Seg == x86.ES || (m.Seg == x86.NoReg || m.Seg == x86.DS) && esIsDS) {
		return 0, x86.Mem{}, x86.NoReg, false
	}
	r, isReg := in.Args[1].(x86.Reg)
	if !isReg || gpr(r) < 0 || gpr(r) == gpr(x86.EDI) {
		return 0, x86.Mem{}, x86.NoReg, false
	}
	if v, ok := regalloc.View(gpr(r), r.Size()); !ok || v != r {
		return 0, x86.Mem{}, x86.NoReg, false // ah, bh, ch, dh
	}
	m.Size = r.Size()
	switch r.Size() {
	case 32:
		return x86.STOSD, m, r, true
	case 16:
		return x86.STOSW, m, r, true
	case 8:
		return x86.STOSB, m, r, true
	}
	return 0, x86.Mem{}, x86.NoReg, false
}

// through: m is the address in r alone, its base (si or di; esi or edi
// with 32-bit addressing), for lods. Not as the index, which the
// selection gives a lone register too (the embedding's row, [es:si]):
// lods there made the allocations of llama2-int8.tf 3 bytes larger,
// others 1 to 3 smaller (`tfc size --gen loop`; tried again with stos's
// change: llama2-int8.tf 8 bytes larger, mha-random.tf 6). stos takes
// either (alone): the matmul's store through [di] in the flat model, 3
// bytes fewer.
func through(m x86.Mem, r x86.Reg) bool {
	return m.Index == x86.NoReg && alone(m, r)
}

// alone: m is the address in r alone, its base or an unscaled index with
// no base (the allocator may leave a lone register in either).
func alone(m x86.Mem, r x86.Reg) bool {
	if m.Disp != 0 || m.Label != "" {
		return false
	}
	p := pointer(m)
	return p == r && !m.Addr32 || p == sized(r, 32) && m.Addr32
}

// pointer is the one register that m addresses through, its base or an
// unscaled index with no base (the allocator may leave a lone register
// in either), else NoReg.
func pointer(m x86.Mem) x86.Reg {
	switch {
	case m.Index == x86.NoReg:
		return m.Base
	case m.Base == x86.NoReg && m.Scale <= 1:
		return m.Index
	}
	return x86.NoReg
}

// stepStrings: for size, a 16-bit pointer's step by 4 or 2 where nothing
// reads the flags after is a string instruction's: di by scasd or scasw
// (2 or 1 byte, where the add takes 3), which compares eax with es:[di];
// si by lodsd or lodsw where nothing reads eax after. The flat model's
// 4 GiB limits let them read wherever the pointer points; segmented
// (flat false), the pointer is a multiple of 4 there (regalloc.Aligned),
// so that the read ends in its 64 KiB segment (scasd at di 0xfffe
// faults in real mode).
func stepStrings(k *regalloc.Kernel, flat bool) {
	// The steps first: most kernels have none, and need no liveness.
	var steps []int
	for i, it := range k.Items {
		in := it.Inst
		if it.Label != "" || in.Op != x86.ADD || len(in.Args) != 2 {
			continue
		}
		n, isImm := in.Args[1].(x86.Imm)
		if isImm && (n == 2 || n == 4) && stepOps[in.Args[0]][0] != 0 && flagsDeadAfter(k.Items, i+1, true) {
			steps = append(steps, i)
		}
	}
	if len(steps) == 0 {
		return
	}
	o := allocOptions()
	live, err := regalloc.LiveOut(k, o)
	if err != nil {
		return
	}
	aligned := func(int, x86.Reg) bool { return true }
	if !flat {
		if aligned, err = regalloc.Aligned(k, o); err != nil {
			return
		}
	}
	for _, i := range steps {
		in := k.Items[i].Inst
		p := in.Args[0].(x86.Reg)
		if p == x86.SI && live(i, x86.EAX) || !aligned(i, p) {
			continue
		}
		k.Items[i].Inst = x86.Inst{Op: stepOps[p][in.Args[1].(x86.Imm)/4]}
	}
}

// stepOps are the string instructions that step di or si by 2 and by 4.
var stepOps = map[x86.Operand][2]x86.Op{x86.DI: {x86.SCASW, x86.SCASD}, x86.SI: {x86.LODSW, x86.LODSD}}

// fillWords: for size, a fill of segment 0 in the segmented model (fill's
// rep stosd, with ES set to DS and back around it: `mov di, X; mov cx,
// N; xor eax, eax; push es; push ds; pop es; rep stosd; pop es`, 16
// bytes) zeroes a word at a time through DS instead, di counting up to 0
// (`xor ax, ax; mov di, -4N; mov [di+X+4N], ax; inc di; inc di; jne`: 12
// bytes where the displacement takes a byte, as attention's sums' does,
// 13 else). Where cx or di is read after (the loop leaves cx as it was and
// di 0) or the flags are, it stays; where eax is, the clear takes all of
// it. After allocation (k in physical registers).
func fillWords(k *regalloc.Kernel) {
	live := lazyLive(k)
	want := []x86.Inst{
		{Op: x86.MOV, Args: []x86.Operand{x86.DI, nil}}, {Op: x86.MOV, Args: []x86.Operand{x86.CX, nil}},
		{Op: x86.XOR, Args: []x86.Operand{x86.EAX, x86.EAX}}, {Op: x86.PUSH, Args: []x86.Operand{x86.ES}},
		{Op: x86.PUSH, Args: []x86.Operand{x86.DS}}, {Op: x86.POP, Args: []x86.Operand{x86.ES}},
		{Op: x86.REP | x86.STOSD}, {Op: x86.POP, Args: []x86.Operand{x86.ES}},
	}
	var out []regalloc.Item
	n := 0
	for i := 0; i < len(k.Items); i++ {
		at, bytes, ok := fillAt(k.Items[i:], want)
		last := i + len(want) - 1
		if !ok || bytes > 0x8000 || live(last, x86.ECX) || live(last, x86.EDI) || !flagsDeadAfter(k.Items, last+1, true) {
			out = append(out, k.Items[i])
			continue
		}
		zero := x86.AX
		if live(last, x86.EAX) {
			zero = x86.EAX
		}
		n++
		top := fmt.Sprintf("%s.fill%d", k.Name, n)
		for _, in := range []x86.Inst{
			{Op: x86.XOR, Args: []x86.Operand{zero, zero}},
			{Op: x86.MOV, Args: []x86.Operand{x86.DI, x86.Imm(-bytes)}},
		} {
			out = append(out, regalloc.Item{Inst: in})
		}
		out = append(out, regalloc.Item{Label: top})
		for _, in := range []x86.Inst{
			{Op: x86.MOV, Args: []x86.Operand{x86.W(x86.Mem{Base: x86.DI, Disp: int32(int16(at + uint16(bytes)))}), x86.AX}},
			{Op: x86.INC, Args: []x86.Operand{x86.DI}}, {Op: x86.INC, Args: []x86.Operand{x86.DI}},
			{Op: x86.JNE, Args: []x86.Operand{x86.Label(top)}},
		} {
			out = append(out, regalloc.Item{Inst: in})
		}
		i = last
	}
	k.Items = out
}

// fillAt matches items' first instructions against want, fillWords's
// pattern (nil operands: the immediates it takes), with no label among
// them: the fill's start and its length in bytes.
func fillAt(items []regalloc.Item, want []x86.Inst) (uint16, int64, bool) {
	if len(items) < len(want) {
		return 0, 0, false
	}
	var imms []int64
	for j, w := range want {
		it := items[j]
		if it.Label != "" || it.Inst.Op != w.Op || len(it.Inst.Args) != len(w.Args) {
			return 0, 0, false
		}
		for a, arg := range w.Args {
			if arg == nil {
				imm, isImm := it.Inst.Args[a].(x86.Imm)
				if !isImm {
					return 0, 0, false
				}
				imms = append(imms, int64(imm))
			} else if it.Inst.Args[a] != arg {
				return 0, 0, false
			}
		}
	}
	return uint16(imms[0]), 4 * imms[1], imms[1] > 0
}

// lazyLive is regalloc.LiveOut for k, computed at its first question (the
// analysis costs more than most kernels' patterns): where the analysis
// fails, every register is live.
func lazyLive(k *regalloc.Kernel) func(i int, r x86.Reg) bool {
	var live func(i int, r x86.Reg) bool
	return func(i int, r x86.Reg) bool {
		if live == nil {
			var err error
			if live, err = regalloc.LiveOut(k, allocOptions()); err != nil {
				live = func(int, x86.Reg) bool { return true }
			}
		}
		return live(i, r)
	}
}

// rewriteItems drops k's items at drop and puts instructions in place of
// those at with.
func rewriteItems(k *regalloc.Kernel, drop map[int]bool, with map[int][]x86.Inst) {
	if len(drop) == 0 && len(with) == 0 {
		return
	}
	var out []regalloc.Item
	for i, it := range k.Items {
		switch {
		case drop[i]:
		case with[i] != nil:
			for _, in := range with[i] {
				out = append(out, regalloc.Item{Inst: in})
			}
		default:
			out = append(out, it)
		}
	}
	k.Items = out
}

// stringHints are the assignments (of virtuals, before allocation) that
// would let lodsLoads or stosStores take an access: a load into eax
// through esi, or a store of eax through edi, where an add of the
// access's width steps its pointer (alone in the address) later in the
// same block. Recolor tries each (regalloc.Options.Hints).
func stringHints(items []regalloc.Item) []map[int]x86.Reg {
	var hs []map[int]x86.Reg
	for i, it := range items {
		in := it.Inst
		if it.Label != "" || len(in.Args) != 2 || in.Op != x86.MOV && in.Op != x86.MOVSX {
			continue
		}
		val, mem, to := in.Args[0], in.Args[1], x86.ESI
		if _, store := val.(x86.Mem); store && in.Op == x86.MOV {
			val, mem, to = mem, val, x86.EDI
		}
		v, okV := val.(x86.Reg)
		m, okM := mem.(x86.Mem)
		if !okV || !okM || !regalloc.IsVirtual(v) {
			continue
		}
		p := pointer(m) // NoReg unless one register, unscaled
		vn, _ := regalloc.Number(v)
		pn, okP := regalloc.Number(p)
		if !okP || vn == pn || m.Size == 0 {
			continue
		}
		for _, nx := range items[i+1:] {
			if nx.Label != "" || jumps(nx.Inst.Op) {
				break
			}
			if stepsVirtual(nx.Inst, pn, int(m.Size)/8) || to == x86.ESI && stepsVirtual(nx.Inst, pn, -int(m.Size)/8) {
				h := map[int]x86.Reg{vn: x86.EAX, pn: to}
				if !slices.ContainsFunc(hs, func(o map[int]x86.Reg) bool { return maps.Equal(o, h) }) {
					hs = append(hs, h) // Recolor would try it again for nothing
				}
				break
			}
		}
	}
	return hs
}

// stepsVirtual: in adds n to virtual register number v (or increments it
// where n is 1). addsImm compares general registers, which virtuals are
// not.
func stepsVirtual(in x86.Inst, v, n int) bool {
	if len(in.Args) == 0 {
		return false
	}
	d, isReg := in.Args[0].(x86.Reg)
	if w, ok := regalloc.Number(d); !isReg || !ok || w != v {
		return false
	}
	if in.Op == x86.INC && len(in.Args) == 1 {
		return n == 1
	}
	c, isImm := arg(in, 1).(x86.Imm)
	return in.Op == x86.ADD && isImm && int(c) == n
}
