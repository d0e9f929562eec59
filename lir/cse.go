package lir

import "fmt"

// cse finds pure instructions that compute what an instruction before
// them (in the same list or an enclosing one) computed already, from
// registers written once, and makes their readers read the first result.
func cse(f *Func) {
	nd := defs(f)
	same := map[Reg]Reg{}
	var scope func(nodes []*Node, seen map[string]Reg)
	scope = func(nodes []*Node, outer map[string]Reg) {
		seen := map[string]Reg{}
		for k, v := range outer {
			seen[k] = v
		}
		for _, n := range nodes {
			switch n.Kind {
			case NInst:
				in := &n.Inst
				renameReads(in, same)
				if !in.pure() || in.Dst == NoReg || nd[in.Dst] != 1 {
					continue
				}
				ok := true
				for _, r := range in.Reads() {
					ok = ok && nd[r] == 1
				}
				if !ok {
					continue
				}
				key := instKey(f, in)
				if r, dup := seen[key]; dup {
					same[in.Dst] = r
					continue
				}
				seen[key] = in.Dst
			case NLoop:
				if n.Count != NoReg {
					n.Count = rename(n.Count, same)
					if n.Limited() {
						n.Limit = rename(n.Limit, same)
					}
				}
				scope(n.Body, seen)
			case NIf:
				n.Cond = rename(n.Cond, same)
				scope(n.Then, seen)
				scope(n.Else, seen)
			case NCall:
				for i, a := range n.Args {
					n.Args[i] = rename(a, same)
				}
			default:
				scope(n.Body, seen)
			}
		}
	}
	for _, b := range f.Bodies() {
		scope(*b, nil)
	}
}

func rename(r Reg, same map[Reg]Reg) Reg {
	if s, ok := same[r]; ok {
		return s
	}
	return r
}

func renameReads(in *Inst, same map[Reg]Reg) {
	in.A, in.B, in.C = rename(in.A, same), rename(in.B, same), rename(in.C, same)
	in.Mem.Base, in.Mem.Index = rename(in.Mem.Base, same), rename(in.Mem.Index, same)
}

// instKey is what an instruction computes, for cse.
func instKey(f *Func, in *Inst) string {
	return fmt.Sprintf("%v %v %v %v %v %d %v %v %p %v %v %d %d", in.Op, f.Types[in.Dst], in.A, in.B, in.C, in.Imm, in.Cond,
		in.Op == OpAddr, in.Mem.Buf, in.Mem.Base, in.Mem.Index, in.Mem.Scale, in.Mem.Disp)
}
