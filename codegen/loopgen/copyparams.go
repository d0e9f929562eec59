package loopgen

import (
	"slices"

	x86 "tfc/codegen/x86_16"
	"tfc/regalloc"
)

// copyParams: for size, where ES is DS, the params that a proc's
// prologue reads from its call's data only to store each in its own
// spill slot (lodsb; mov [slot], ax: 4 bytes a param) are copied from the
// data instead, packed at their data's widths where their slots were:
// `mov di, slot; movsw; movsw` (llama2.tf's matmul: its columns, add flag
// and rows, 12 bytes, become 5). A word read of a byte param becomes a
// movzx of its byte (1 byte more); a param that the proc reads or writes
// wider than its data otherwise keeps its moves. The slots must be one
// run of dwords, which the packed params then fit in, so that the proc's
// memory is the same. It reports whether it copied any.
func copyParams(k *regalloc.Kernel, from, to uint16) bool {
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
	if err != nil || live(last, x86.EDI) {
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
	for i, in := range edits {
		items[i].Inst = in
	}
	block := []regalloc.Item{{Inst: x86.Inst{Op: x86.MOV, Args: []x86.Operand{x86.DI, x86.Imm(int64(base))}}}}
	for n := total; n > 0; n -= 2 {
		op := x86.MOVSW
		if n == 1 {
			op = x86.MOVSB
		}
		block = append(block, regalloc.Item{Inst: x86.Inst{Op: op}})
	}
	k.Items = slices.Replace(items, first, last+1, block...)
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
