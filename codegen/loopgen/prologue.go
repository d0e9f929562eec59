package loopgen

import (
	"slices"

	x86 "tfc/codegen/x86_16"
	"tfc/regalloc"
)

// A proc whose constant arguments follow its calls as data reads them in
// its prologue (pop si, lods…, push si: args.go's params); the rewrites
// here keep what it stores of them in fewer bytes.

// copyParams: for size, the params that a proc's prologue reads from its
// call's data only to store each in its own spill slot (lodsb; mov
// [slot], ax: 4 bytes a param) are copied from the data instead, packed
// at their data's widths where their slots were: `mov di, 0x3800; movsw;
// movsw; movsw` (llama2.tf's matmul: its columns, add flag, rows and
// vector, 6 bytes where lods and stores took 16). A word read of a byte
// param becomes a movzx of its byte (1 byte more); a param that the proc
// reads or writes wider than its data otherwise keeps its moves. The
// slots must be one run of dwords, which the packed params then fit in,
// so that the proc's memory is the same. movs writes ES's segment: where ES is not DS
// (esIsDS false: the segmented model's activations), the copy sets ES
// to DS and back (push es; push ds; pop es … pop es, 4 bytes). Where
// that is smaller, or di is read after, and nothing reads eax after, it
// loads and stores the packed words instead (lodsw; mov [m], ax: 4 bytes
// a word, where movs takes 4, then 1 a word, 7 with the swap). Either
// only where it saves bytes. It reports whether it copied any.
func copyParams(k *regalloc.Kernel, from, to uint16, esIsDS bool) bool {
	items := k.Items
	start, end, ok := prologue(items)
	if !ok {
		return false
	}
	// The longest run of lods, store pairs.
	var best []copied
	for a := start + 1; a < end; a++ {
		run := storedParams(items, a, end, from, to)
		if len(run) > len(best) {
			best = run
		}
	}
	if len(best) < 2 {
		return false
	}
	first := best[0].at
	last := best[len(best)-1].at + 1
	live, err := regalloc.LiveOut(k, allocOptions())
	if err != nil {
		return false
	}
	base := best[0].slot
	for _, c := range best {
		base = min(base, c.slot)
	}
	// The slots' dwords are one run from base, and the packed params
	// at their offsets.
	off, total := map[uint16]int{}, 0
	for _, c := range best {
		off[c.slot] = total
		total += c.width
	}
	for j := range best {
		if !slices.ContainsFunc(best, func(c copied) bool { return c.slot == base+uint16(4*j) }) {
			return false
		}
	}
	width := map[uint16]int{}
	for _, c := range best {
		width[c.slot] = c.width
	}
	// Every other access to the slots, rewritten.
	edits := map[int]x86.Inst{}
	for i, it := range items {
		if i >= first && i <= last {
			continue
		}
		in, changed := it.Inst, false
		for j, a := range in.Args {
			m, isMem := a.(x86.Mem)
			s, own := ownSlot(m, from, to)
			w, ours := width[s]
			if !isMem || !own || !ours {
				continue
			}
			if uint16(m.Disp) != s || m.Size == 0 {
				return false
			}
			in.Args = slices.Clone(in.Args)
			m.Disp = int32(base) + int32(off[s])
			switch {
			case m.Size <= 8*w:
				in.Args[j] = m
			case in.Op == x86.MOV && j == 1 && w < 4:
				m.Size = 8 * w
				in.Op, in.Args[j] = x86.MOVZX, m
			default:
				return false
			}
			changed = true
		}
		if changed {
			edits[i] = in
		}
	}
	var block []x86.Inst
	if !live(last, x86.EDI) {
		block = movsCopy(base, total, esIsDS)
	}
	if !live(last, x86.EAX) {
		if l := lodsCopy(base, total); block == nil || instBytes(l...) < instBytes(block...) {
			block = l
		}
	}
	if block == nil {
		return false
	}
	var before, after []x86.Inst
	for _, it := range items[first : last+1] {
		before = append(before, it.Inst)
	}
	for i, in := range edits {
		before, after = append(before, items[i].Inst), append(after, in)
	}
	if instBytes(append(after, block...)...) >= instBytes(before...) {
		return false
	}
	for i, in := range edits {
		items[i].Inst = in
	}
	var copies []regalloc.Item
	for _, in := range block {
		copies = append(copies, regalloc.Item{Inst: in})
	}
	k.Items = slices.Replace(items, first, last+1, copies...)
	return true
}

