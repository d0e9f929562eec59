package lir

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// outline is the size policy's pass: code that several ops run alike,
// with other constants, loop counts and buffers, becomes one procedure
// that each calls with its own (the five matmuls of a Llama block, its
// three norms, its two ropes, the two halves of a store whose k and v lie
// apart). A unit is an op's whole body, or failing that one of its
// top-level loops; units with equal shapes form a group, and a group of
// two or more becomes a proc.
func outline(f *Func) {
	if f.Segmented && f.Segment == nil {
		return // no segments known: a proc could not reach what it is passed
	}
	groups := map[string][]*unit{}
	var order []string
	add := func(u *unit) {
		if u == nil {
			return
		}
		if groups[u.sig] == nil {
			order = append(order, u.sig)
		}
		groups[u.sig] = append(groups[u.sig], u)
	}
	var ops []*Node
	Walk(f.Body, func(n *Node) {
		if n.Kind == NOp {
			ops = append(ops, n)
		}
	})
	// Whole ops first.
	whole := map[*Node]bool{}
	for _, op := range ops {
		add(shapeOf(f, op, 0, len(op.Body)))
	}
	for _, sig := range order {
		if g := groups[sig]; len(g) > 1 {
			for _, u := range g {
				whole[u.op] = true
			}
		}
	}
	// Then the loops of the others.
	for _, op := range ops {
		if whole[op] || len(op.Body) == 1 {
			continue // (a body of one loop was a unit already)
		}
		for i, n := range op.Body {
			if n.Kind == NLoop {
				add(shapeOf(f, op, i, i+1))
			}
		}
	}
	// Replace from the last unit of each op backwards, so that indexes
	// into op bodies stay right.
	type site struct {
		u    *unit
		proc *Proc
		spec []param
	}
	var sites []site
	for _, sig := range order {
		g := groups[sig]
		if len(g) < 2 || g[0].insts < outlineMin {
			continue
		}
		if !whole[g[0].op] && g[0].whole() {
			continue // a whole op that found no twin
		}
		proc, spec := makeProc(f, g)
		if proc == nil {
			continue // more segments than fs and gs besides the activations' es
		}
		for _, u := range g {
			sites = append(sites, site{u, proc, spec})
		}
	}
	// Each op's units from its last, so that the others' indexes hold.
	sort.SliceStable(sites, func(i, j int) bool {
		return sites[i].u.op == sites[j].u.op && sites[i].u.from > sites[j].u.from
	})
	// Op by op in the order of sites (not a map's): replace makes
	// registers, numbered as it goes.
	byOp := map[*Node][]site{}
	var siteOps []*Node
	for _, s := range sites {
		if _, seen := byOp[s.u.op]; !seen {
			siteOps = append(siteOps, s.u.op)
		}
		byOp[s.u.op] = append(byOp[s.u.op], s)
	}
	for _, op := range siteOps {
		ss := byOp[op]
		sort.Slice(ss, func(i, j int) bool { return ss[i].u.from > ss[j].u.from })
		for _, s := range ss {
			s.u.replace(f, s.proc, s.spec)
		}
	}
}

// outlineMin is the fewest instructions a unit has for a call to pay:
// a residual add's loop (two loads, an add, a store) pays. With 8, every
// example was 12 to 152 bytes larger (`tfc size --gen loop`); with 3, no
// smaller than with 4.
const outlineMin = 4

// unit is a run of nodes of an op's body, Body[from:to], and its shape.
type unit struct {
	op       *Node
	from, to int
	sig      string
	consts   []int64 // every OpConst's value, in order
	counts   []int64 // every constant loop count, in order
	bufs     []*Buf  // every memory operand's buffer, in order
	disps    []int64 // and its displacement
	bases    []Reg   // and its base register
	free     []Reg   // registers read before written: from outside
	insts    int
}

func (u *unit) whole() bool { return u.from == 0 && u.to == len(u.op.Body) }

