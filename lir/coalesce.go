package lir

// coalesce: an instruction whose result only the copy right after it
// reads, and nothing else writes, writes the copy's destination itself
// (`r477 = mul r126, r476; r474 = copy r477` becomes `r474 = mul r126,
// r476`), so that the allocator needs no move: llama2.tf's store of k
// and v, whose cache pointer a multiply starts and the loop steps (a
// `mov edi, esi` of 3 bytes). Every opcode computes its result from its
// operands alone, so that reading the destination before writing it is
// as it was.
func coalesce(f *Func) {
	uses, nd := useCounts(f), defs(f)
	var in func(nodes []*Node) []*Node
	in = func(nodes []*Node) []*Node {
		out := nodes[:0]
		for i := 0; i < len(nodes); i++ {
			n := nodes[i]
			n.Body, n.Then, n.Else = in(n.Body), in(n.Then), in(n.Else)
			if i+1 < len(nodes) && n.Kind == NInst && n.Inst.Dst != NoReg {
				c, r := nodes[i+1], n.Inst.Dst
				if c.Kind == NInst && c.Inst.Op == OpCopy && c.Inst.A == r && uses[r] == 1 && nd[r] == 1 && f.Types[c.Inst.Dst] == f.Types[r] {
					n.Inst.Dst = c.Inst.Dst
					i++
				}
			}
			out = append(out, n)
		}
		return out
	}
	for _, b := range f.Bodies() {
		*b = in(*b)
	}
}
