package lir

import "slices"

// condAdd: a select of a value or 0 (s = select c, x, z, z a constant 0)
// that only the add right after it reads (d = add d, s, or add s, d)
// becomes an if on c that adds the value (if c { d = add d, x }): top-p
// sampling's sums of the probabilities above a threshold. x86 then jumps
// on the comparison's flags, where it moved both values into s, set the
// condition in a register and tested it (`cmp edx, eax; jbe; add edi,
// edx; adc ebp, 0`, 12 bytes, where mha-random.tf's sampler took 37). A
// pure instruction just before the select (past constants) whose result
// only the select reads, and written once (the value's extension to 64
// bits), moves into the if: the add takes it there.
func condAdd(f *Func) {
	uses, nd, konst := useCounts(f), defs(f), constants(f)
	var in func(nodes []*Node) []*Node
	in = func(nodes []*Node) []*Node {
		var out []*Node
		for i := 0; i < len(nodes); i++ {
			n := nodes[i]
			n.Body, n.Then, n.Else = in(n.Body), in(n.Then), in(n.Else)
			if i+1 >= len(nodes) || n.Kind != NInst || n.Inst.Op != OpSelect {
				out = append(out, n)
				continue
			}
			s, add := &n.Inst, &nodes[i+1].Inst
			z, isConst := konst[s.B]
			if nodes[i+1].Kind != NInst || add.Op != OpAdd || !isConst || z != 0 || uses[s.Dst] != 1 || nd[s.Dst] != 1 ||
				s.A == s.Dst || s.C == add.Dst || s.A == add.Dst {
				out = append(out, n)
				continue
			}
			d := NoReg
			switch {
			case add.A == s.Dst && add.B == add.Dst:
				d = add.B
			case add.B == s.Dst && add.A == add.Dst:
				d = add.A
			}
			if d == NoReg || f.Types[d] != f.Types[s.Dst] {
				out = append(out, n)
				continue
			}
			then := []*Node{{Kind: NInst, Inst: Inst{Op: OpAdd, Dst: d, A: d, B: s.A, C: NoReg}}}
			// The value's own instruction, where only the select reads it.
			j := len(out) - 1
			written := map[Reg]bool{} // by the constants it would move past
			for j >= 0 && out[j].Kind == NInst && out[j].Inst.Op == OpConst {
				written[out[j].Inst.Dst] = true
				j--
			}
			if j >= 0 && out[j].Kind == NInst && out[j].Inst.Dst == s.A && uses[s.A] == 1 && nd[s.A] == 1 && out[j].Inst.pure() &&
				!slices.ContainsFunc(out[j].Inst.Reads(), func(r Reg) bool { return written[r] }) {
				then = append([]*Node{out[j]}, then...)
				out = append(out[:j], out[j+1:]...)
			}
			out = append(out, &Node{Kind: NIf, Cond: s.C, Then: then})
			i++
		}
		return out
	}
	for _, b := range f.Bodies() {
		*b = in(*b)
	}
}