// shapeOf computes the shape of op.Body[from:to]: a signature with
// registers numbered by first use and constants, counts and buffers left
// out (recorded apart), or nil when the unit writes a register that code
// outside it reads.
func shapeOf(f *Func, op *Node, from, to int) *unit {
	u := &unit{op: op, from: from, to: to}
	local := map[Reg]int{}
	freeAt := map[Reg]int{}
	written := map[Reg]bool{}
	var sb strings.Builder
	reg := func(r Reg, write bool) {
		if r == NoReg {
			sb.WriteString("_ ")
			return
		}
		if n, ok := local[r]; ok {
			fmt.Fprintf(&sb, "r%d:%v ", n, f.Types[r])
		} else if n, ok := freeAt[r]; ok {
			fmt.Fprintf(&sb, "f%d:%v ", n, f.Types[r])
		} else if write {
			local[r] = len(local)
			fmt.Fprintf(&sb, "r%d:%v ", local[r], f.Types[r])
		} else {
			freeAt[r] = len(u.free)
			u.free = append(u.free, r)
			fmt.Fprintf(&sb, "f%d:%v ", freeAt[r], f.Types[r])
		}
		if write {
			written[r] = true
		}
	}
	// Buffers and displacements are left out: which accesses share a
	// pointer is the group's to decide (accessClasses).
	mem := func(m Mem) {
		if m.Buf == nil {
			sb.WriteString("[abs] ")
		} else {
			u.bufs = append(u.bufs, m.Buf)
			u.disps = append(u.disps, m.Disp)
			u.bases = append(u.bases, m.Base)
			sb.WriteString("[b ")
		}
		reg(m.Base, false)
		reg(m.Index, false)
		fmt.Fprintf(&sb, "*%d w%d s%v] ", m.Scale, m.Width, m.Signed)
	}
	var walk func(nodes []*Node)
	walk = func(nodes []*Node) {
		for _, n := range nodes {
			switch n.Kind {
			case NInst:
				in := &n.Inst
				u.insts++
				fmt.Fprintf(&sb, "%v.%d ", in.Op, in.Cond)
				for _, r := range []Reg{in.A, in.B, in.C} {
					reg(r, false)
				}
				switch in.Op {
				case OpConst:
					u.consts = append(u.consts, in.Imm)
				default:
					fmt.Fprintf(&sb, "#%d ", in.Imm)
				}
				if in.Op == OpLoad || in.Op == OpStore || in.Op == OpAddr {
					mem(in.Mem)
				}
				if in.Op == OpLookup {
					// Its table is the code's, not a param: code alike
					// looks up in one table.
					fmt.Fprintf(&sb, "@%s+%d ", in.Mem.Buf.Name, in.Mem.Disp)
				}
				if in.Op == OpMac2 {
					// Its tables too (verify), through its registers.
					for _, m := range in.mems() {
						fmt.Fprintf(&sb, "@%s+%d*%d ", m.Buf.Name, m.Disp, m.Scale)
						reg(m.Base, false)
						reg(m.Index, false)
					}
				}
				if in.Dst != NoReg {
					reg(in.Dst, true)
				}
				sb.WriteString(";")
			case NLoop:
				fmt.Fprintf(&sb, "loop%d ", n.Step)
				if n.Count == NoReg {
					u.counts = append(u.counts, n.CountImm)
					sb.WriteString("N ")
				} else {
					reg(n.Count, false)
				}
				reg(n.Index, true)
				sb.WriteString("{")
				walk(n.Body)
				sb.WriteString("}")
			case NIf:
				sb.WriteString("if ")
				reg(n.Cond, false)
				sb.WriteString("{")
				walk(n.Then)
				sb.WriteString("}{")
				walk(n.Else)
				sb.WriteString("}")
			default:
				u.sig = ""
				return
			}
		}
	}
	walk(op.Body[from:to])
	u.sig = sb.String()
	if u.sig == "" {
		return nil
	}
	// A unit must not hand values to code outside it: it writes none of
	// its free registers, and nothing after it reads its own.
	for _, r := range u.free {
		if written[r] {
			return nil
		}
	}
	escapes := false
	for _, n := range op.Body[to:] {
		Walk([]*Node{n}, func(x *Node) {
			if x.Kind == NInst {
				for _, r := range x.Inst.Reads() {
					if _, ok := local[r]; ok {
						escapes = true
					}
				}
			}
		})
	}
	if escapes {
		return nil
	}
	return u
}

// param is one parameter of an outlined proc: what each call passes.
type param struct {
	kind  int // paramFree, paramConst, paramCount, paramBuf
	index int // into the unit's free, consts, counts or bufs
	reg   Reg // the proc's register
}

const (
	paramFree = iota
	paramConst
	paramCount
	paramBuf
	paramSeg // the segment of a paramBuf's buffer (segmented)
)

