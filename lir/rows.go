package lir

// rows is strength reduction's continuing pointers, in the ops' bodies
// before outline: a loop whose inner loop reads a buffer's row in order,
// through a pointer that ends where the next pass's row begins (less what
// the loop reads at the pointer after it: a matmul's row multiplier,
// stored after its weights), reads every row through that one pointer,
// set once before the loop. Outlined, a matmul then takes no row stride,
// nor the multipliers' place apart from the weights'. A loop nest whose
// pointer would not continue stays as it was: strength's other pointers,
// outside procedures, cost more spill code than they save.
func rows(f *Func) {
	rd := newReducer(f)
	any := false
	Walk(f.Body, func(op *Node) {
		if op.Kind != NOp {
			return
		}
		var body []*Node
		for i, n := range op.Body {
			if n.Kind != NLoop || !hasLoop(n.Body) {
				body = append(body, n)
				continue
			}
			c := cloneRenamed([]*Node{n}, nil)[0]
			op.Body[i] = c // (defs and uses count what f holds)
			rd.continued = false
			c.Body = rd.in(c.Body)
			pre := rd.loop(c)
			if !rd.continued {
				op.Body[i] = n
				body = append(body, n)
				continue
			}
			body = append(append(body, pre...), c)
			any = true
		}
		op.Body = body
	})
	if any {
		// The row arithmetic the pointer replaced goes before outline
		// sees it (its constants would be a proc's params).
		dce(f)
	}
}

// hasLoop: a loop is among nodes, at their top.
func hasLoop(nodes []*Node) bool {
	for _, n := range nodes {
		if n.Kind == NLoop {
			return true
		}
	}
	return false
}