// copied is a param of copyParams: the lods at item at and the store
// after it, of width bytes of the data into slot.
type copied struct {
	at    int
	width int
	slot  uint16
}

// storedParams is the run of lods and stores of ax or eax to a slot from
// item a, before end: the store of all the lods read (a byte or a word in
// ax, eax cleared before; a word or a dword).
func storedParams(items []regalloc.Item, a, end int, from, to uint16) []copied {
	var run []copied
	for i := a; i+1 < end; i += 2 {
		w := lodsWidth(items[i].Inst)
		m, r, isStore := slotStore(items[i+1])
		s, own := ownSlot(m, from, to)
		if w == 0 || !isStore || !own || gpr(r) != gpr(x86.EAX) || r.Size() < 8*w || uint16(m.Disp) != s {
			break
		}
		run = append(run, copied{at: i, width: w, slot: s})
	}
	return run
}

// prologuePair moves one param that a proc's prologue stores in its own
// spill slot, and that one later load takes back, to the stack (it
// reports whether): the prologue reads its params from the data after
// its call (pop si, lods…, push si), and the store comes before the
// return address goes back, which the push must follow. The push takes
// the param's register where nothing after the store writes it, else
// the param's bytes, which si still points past (push word [si-4]: 3
// bytes, where the store took 3 and the load 4, and the pop takes 1);
// where the proc read it from the next proc's data (peekArgs: mov ax,
// [si+8]) and nothing reads the register after, those bytes, the move
// gone. llama2.tf's norm (its destination, spilled across the square
// root).
func prologuePair(k *regalloc.Kernel, from, to uint16) bool {
	items := k.Items
	start, end, ok := prologue(items)
	if !ok {
		return false
	}
	// at: by item, the data's bytes from where the lods there read to
	// the end.
	at, left := map[int]int{}, 0
	for i := end - 1; i > start; i-- {
		if w := lodsWidth(items[i].Inst); w > 0 {
			left += w
			at[i] = left
		}
	}
	live, err := regalloc.LiveOut(k, allocOptions())
	if err != nil {
		return false
	}
	for i := start + 1; i < end; i++ {
		m, r, isStore := slotStore(items[i])
		s, own := ownSlot(m, from, to)
		if !isStore || !own || r.Size() != m.Size {
			continue
		}
		load, ok := onlyLoad(items, i, s, from, to)
		if !ok || !selfContained(items, end, load) {
			continue
		}
		var src x86.Operand = r
		if m, ok := siRead(items[i-1].Inst, r); ok && !siMoves(items, i+1, end) && !live(i, r) {
			// A param that the proc reads in the next proc's data
			// (peekArgs): pushed from there, its move gone.
			items[load].Inst = x86.Inst{Op: x86.POP, Args: []x86.Operand{items[load].Inst.Args[0]}}
			push := regalloc.Item{Inst: x86.Inst{Op: x86.PUSH, Args: []x86.Operand{m}}}
			k.Items = slices.Insert(items, end+1, push)
			k.Items = slices.Delete(k.Items, i-1, i+1)
			return true
		}
		if writtenBetween(items, i+1, end, r) {
			n, read := at[i-1]
			if !read || gpr(r) != gpr(x86.EAX) || 8*lodsWidth(items[i-1].Inst) < r.Size() {
				continue
			}
			src = x86.Mem{Size: r.Size(), Base: x86.SI, Disp: int32(-n)}
		}
		items[load].Inst = x86.Inst{Op: x86.POP, Args: []x86.Operand{items[load].Inst.Args[0]}}
		push := regalloc.Item{Inst: x86.Inst{Op: x86.PUSH, Args: []x86.Operand{src}}}
		k.Items = slices.Insert(items, end+1, push)
		k.Items = slices.Delete(k.Items, i, i+1)
		return true
	}
	return false
}

// prologue finds a proc's reading of its params from its call's data:
// the first item pops si, and end is the push of si that follows, with
// neither a label nor a jump between.
func prologue(items []regalloc.Item) (start, end int, ok bool) {
	for i, it := range items {
		in := it.Inst
		switch {
		case it.Label != "" || jumps(in.Op) || in.Op == x86.CALL || in.Op == x86.RET:
			return 0, 0, false
		case in.Op == x86.POP && len(in.Args) == 1 && in.Args[0] == x86.SI && i == 0:
		case i == 0:
			return 0, 0, false
		case in.Op == x86.PUSH && len(in.Args) == 1 && in.Args[0] == x86.SI:
			return 0, i, true
		}
	}
	return 0, 0, false
}