// makeProc builds the proc of a group from its first unit: registers
// renamed, every constant, count and buffer that differs among the units
// a parameter. Segmented, a proc that would reach more than two
// segments besides the activations' (fs, gs) is not made: nil, and f as
// it was.
func makeProc(f *Func, g []*unit) (*Proc, []param) {
	// Memory accesses in classes: one pointer param a class, the
	// accesses' displacements relative to its first (classBase).
	class, classBase := accessClasses(g)
	plan, segs := segPlan(f, g, class, classBase)
	if segs > 2 {
		return nil, nil
	}
	t := g[0]
	varies := func(get func(u *unit) int64) bool {
		for _, u := range g[1:] {
			if get(u) != get(t) {
				return true
			}
		}
		return false
	}
	var spec []param
	rename := map[Reg]Reg{}
	for i, r := range t.free {
		p := f.NewReg(f.Types[r])
		rename[r] = p
		spec = append(spec, param{paramFree, i, p})
	}
	constParam := map[int]Reg{}
	for i := range t.consts {
		if varies(func(u *unit) int64 { return u.consts[i] }) {
			constParam[i] = NoReg // typed when its instruction is seen
		}
	}
	countParam := map[int]Reg{}
	countOnce := map[int]bool{} // every call's count is at least 1
	for i := range t.counts {
		if varies(func(u *unit) int64 { return u.counts[i] }) {
			p := f.NewReg(I32)
			countParam[i] = p
			spec = append(spec, param{paramCount, i, p})
			countOnce[i] = !slices.ContainsFunc(g, func(u *unit) bool { return u.counts[i] < 1 })
		}
	}
	bufParam := map[int]Reg{} // by class
	segBuf := map[int]*Buf{}  // by class, segmented: the segment it is reached through
	for a, c := range class {
		if c < 0 || a != classBase[c] {
			continue
		}
		p := f.NewReg(I32)
		bufParam[c] = p
		spec = append(spec, param{paramBuf, a, p})
		switch n, ok := plan[c]; {
		case ok && n == 0:
			r := f.NewReg(I32)
			spec = append(spec, param{paramSeg, a, r})
			segBuf[c] = &Buf{Name: fmt.Sprintf("proc%d.segment%d", len(f.Procs), c), Kind: BufSegment, Of: r}
			f.Bufs = append(f.Bufs, segBuf[c])
		case ok:
			segBuf[c] = segmentOf(f, n, t.bufs[a])
		}
	}
	proc := &Proc{Name: fmt.Sprintf("proc%d", len(f.Procs)), Calls: len(g)}
	nconst, ncount, naccess := 0, 0, 0
	re := func(r Reg) Reg {
		if r == NoReg {
			return NoReg
		}
		if n, ok := rename[r]; ok {
			return n
		}
		n := f.NewReg(f.Types[r])
		rename[r] = n
		return n
	}
	// A class whose one base is a pointer the unit sets from a constant
	// and steps has that pointer start at the param (at the constant
	// past it), and reads through it alone.
	absorbed := map[Reg]int{}
	for c := range classBase {
		if b, ok := pointerOf(t, class, c); ok {
			absorbed[b] = c
		}
	}
	// mem rewrites m; a buffer that varies is reached through its
	// pointer param, plus the old base in a new register if there was one.
	mem := func(m Mem, out *[]*Node) Mem {
		m.Base, m.Index = re(m.Base), re(m.Index)
		if m.Buf == nil {
			return m
		}
		a := naccess
		naccess++
		c := class[a]
		if c < 0 {
			return m // the same buffer and place in every unit
		}
		p := bufParam[c]
		m.Disp -= t.disps[classBase[c]]
		if _, ok := absorbed[t.bases[a]]; ok {
			m.Buf = segBuf[c]
			return m
		}
		if m.Base != NoReg {
			sum := f.NewReg(I32)
			*out = append(*out, &Node{Kind: NInst, Inst: Inst{Op: OpAdd, Dst: sum, A: p, B: m.Base, C: NoReg}})
			p = sum
		}
		m.Buf, m.Base = segBuf[c], p // flat: no buffer, p the address
		return m
	}
	var clone func(nodes []*Node) []*Node
	clone = func(nodes []*Node) []*Node {
		var out []*Node
		for _, n := range nodes {
			c := *n
			switch n.Kind {
			case NInst:
				in := n.Inst
				in.A, in.B, in.C = re(in.A), re(in.B), re(in.C)
				if in.Op == OpLoad || in.Op == OpStore || in.Op == OpAddr {
					in.Mem = mem(in.Mem, &out)
				}
				if in.Op == OpMac2 {
					for _, m := range in.mems() {
						m.Base, m.Index = re(m.Base), re(m.Index)
					}
				}
				in.Dst = re(in.Dst)
				if in.Op == OpConst {
					if _, ok := constParam[nconst]; ok {
						p := f.NewReg(f.Types[in.Dst])
						constParam[nconst] = p
						spec = append(spec, param{paramConst, nconst, p})
						in = Inst{Op: OpCopy, Dst: in.Dst, A: p, B: NoReg, C: NoReg}
					}
					nconst++
					if class, ok := absorbed[n.Inst.Dst]; ok {
						// The pointer starts at its param, plus the
						// constant (a copy or a param's) it started at.
						p := bufParam[class]
						if in.Op == OpConst && in.Imm == 0 {
							in = Inst{Op: OpCopy, Dst: in.Dst, A: p, B: NoReg, C: NoReg}
						} else {
							k := f.NewReg(I32)
							out = append(out, &Node{Kind: NInst, Inst: Inst{Op: in.Op, Dst: k, A: in.A, B: NoReg, C: NoReg, Imm: in.Imm}})
							in = Inst{Op: OpAdd, Dst: in.Dst, A: p, B: k, C: NoReg}
						}
					}
				}
				c.Inst = in
			case NLoop:
				c.Index = re(n.Index)
				c.Count = re(n.Count)
				if n.Count == NoReg {
					if p, ok := countParam[ncount]; ok {
						c.Count, c.Once = p, countOnce[ncount]
					}
					ncount++
				}
				c.Body = clone(n.Body)
			case NIf:
				c.Cond = re(n.Cond)
				c.Then, c.Else = clone(n.Then), clone(n.Else)
			}
			out = append(out, &c)
		}
		return out
	}
	proc.Body = clone(t.op.Body[t.from:t.to])
	for _, s := range spec {
		proc.Params = append(proc.Params, s.reg)
	}
	f.Procs = append(f.Procs, proc)
	return proc, spec
}

