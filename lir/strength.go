package lir

import (
	"fmt"
	"maps"
	"slices"
)

// strength is strength reduction, in the size policy's procedures: an
// address in a loop that moves by a fixed amount each pass (the loop's
// index, scaled, plus what the loop does not change) is read through a
// pointer of its own, set before the loop and stepped at the end of its
// body. The instructions that computed the address each pass then have
// no readers (dce), nor do the registers they kept alive: in a matmul,
// the row's offset (a multiply a row) and the vector's base give way to
// a pointer into the weights, which the row loop steps too. A pointer
// pays only where two instructions or more a pass computed the address
// for it alone: [x + i*4] costs nothing, and a pointer that replaces one
// add only adds a register that lives across the loop, except where the
// address is a base register and the index scaled, which only a 32-bit
// address holds (its prefix and SIB byte each pass: the matmul's result,
// -16 bytes llama2-int8.tf, `tfc size --gen loop`). In the ops'
// bodies outside procedures (attention's nested loops), the pointers'
// registers cost more spill code than they saved (1 to 11 bytes more in
// each example, measured; 3 to 6 with innermost loops only), so it
// leaves them alone.
func strength(f *Func) {
	r := newReducer(f)
	for _, p := range f.Procs {
		p.Body = r.in(p.Body)
	}
}

// newReducer is a reducer of f, which knows f's constants.
func newReducer(f *Func) *reducer {
	return &reducer{f: f, konst: constants(f), inits: map[*Inst]bool{}}
}

// reducer is strength's state: the constants of the Func before it, and
// the instructions that set an inner loop's pointer before it (an outer
// loop may step them as it steps its own addresses: a matmul's row).
type reducer struct {
	f     *Func
	konst map[Reg]int64
	inits map[*Inst]bool
	// continued: an inner loop's pointer continued from pass to pass.
	continued bool
	// rows' modes: only, an outer loop takes no pointer but those that
	// continue; outer, the registers an outer loop writes, of which an
	// inner loop's pointer that may continue starts from one. at names
	// the inner loop (its place in the outer's body), madeBy the group
	// (at and its key) each such pointer's first value came from,
	// continues those the outer loop continued, and allow, where not
	// nil, the groups that may take one.
	only      bool
	outer     map[Reg]bool
	at        string
	madeBy    map[*Inst]string
	continues map[string]bool
	allow     map[string]bool
}

// liveUses is useCounts without the readers that are dead code: an
// inner loop's address computations, which its pointer replaced and
// dce has not yet removed.
func liveUses(f *Func) []int {
	u := useCounts(f)
	dead := map[*Inst]bool{}
	for changed := true; changed; {
		changed = false
		walkAll(f, func(n *Node) {
			in := &n.Inst
			if n.Kind != NInst || dead[in] || in.Dst == NoReg || !removable(in) || u[in.Dst] > 0 {
				return
			}
			dead[in], changed = true, true
			for _, r := range in.Reads() {
				u[r]--
			}
		})
	}
	return u
}

// lin is a linear form over registers the loop does not change:
// k + Σ terms[r]·r.
type lin struct {
	k     int64
	terms map[Reg]int64
}

func (a lin) plus(b lin, mul int64) lin {
	s := lin{k: a.k + mul*b.k, terms: map[Reg]int64{}}
	for r, m := range a.terms {
		s.terms[r] += m
	}
	for r, m := range b.terms {
		s.terms[r] += mul * m
	}
	for r, m := range s.terms {
		if m == 0 {
			delete(s.terms, r)
		}
	}
	return s
}

func (a lin) zero() bool { return a.k == 0 && len(a.terms) == 0 }

// regs are a's registers in order.
func (a lin) regs() []Reg { return slices.Sorted(maps.Keys(a.terms)) }

// times is a·b, when one of them is a constant.
func (a lin) times(b lin) (lin, bool) {
	switch {
	case len(b.terms) == 0:
		return lin{}.plus(a, b.k), true
	case len(a.terms) == 0:
		return lin{}.plus(b, a.k), true
	}
	return lin{}, false
}

func (a lin) key() string {
	s := fmt.Sprint(a.k)
	for _, r := range a.regs() {
		s += fmt.Sprintf(" %d*%d", a.terms[r], r)
	}
	return s
}

// affine is a value that is coef·index + base.
type affine struct{ coef, base lin }

func (a affine) plus(b affine, mul int64) affine {
	return affine{a.coef.plus(b.coef, mul), a.base.plus(b.base, mul)}
}