// onlyLoad is the one other item that names slot s, after the store at
// i: a load of the store's size into a general register.
func onlyLoad(items []regalloc.Item, i int, s, from, to uint16) (int, bool) {
	load := -1
	for j, it := range items {
		if j == i {
			continue
		}
		for _, a := range it.Inst.Args {
			if m, isMem := a.(x86.Mem); isMem {
				if t, own := ownSlot(m, from, to); own && t == s {
					if load >= 0 || j < i {
						return 0, false
					}
					load = j
				}
			}
		}
	}
	if load < 0 {
		return 0, false
	}
	in, st := items[load].Inst, items[i].Inst
	if in.Op != x86.MOV || len(in.Args) != 2 || in.Args[1] != st.Args[0] {
		return 0, false
	}
	r, isReg := in.Args[0].(x86.Reg)
	_, g := regalloc.Family(r)
	return load, isReg && g && r.Size() == st.Args[0].(x86.Mem).Size
}

// writtenBetween: an item from i up to end may write r's register: a
// lods (eax), a move, exchange, add or clear that names it, or any other
// instruction.
func writtenBetween(items []regalloc.Item, i, end int, r x86.Reg) bool {
	for _, it := range items[i:end] {
		in := it.Inst
		switch {
		case lodsWidth(in) > 0:
			if gpr(r) == gpr(x86.EAX) {
				return true
			}
		case in.Op == x86.MOV || in.Op == x86.MOVZX || in.Op == x86.XCHG || in.Op == x86.ADD || in.Op == x86.XOR:
			if names(in, r) {
				return true
			}
		default:
			return true
		}
	}
	return false
}

// siRead is the operand that in moves to r whole, where it is one that
// si addresses.
func siRead(in x86.Inst, r x86.Reg) (x86.Mem, bool) {
	if in.Op != x86.MOV || len(in.Args) != 2 || in.Args[0] != r {
		return x86.Mem{}, false
	}
	m, ok := in.Args[1].(x86.Mem)
	return m, ok && m.Base == x86.SI && m.Index == x86.NoReg && m.Seg == x86.NoReg && !m.Addr32 && m.Label == "" && m.Size == r.Size()
}

// siMoves: an item from i up to end may write si (a lods steps it).
func siMoves(items []regalloc.Item, i, end int) bool {
	for _, it := range items[i:end] {
		if lodsWidth(it.Inst) > 0 {
			return true
		}
	}
	return writtenBetween(items, i, end, x86.SI)
}

// lodsWidth is the bytes a lods reads (0: in is none).
func lodsWidth(in x86.Inst) int {
	switch in.Op {
	case x86.LODSB:
		return 1
	case x86.LODSW:
		return 2
	case x86.LODSD:
		return 4
	}
	return 0
}

// movsCopy copies total bytes of a call's data from si to base with movs
// (setting ES to DS and back around it where esIsDS is false).
func movsCopy(base uint16, total int, esIsDS bool) []x86.Inst {
	var block []x86.Inst
	if !esIsDS {
		block = append(block, x86.Inst{Op: x86.PUSH, Args: []x86.Operand{x86.ES}},
			x86.Inst{Op: x86.PUSH, Args: []x86.Operand{x86.DS}}, x86.Inst{Op: x86.POP, Args: []x86.Operand{x86.ES}})
	}
	block = append(block, x86.Inst{Op: x86.MOV, Args: []x86.Operand{x86.DI, x86.Imm(int64(base))}})
	for n := total; n > 0; n -= 2 {
		op := x86.MOVSW
		if n == 1 {
			op = x86.MOVSB
		}
		block = append(block, x86.Inst{Op: op})
	}
	if !esIsDS {
		block = append(block, x86.Inst{Op: x86.POP, Args: []x86.Operand{x86.ES}})
	}
	return block
}

// lodsCopy copies them through ax, a word (the last, odd, a byte) at a
// time: no segment register, and eax left as the last load wrote it.
func lodsCopy(base uint16, total int) []x86.Inst {
	var block []x86.Inst
	for off := 0; off < total; off += 2 {
		at := x86.Abs16(base + uint16(off))
		if total-off == 1 {
			block = append(block, x86.Inst{Op: x86.LODSB}, x86.Inst{Op: x86.MOV, Args: []x86.Operand{x86.B(at), x86.AL}})
			continue
		}
		block = append(block, x86.Inst{Op: x86.LODSW}, x86.Inst{Op: x86.MOV, Args: []x86.Operand{x86.W(at), x86.AX}})
	}
	return block
}
