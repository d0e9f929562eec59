package loopgen

import (
	"slices"

	x86 "tfc/codegen/x86_16"
	"tfc/regalloc"
)

// lodsDown: for size, lodsLoads' load whose pointer an add of minus the
// load's width steps later (a vector read from its end: argmax, which
// scans backwards so that the first of equal maxima wins with a
// non-strict compare), in a loop that runs no other string instruction
// and calls nothing, is lods with DF set: std before the loop's first
// pass and cld after its last (2 bytes), where `mov eax, [si]` and `add
// si, -4` took 6. The loop is its label and the jump back to it that is
// the label's last reader; every jump in it lands in it, so that it
// leaves only past its end. After allocation (k in physical registers).
func lodsDown(k *regalloc.Kernel) {
	at := map[string]int{}
	for i, it := range k.Items {
		if it.Label != "" {
			at[it.Label] = i
		}
	}
	for i, it := range k.Items {
		op, width, ok := lodsOf(it)
		if !ok {
			continue
		}
		m := it.Inst.Args[1].(x86.Mem)
		j := steppedAfter(k.Items, i, pointer(m), -width)
		if j == 0 {
			continue
		}
		top, end, ok := loopAround(k.Items, i, at)
		if !ok {
			continue
		}
		items := make([]regalloc.Item, 0, len(k.Items)+4)
		for n, x := range k.Items {
			if n == top {
				items = append(items, regalloc.Item{Inst: x86.Inst{Op: x86.STD}})
			}
			switch n {
			case j:
			case i:
				for _, in := range lods(op, width, m) {
					items = append(items, regalloc.Item{Inst: in})
				}
			default:
				items = append(items, x)
			}
			if n == end {
				items = append(items, regalloc.Item{Inst: x86.Inst{Op: x86.CLD}})
			}
		}
		k.Items = items
		lodsDown(k) // the indexes moved
		return
	}
}

// loopAround is the innermost loop around item i: its label's index and
// its jump back's, where no jump in it leaves it nor any jump outside
// enters it but at its label from inside, and nothing in it runs a
// string instruction or calls.
func loopAround(items []regalloc.Item, i int, at map[string]int) (top, end int, ok bool) {
	for top = i - 1; top >= 0; top-- {
		l := items[top].Label
		if l == "" {
			continue
		}
		end = -1
		for n, it := range items {
			if jumps(it.Inst.Op) && slices.Contains(it.Inst.LabelRefs(), l) {
				end = max(end, n)
				if n < top {
					end = -2
					break
				}
			}
		}
		if end < i {
			continue
		}
		for n := top; n <= end; n++ {
			in := items[n].Inst
			if items[n].Label != "" && n != top {
				// A label inside: reached from inside alone.
				for m, x := range items {
					if (m < top || m > end) && jumps(x.Inst.Op) && slices.Contains(x.Inst.LabelRefs(), items[n].Label) {
						return 0, 0, false
					}
				}
				continue
			}
			if n != i && stringOp(in.Op) || in.Op == x86.CALL || in.Op == x86.RET || in.Op == x86.INT {
				return 0, 0, false
			}
			if jumps(in.Op) {
				for _, l := range in.LabelRefs() {
					if t, own := at[l]; !own || t < top || t > end {
						return 0, 0, false
					}
				}
			}
		}
		return top, end, true
	}
	return 0, 0, false
}