// times is a·b, when the product is affine: one of them a constant, or
// one invariant and the other's coefficient a constant.
func (a affine) times(b affine) (affine, bool) {
	if !a.coef.zero() && !b.coef.zero() {
		return affine{}, false
	}
	if a.coef.zero() {
		a, b = b, a // b invariant
	}
	c, ok1 := a.coef.times(b.base)
	d, ok2 := a.base.times(b.base)
	return affine{c, d}, ok1 && ok2
}

// key is the pointer an affine address can share with others: the same
// terms and step (their constants differ, and their buffers: a pointer
// is an offset, which each access adds to its own buffer's place).
func (a affine) key() string {
	base := a.base
	base.k = 0
	return fmt.Sprintf("%s | %s", a.coef.key(), base.key())
}

// moving is a memory operand of a loop's body outside its inner loops,
// or the first value of an inner loop's pointer, with its address.
type moving struct {
	m  *Mem  // an operand's address, or
	in *Inst // an inner loop's pointer's first value
	a  affine
}

// in rewrites the loops among nodes, inner ones first.
func (rd *reducer) in(nodes []*Node) []*Node {
	var out []*Node
	for _, n := range nodes {
		switch n.Kind {
		case NLayers, NOp:
			n.Body = rd.in(n.Body)
		case NIf:
			n.Then = rd.in(n.Then)
			n.Else = rd.in(n.Else)
		case NLoop:
			n.Body = rd.in(n.Body)
			out = append(out, rd.loop(n)...)
		}
		out = append(out, n)
	}
	return out
}