// pointerOf: the accesses of class c (accessClasses) in unit t all read
// through one base register b and no index, and b is a pointer: the
// unit sets it once from a constant, at its top, then only adds to it,
// and reads it nowhere else.
func pointerOf(t *unit, class []int, c int) (b Reg, ok bool) {
	b = NoReg
	for a, ca := range class {
		if ca != c {
			continue
		}
		if t.bases[a] == NoReg || b != NoReg && t.bases[a] != b {
			return NoReg, false
		}
		b = t.bases[a]
	}
	if b == NoReg {
		return NoReg, false
	}
	ok = true
	set := 0
	access := 0
	var walk func(nodes []*Node, top bool)
	walk = func(nodes []*Node, top bool) {
		for _, n := range nodes {
			switch n.Kind {
			case NInst:
				in := &n.Inst
				if in.Op == OpLoad || in.Op == OpStore || in.Op == OpAddr {
					if in.Mem.Buf != nil {
						if in.Mem.Index == b || in.Mem.Base == b && class[access] != c {
							ok = false
						}
						access++
					} else if in.Mem.Base == b || in.Mem.Index == b {
						ok = false
					}
				} else if slices.ContainsFunc(in.mems(), func(m *Mem) bool { return m.Base == b || m.Index == b }) {
					ok = false
				}
				step := in.Op == OpAdd && in.Dst == b && in.A == b && in.B != b
				if in.Dst == b && !step {
					ok = ok && top && set == 0 && in.Op == OpConst
					set++
				}
				if !step && (in.A == b || in.B == b || in.C == b) || step && in.C == b {
					ok = false
				}
			case NLoop:
				ok = ok && n.Count != b
				walk(n.Body, false)
			case NIf:
				ok = ok && n.Cond != b
				walk(n.Then, false)
				walk(n.Else, false)
			}
		}
	}
	walk(t.op.Body[t.from:t.to], true)
	return b, ok && set == 1
}

