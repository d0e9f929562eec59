package lir

import "fmt"

// rows is strength reduction's continuing pointers, in the ops' bodies
// before outline: a loop whose inner loop reads a buffer's row in order,
// through a pointer that ends where the next pass's row begins (less what
// the loop reads at the pointer after it: a matmul's row multiplier,
// stored after its weights), reads every row through that one pointer,
// set once before the loop. Outlined, a matmul then takes no row stride,
// nor the multipliers' place apart from the weights'. An inner loop's
// pointer that would not pay on its own is tried too, where it starts
// from what the outer loop changes: attention's keys and the store of k
// and v, whose shifts (LowerOptions.ShiftsInRows) it then reads and
// stores as well (llama2-int8.tf 14 bytes smaller, llama2.tf 31, `tfc
// size --gen loop`; flat, before the shifts moved into the rows, 3 to 6
// larger). Nothing else changes: an inner pointer that does not continue
// goes (a second try makes only those that did: the store's two loops
// over a head of k read it by index, 7 or 8 bytes fewer an example), and
// a loop nest whose pointer would not continue stays as it was, as
// strength's other pointers, outside procedures, cost more spill code
// than they save.
func rows(f *Func) {
	rd := newReducer(f)
	changed := false
	Walk(f.Body, func(op *Node) {
		if op.Kind == NOp {
			op.Body = rd.rowsIn(op.Body, &changed)
		}
	})
	if changed {
		// The row arithmetic the pointer replaced goes before outline
		// sees it (its constants would be a proc's params).
		dce(f)
	}
}

// rowsIn gives the loops among nodes (inner ones first) the pointers
// that continue, and returns nodes with what sets them before each.
func (rd *reducer) rowsIn(nodes []*Node, changed *bool) []*Node {
	var out []*Node
	for i, n := range nodes {
		switch n.Kind {
		case NIf:
			n.Then, n.Else = rd.rowsIn(n.Then, changed), rd.rowsIn(n.Else, changed)
		case NLoop:
			n.Body = rd.rowsIn(n.Body, changed)
			if !hasLoop(n.Body) {
				break
			}
			// A try on a copy, in f's place of n (defs and uses count
			// what f holds): its inner loops' pointers that start from
			// what n changes, then n's that continue them; then again
			// with only the inner pointers that continued.
			pre, c, some := rd.rowsTry(n, nodes, i, nil)
			if c == nil {
				break
			}
			if some != nil {
				if pre, c, _ = rd.rowsTry(n, nodes, i, some); c == nil {
					break // (not seen: what continued continues alone)
				}
			}
			out = append(out, pre...)
			n, *changed = c, true
		}
		out = append(out, n)
	}
	return out
}

// rowsTry tries loop n, which is nodes[i]: on a copy, in n's place, the
// pointers of n's inner loops (those allow names, where not nil), then
// n's that continue them. It returns what sets n's pointers and the
// copy, or nil where no pointer continued (n back in its place), and
// where only some of the inner pointers continued, which (an allow).
func (rd *reducer) rowsTry(n *Node, nodes []*Node, i int, allow map[string]bool) ([]*Node, *Node, map[string]bool) {
	c := cloneRenamed([]*Node{n}, nil)[0]
	nodes[i] = c
	rd.outer, rd.allow = loopWrites(c), allow
	rd.madeBy, rd.continues = map[*Inst]string{}, map[string]bool{}
	var body []*Node
	for j, x := range c.Body {
		if x.Kind == NLoop {
			rd.at = fmt.Sprintf("%d:", j)
			body = append(body, rd.loop(x)...)
		}
		body = append(body, x)
	}
	c.Body = body
	rd.outer, rd.allow, rd.only, rd.continued = nil, nil, true, false
	pre := rd.loop(c)
	rd.only = false
	if !rd.continued {
		nodes[i] = n
		return nil, nil, nil
	}
	if len(rd.continues) < len(rd.madeBy) {
		return pre, c, rd.continues
	}
	return pre, c, nil
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