// loop gives loop n's moving addresses their pointers and returns the
// instructions that set them, to run before it.
func (rd *reducer) loop(n *Node) []*Node {
	// Counted again for each loop: an inner loop's pointer, and what
	// computes its first value before that loop, are new registers,
	// which an outer loop may step in their place.
	f, konst := rd.f, rd.konst
	nd, uses := defs(f), liveUses(f)
	written := loopWrites(n)
	def := map[Reg]*Inst{} // written once, at the top of the body
	for _, x := range n.Body {
		if x.Kind == NInst && x.Inst.Dst != NoReg && nd[x.Inst.Dst] == 1 {
			def[x.Inst.Dst] = &x.Inst
		}
	}
	var aff func(r Reg) (affine, bool)
	aff = func(r Reg) (affine, bool) {
		switch {
		case r == NoReg:
			return affine{}, true
		case r == n.Index:
			return affine{coef: lin{k: 1}}, true
		case f.Types[r] != I32:
			return affine{}, false
		}
		if c, ok := konst[r]; ok {
			return affine{base: lin{k: c}}, true
		}
		if !written[r] {
			return affine{base: lin{terms: map[Reg]int64{r: 1}}}, true
		}
		in := def[r]
		if in == nil {
			return affine{}, false
		}
		a, okA := aff(in.A)
		if !okA {
			return affine{}, false
		}
		switch in.Op {
		case OpAdd, OpSub:
			b, okB := aff(in.B)
			mul := int64(1)
			if in.Op == OpSub {
				mul = -1
			}
			return a.plus(b, mul), okB
		case OpShlI:
			return affine{}.plus(a, 1<<in.Imm), true
		case OpMul:
			if b, okB := aff(in.B); okB {
				return a.times(b)
			}
		case OpCopy:
			return a, true
		}
		return affine{}, false
	}
	// chain counts the instructions of the body that compute r and
	// nothing else.
	var chain func(r Reg) int
	chain = func(r Reg) int {
		in := def[r]
		if in == nil {
			return 0
		}
		c := 1
		for _, o := range []Reg{in.A, in.B} {
			if o != NoReg && o != n.Index && written[o] && uses[o] == 1 {
				c += chain(o)
			}
		}
		return c
	}
	// The memory operands of the body outside its inner loops (theirs
	// are the inner loops' to reduce), with their addresses.
	groups := map[string][]moving{}
	var order []string
	// computed: the registers the loop writes (not the index) that a
	// group's addresses read, and how often.
	computed := map[string]map[Reg]int{}
	add := func(ac moving, regs ...Reg) {
		if ac.a.coef.zero() {
			return
		}
		k := ac.a.key()
		if groups[k] == nil {
			order = append(order, k)
			computed[k] = map[Reg]int{}
		}
		groups[k] = append(groups[k], ac)
		for _, r := range regs {
			if r != NoReg && r != n.Index && written[r] {
				computed[k][r]++
			}
		}
	}
	var scan func(nodes []*Node)
	scan = func(nodes []*Node) {
		for _, x := range nodes {
			switch x.Kind {
			case NIf:
				scan(x.Then)
				scan(x.Else)
			case NInst:
				if in := &x.Inst; rd.inits[in] {
					a, okA := aff(in.A)
					b, okB := aff(in.B)
					if okA && okB && (in.Op == OpAdd || in.Op == OpCopy) {
						add(moving{in: in, a: a.plus(b, 1)}, in.A, in.B)
					}
					continue
				}
				for _, m := range x.Inst.mems() {
					if x.Inst.Op == OpAddr || x.Inst.Op == OpSeg || m.Buf == nil && m.Base == NoReg {
						continue
					}
					base, ok1 := aff(m.Base)
					idx, ok2 := aff(m.Index)
					if ok1 && ok2 {
						add(moving{m: m, a: base.plus(idx, max(m.Scale, 1))}, m.Base, m.Index)
					}
				}
			}
		}
	}
	scan(n.Body)
	step := n.Step
	if step == 0 {
		step = 1
	}
	var pre []*Node
	// emit appends dst = op a, b (imm) to list; dst NoReg: a new one.
	emit := func(list *[]*Node, op Opcode, dst, a, b Reg, imm int64) Reg {
		if dst == NoReg {
			dst = f.NewReg(I32)
		}
		*list = append(*list, &Node{Kind: NInst, Inst: Inst{Op: op, Dst: dst, A: a, B: b, C: NoReg, Imm: imm}})
		return dst
	}
	// form computes a linear form's terms into a register (NoReg: none).
	form := func(l lin) Reg {
		p := NoReg
		for _, r := range l.regs() {
			t := r
			if m := l.terms[r]; m != 1 {
				if m > 0 && m&(m-1) == 0 {
					t = emit(&pre, OpShlI, NoReg, r, NoReg, int64(log2(m)))
				} else {
					t = emit(&pre, OpMul, NoReg, r, emit(&pre, OpConst, NoReg, NoReg, NoReg, m), 0)
				}
			}
			if p == NoReg {
				p = t
			} else {
				p = emit(&pre, OpAdd, NoReg, p, t, 0)
			}
		}
		return p
	}
	for _, k := range order {
		// A pointer pays where the registers the addresses computed are
		// read by nothing else, and took two instructions or more a
		// pass: they go, and the pointer's one add a pass takes their
		// place. Where one stays, the pointer would only add a register.
		pays := len(computed[k]) > 0
		gone := 0
		for r, n := range computed[k] {
			pays = pays && uses[r] == n
			gone += chain(r)
		}
		g := groups[k]
		a := g[0].a
		if rd.outer != nil {
			// rows: an inner loop's pointers that its outer loop may
			// continue, paying or not; rows tries again with those
			// that it continued alone.
			if !slices.ContainsFunc(a.base.regs(), func(r Reg) bool { return rd.outer[r] }) ||
				rd.allow != nil && !rd.allow[rd.at+k] {
				continue
			}
		} else if (!pays || gone < 2) && !sibOnly(g, n, uses) {
			continue
		}
		stepBy := lin{}.plus(a.coef, step)
		if g[0].in != nil && len(stepBy.terms) == 0 && !slices.ContainsFunc(g[1:], func(ac moving) bool { return ac.in != nil }) {
			if p, inner, ran, ok := innerRun(n, g[0].in, nd, konst); ok {
				// The inner loop's pointer continues: where its loop
				// leaves it is this pass's start plus what the loop ran
				// over, so it starts once, before this loop, and this
				// loop's step adds only what is left (rope's heads: 0).
				// The group's other accesses read through it, where it
				// is before the inner loop or after (a matmul's row
				// multiplier, after its weights).
				rd.continued = true
				if made, ok := rd.madeBy[g[0].in]; ok {
					rd.continues[made] = true
				}
				after := afterLoop(n, inner)
				for _, ac := range g[1:] {
					ac.m.Disp += ac.a.base.k - a.base.k
					if after[ac.m] {
						ac.m.Disp -= ran
					}
					ac.m.Base, ac.m.Index, ac.m.Scale = p, NoReg, 0
				}
				init := form(lin{terms: a.base.terms})
				switch {
				case init == NoReg:
					emit(&pre, OpConst, p, NoReg, NoReg, a.base.k)
				case a.base.k != 0:
					emit(&pre, OpAdd, p, init, emit(&pre, OpConst, NoReg, NoReg, NoReg, a.base.k), 0)
				default:
					emit(&pre, OpCopy, p, init, NoReg, 0)
				}
				rd.inits[&pre[len(pre)-1].Inst] = true
				delete(rd.inits, g[0].in)
				n.Body = slices.DeleteFunc(n.Body, func(x *Node) bool { return x.Kind == NInst && &x.Inst == g[0].in })
				if left := stepBy.k - ran; left != 0 {
					emit(&n.Body, OpAdd, p, p, emit(&pre, OpConst, NoReg, NoReg, NoReg, left), 0)
				}
				continue
			}
		}
		if rd.only {
			continue
		}
		// The pointer starts at the base's terms and each access reads
		// [buf + ptr + disp + base's constant]. A pointer that is a new
		// sum is that register; one that is a register the code has
		// already is a copy (the loop steps it).
		ptr := form(lin{terms: a.base.terms})
		switch {
		case ptr == NoReg:
			ptr = emit(&pre, OpConst, NoReg, NoReg, NoReg, 0)
		case len(pre) == 0 || pre[len(pre)-1].Inst.Dst != ptr:
			ptr = emit(&pre, OpCopy, NoReg, ptr, NoReg, 0)
		}
		rd.inits[&pre[len(pre)-1].Inst] = true
		if rd.outer != nil {
			rd.madeBy[&pre[len(pre)-1].Inst] = rd.at + k
		}
		for _, ac := range g {
			if ac.in != nil {
				// The inner pointer starts where this one is.
				*ac.in = Inst{Op: OpCopy, Dst: ac.in.Dst, A: ptr, B: NoReg, C: NoReg}
				if k := ac.a.base.k; k != 0 {
					*ac.in = Inst{Op: OpAdd, Dst: ac.in.Dst, A: ptr, B: emit(&pre, OpConst, NoReg, NoReg, NoReg, k), C: NoReg}
				}
				rd.inits[ac.in] = true
				continue
			}
			ac.m.Base, ac.m.Index, ac.m.Scale = ptr, NoReg, 0
			ac.m.Disp += ac.a.base.k
		}
		c := form(lin{terms: stepBy.terms})
		switch {
		case c == NoReg:
			c = emit(&pre, OpConst, NoReg, NoReg, NoReg, stepBy.k)
		case stepBy.k != 0:
			c = emit(&pre, OpAdd, NoReg, c, emit(&pre, OpConst, NoReg, NoReg, NoReg, stepBy.k), 0)
		}
		emit(&n.Body, OpAdd, ptr, ptr, c, 0)
	}
	return pre
}

