package loopgen

import (
	"slices"

	x86 "tfc/codegen/x86_16"
	"tfc/lir"
	"tfc/regalloc"
)

// A proc that falls into another (chains) reads, after its own data, the
// data of the second proc's call, which follows at once. Where one of its
// inline arguments equals one of the second's at every call (a norm's
// destination, the matmul's input vector after it), its calls pass it no
// more: the proc reads the second's copy where it lies in that data
// (movzx, or mov for a dword, from [si+off]), which narrow then makes a
// word's mov. Each call saves the argument's bytes (llama2.tf's norm:
// 3 calls, a word each) for about 2 in the proc.

// peekArgs finds, for each chain a→b, the inline arguments of a that b's
// call passes too, at every pair of calls (pairs: a's call, the call of b
// that follows it), and has a read them there. The last proc of a chain
// goes first: a proc's offsets are final before the one before it reads
// them.
func (g *gen) peekArgs(c chains, pairs map[*lir.Proc][][2]*lir.Node) {
	procs := c.order(g.f.Procs)
	for x := len(procs) - 1; x >= 0; x-- {
		a, b := procs[x], c.next[procs[x]]
		if b == nil {
			continue
		}
		pa, pb := g.pass[a], g.pass[b]
		offset := dataOffsets(pb)
		for _, i := range slices.Clone(pa.order) {
			w := pa.args[i].width
			if len(pairs[a])*w <= 2 {
				continue // the proc's read takes about 2 bytes more than a lods
			}
			for _, j := range pb.order {
				if pb.args[j].width < w || !equalAtEveryPair(pairs[a], pa, pb, i, j) {
					continue
				}
				pa.args[i].peek, pa.args[i].at = true, offset[j]
				pa.order = slices.DeleteFunc(pa.order, func(x int) bool { return x == i })
				pa.data -= w
				pa.peeks = true
				break
			}
		}
	}
}

// equalAtEveryPair: argument i of a's calls equals argument j of b's at
// each pair of calls, neither an offset that its proc adds a slot to (an
// inline argument is a constant at every call: planPassing).
func equalAtEveryPair(pairs [][2]*lir.Node, pa, pb *passing, i, j int) bool {
	if pa.args[i].base != 0 || pb.args[j].base != 0 {
		return false
	}
	for _, p := range pairs {
		if pa.values[lastNode(p[0])][i] != pb.values[lastNode(p[1])][j] {
			return false
		}
	}
	return len(pairs) > 0
}

func lastNode(op *lir.Node) *lir.Node { return op.Body[len(op.Body)-1] }

// dataOffsets is, by param, where its bytes lie in a call's data.
func dataOffsets(pass *passing) map[int]int {
	off, at := map[int]int{}, 0
	for _, i := range pass.order {
		off[i] = at
		at += pass.args[i].width
	}
	return off
}

// peek reads param r (width bytes) where it lies in the next proc's
// data, off bytes past si (the end of this proc's).
func (k *kernel) peek(r lir.Reg, width, off int) {
	m := x86.Mem{Base: x86.SI, Disp: int32(off), Size: 8 * width}
	op := x86.MOVZX
	if width == 4 {
		op = x86.MOV
	}
	k.prologue = append(k.prologue, regalloc.Item{Inst: x86.Inst{Op: op, Args: []x86.Operand{k.dst(r), m}}})
}
