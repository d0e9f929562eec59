package lir

// reload reads a loaded i32 again from memory for each product after
// the first that reads it, in the same straight run, where nothing
// between writes that buffer or the address's registers: each load then
// has one reader, which selection makes imul's memory operand, and no
// register holds the value between its products (rope's a, b, cos and
// sin, each a factor of two products of four; a and b, of two mac2s).
func reload(f *Func) {
	type loaded struct {
		load Inst
		used bool
	}
	var run func(nodes []*Node) []*Node
	run = func(nodes []*Node) []*Node {
		var out []*Node
		live := map[Reg]*loaded{}
		for _, n := range nodes {
			if n.Kind != NInst {
				live = map[Reg]*loaded{}
				n.Body, n.Then, n.Else = run(n.Body), run(n.Then), run(n.Else)
				out = append(out, n)
				continue
			}
			in := &n.Inst
			if (in.Op == OpMulWide || in.Op == OpMac2) && in.A != in.B {
				for _, p := range []*Reg{&in.A, &in.B} {
					l := live[*p]
					if l == nil {
						continue
					}
					if !l.used {
						l.used = true
						continue
					}
					again := l.load
					again.Dst = f.NewReg(I32)
					out = append(out, &Node{Kind: NInst, Inst: again})
					*p = again.Dst
				}
			}
			if !in.pure() && in.Op != OpLoad && in.Op != OpMac2 { // those two only read memory
				for r, l := range live {
					// A load through an address alone (a proc's pointer)
					// may read any buffer a store names.
					if st := in.Stored(); st == nil || st.Buf == nil || st.Buf == l.load.Mem.Buf || l.load.Mem.Buf == nil {
						delete(live, r)
					}
				}
			}
			if in.Dst != NoReg {
				for r, l := range live {
					if r == in.Dst || l.load.Mem.Base == in.Dst || l.load.Mem.Index == in.Dst {
						delete(live, r)
					}
				}
			}
			if in.Op == OpLoad && in.Mem.Width == 4 && f.Types[in.Dst] == I32 {
				live[in.Dst] = &loaded{load: *in}
			}
			out = append(out, n)
		}
		return out
	}
	for _, b := range f.Bodies() {
		*b = run(*b)
	}
}
