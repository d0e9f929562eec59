package lir

// addFlag makes the matmuls alike that fuse left two ways: those fused
// with the residual add after them add each row's value to what their
// destination holds (x[i] += W·h), the others store it. Each now stores
// through an if on a flag that it sets first, a constant, that adds what
// the destination held: 1 where it did, 0 where it did not. Outline then
// makes them one proc whose param the flag is, where two procs (or a
// proc and the adds' own) were before. A Func with matmuls of one kind
// only is left as it is.
func addFlag(f *Func) {
	type site struct {
		op   *Node
		rows *Node // the op's row loop
		at   int   // its store's place in the row loop's body
		load int   // an adder's load of the destination, -1 for a store
	}
	var sites []site
	adders := 0
	signed := false // an adder's load's: the form a store's load takes
	Walk(f.Body, func(n *Node) {
		if n.Kind != NOp || len(n.Body) == 0 {
			return
		}
		rows := n.Body[len(n.Body)-1]
		if rows.Kind != NLoop || !hasLoop(rows.Body) {
			return
		}
		at, load, ok := rowStore(rows)
		if !ok {
			return
		}
		if load >= 0 {
			adders++
			signed = rows.Body[load].Inst.Mem.Signed
		}
		sites = append(sites, site{n, rows, at, load})
	})
	if adders == 0 || adders == len(sites) {
		return
	}
	for _, s := range sites {
		var flag int64
		body := s.rows.Body
		st := body[s.at].Inst
		value := st.A
		r := f.NewReg(I32)
		if s.load >= 0 {
			flag = 1
			add := body[s.at-1].Inst
			value = add.A
			if add.A == body[s.load].Inst.Dst {
				value = add.B
			}
			r = add.Dst
		}
		// The value that forward gave the add through a copy.
		drop := -1
		for i := s.at - 1; i >= 0; i-- {
			if n := body[i]; n.Kind == NInst && n.Inst.Op == OpCopy && n.Inst.Dst == value && readsIn(s.rows, value) == 1 {
				drop, value = i, n.Inst.A
				break
			}
		}
		var nodes []*Node
		b := builder{f: f, cur: &nodes}
		c := b.c32(flag)
		s.op.Body = append(nodes, s.op.Body...)
		nodes = nil
		b.emit(Inst{Op: OpCopy, Dst: r, A: value, B: NoReg, C: NoReg})
		b.iff(c, func() {
			m := st.Mem
			m.Signed = signed
			b.set(r, OpAdd, b.load(I32, m), r)
		}, nil)
		b.store(st.Mem, r)
		var out []*Node
		for i, n := range body {
			switch {
			case i == s.at:
				out = append(out, nodes...)
			case s.load >= 0 && (i == s.load || i == s.at-1) || i == drop:
			default:
				out = append(out, n)
			}
		}
		s.rows.Body = out
	}
}

// rowStore finds, at the top of the row loop's body, its one store of a
// dword through the loop's index (the row's element) and, where the
// instruction before it adds a load of that element (ahead of it, no
// store between) to another value, that load; load is -1 where the store
// stores a value alone.
func rowStore(rows *Node) (at, load int, ok bool) {
	at = -1
	for i, n := range rows.Body {
		if n.Kind == NInst && n.Inst.Op == OpStore {
			if at >= 0 {
				return 0, 0, false
			}
			at = i
		}
	}
	if at < 0 {
		return 0, 0, false
	}
	st := rows.Body[at].Inst
	if st.Mem.Index != rows.Index || st.Mem.Base != NoReg || st.Mem.Width != 4 || st.Mem.Scale != 4 || rows.Step > 1 {
		return 0, 0, false
	}
	stores := 0
	Walk(rows.Body, func(n *Node) {
		if n.Kind == NInst && n.Inst.Op == OpStore || n.Kind == NCall {
			stores++
		}
	})
	if stores != 1 {
		return 0, 0, false
	}
	load = -1
	if at > 0 && rows.Body[at-1].Kind == NInst {
		add := rows.Body[at-1].Inst
		if add.Op == OpAdd && add.Dst == st.A && add.Dst != add.A && add.Dst != add.B {
			for i := at - 2; i >= 0; i-- {
				n := rows.Body[i]
				if n.Kind != NInst {
					break
				}
				if in := n.Inst; in.Op == OpLoad && (in.Dst == add.A || in.Dst == add.B) && in.Mem.Buf == st.Mem.Buf &&
					in.Mem.Index == st.Mem.Index && in.Mem.Base == NoReg && in.Mem.Disp == st.Mem.Disp && in.Mem.Width == 4 && in.Mem.Scale == 4 {
					load = i
					break
				}
			}
		}
	}
	if load >= 0 && readsIn(rows, rows.Body[load].Inst.Dst) != 1 {
		load = -1
	}
	return at, load, true
}