// segPlan says, for a group's proc in a segmented function, through which
// segment each class of its accesses goes (accessClasses' class and
// classBase): the number of the one segment its buffers lie in, in every
// unit, or 0 when that varies (the proc is passed the segment); and how
// many segment registers the proc needs besides the activations' (the
// fixed buffers' segments too).
func segPlan(f *Func, g []*unit, class, classBase []int) (plan map[int]int, regs int) {
	if !f.Segmented {
		return nil, 0
	}
	num := func(b *Buf) int {
		n, ok := f.Segment[b]
		if !ok {
			panic(fmt.Sprintf("BUG: lir: buffer %s in no segment", b.Name))
		}
		return n
	}
	plan = map[int]int{}
	fixed := map[int]bool{}
	for a, c := range class {
		n := num(g[0].bufs[a])
		switch {
		case c < 0:
			fixed[n] = true
		case a == classBase[c]:
			if slices.ContainsFunc(g, func(u *unit) bool { return num(u.bufs[a]) != n }) {
				n = 0
			}
			plan[c] = n
		}
	}
	for _, n := range plan {
		if n == 0 {
			regs++
		} else {
			fixed[n] = true
		}
	}
	delete(fixed, Activations) // its register is every kernel's
	delete(fixed, Zero)        // DS, every kernel's
	return plan, regs + len(fixed)
}

// segmentOf is the BufSegment of segment n, which b lies in, added to f
// the first time it is asked for.
func segmentOf(f *Func, n int, b *Buf) *Buf {
	for _, s := range f.Bufs {
		if s.Kind == BufSegment && f.Segment[s] == n {
			return s
		}
	}
	s := &Buf{Name: fmt.Sprintf("segment%d", n), Kind: BufSegment, Of: b}
	f.Bufs = append(f.Bufs, s)
	f.Segment[s] = n
	return s
}

// accessClasses partitions a group's memory accesses (by their index in
// the units' bufs): accesses that name the same buffer and place in every
// unit need no param (class -1); others share a pointer param when, in
// every unit, they name one buffer at displacements a fixed distance
// apart. classBase[c] is the first access of class c.
func accessClasses(g []*unit) (class, classBase []int) {
	t := g[0]
	class = make([]int, len(t.bufs))
	for a := range t.bufs {
		same := true
		for _, u := range g[1:] {
			same = same && u.bufs[a] == t.bufs[a] && u.disps[a] == t.disps[a]
		}
		if same {
			class[a] = -1
			continue
		}
		class[a] = len(classBase)
		for c, b := range classBase {
			joins := true
			for _, u := range g {
				joins = joins && u.bufs[a] == u.bufs[b] && u.disps[a]-u.disps[b] == t.disps[a]-t.disps[b]
			}
			if joins {
				class[a] = c
				break
			}
		}
		if class[a] == len(classBase) {
			classBase = append(classBase, a)
		}
	}
	return class, classBase
}

// replace puts a call of proc, with this unit's arguments, where the
// unit's nodes were.
func (u *unit) replace(f *Func, proc *Proc, spec []param) {
	var code []*Node
	emit := func(in Inst) Reg {
		code = append(code, &Node{Kind: NInst, Inst: in})
		return in.Dst
	}
	var args []Reg
	for _, s := range spec {
		switch s.kind {
		case paramFree:
			args = append(args, u.free[s.index])
		case paramConst:
			args = append(args, emit(Inst{Op: OpConst, Dst: f.NewReg(f.Types[s.reg]), A: NoReg, B: NoReg, C: NoReg, Imm: u.consts[s.index]}))
		case paramCount:
			args = append(args, emit(Inst{Op: OpConst, Dst: f.NewReg(I32), A: NoReg, B: NoReg, C: NoReg, Imm: u.counts[s.index]}))
		case paramBuf:
			m := Mem{Buf: u.bufs[s.index], Base: NoReg, Index: NoReg, Disp: u.disps[s.index]}
			args = append(args, emit(Inst{Op: OpAddr, Dst: f.NewReg(I32), A: NoReg, B: NoReg, C: NoReg, Mem: m}))
		case paramSeg:
			m := Mem{Buf: u.bufs[s.index], Base: NoReg, Index: NoReg}
			args = append(args, emit(Inst{Op: OpSeg, Dst: f.NewReg(I32), A: NoReg, B: NoReg, C: NoReg, Mem: m}))
		}
	}
	code = append(code, &Node{Kind: NCall, Proc: proc, Args: args})
	body := append([]*Node(nil), u.op.Body[:u.from]...)
	body = append(body, code...)
	u.op.Body = append(body, u.op.Body[u.to:]...)
}