// afterLoop: the memory operands of loop n's body that come after its
// inner loop (in it, or in what follows it).
func afterLoop(n, inner *Node) map[*Mem]bool {
	after := map[*Mem]bool{}
	past := false
	for _, x := range n.Body {
		past = past || x == inner
		if !past {
			continue
		}
		Walk([]*Node{x}, func(y *Node) {
			if y.Kind == NInst {
				for _, m := range y.Inst.mems() {
					after[m] = true
				}
			}
		})
	}
	return after
}

// innerRun: init sets the pointer p of an inner loop of n that runs a
// constant count and steps p by a constant once a pass, and nothing else
// in n writes or reads p; ran is how far that loop moves it.
func innerRun(n *Node, init *Inst, nd []int, konst map[Reg]int64) (p Reg, inner *Node, ran int64, ok bool) {
	p = init.Dst
	if nd[p] != 2 {
		return p, nil, 0, false
	}
	constant := func(r Reg) (int64, bool) {
		if c, ok := konst[r]; ok {
			return c, true
		}
		for _, x := range n.Body {
			if x.Kind == NInst && x.Inst.Dst == r && x.Inst.Op == OpConst && nd[r] == 1 {
				return x.Inst.Imm, true
			}
		}
		return 0, false
	}
	for _, x := range n.Body {
		if x.Kind != NLoop || x.Count != NoReg || x.CountImm <= 0 {
			continue
		}
		for _, y := range x.Body {
			if y.Kind == NInst && y.Inst.Op == OpAdd && y.Inst.Dst == p && y.Inst.A == p {
				if c, ok := constant(y.Inst.B); ok {
					inner, ran = x, x.CountImm*c
				}
			}
		}
	}
	if inner == nil {
		return p, nil, 0, false
	}
	for _, x := range n.Body {
		if x == inner {
			continue
		}
		read := false
		Walk([]*Node{x}, func(y *Node) {
			read = read || y.Kind == NInst && slices.Contains(y.Inst.Reads(), p) || y.Kind == NLoop && slices.Contains(y.LoopReads(), p)
		})
		if read {
			return p, nil, 0, false
		}
	}
	return p, inner, ran, true
}

// sibOnly: each access of g reads [base + index*scale] with a base
// register and the loop's index scaled, which 16-bit addressing cannot
// (a 32-bit address: its prefix and SIB byte), and nothing else reads
// the index.
func sibOnly(g []moving, n *Node, uses []int) bool {
	if n.Index == NoReg || uses[n.Index] != len(g) {
		return false
	}
	for _, ac := range g {
		if ac.m == nil || ac.m.Base == NoReg || ac.m.Index != n.Index || ac.m.Scale < 2 {
			return false
		}
	}
	return true
}
