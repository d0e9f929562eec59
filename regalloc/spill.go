package regalloc

import (
	"fmt"
	"math"
	"reflect"
	"slices"

	x86 "tfc/codegen/x86_16"
)

// AllocateSpilling is Allocate for kernels that may need more registers
// than there are: while allocation fails, one virtual is spilled to a
// memory slot (slot(i) is the i-th, a dword) and the kernel rewritten:
// each instruction that reads it loads it into a fresh virtual first, each
// that writes it stores that virtual after. The victim is live where the
// most values are, and has the fewest instructions per instruction of its
// life (one that can take the slot in place counting half): a long-lived
// value that is rarely touched, such as a loop bound or an outer loop's
// pointer. A victim that one load from o.Invariant writes is loaded again
// instead, where it is read (rematerialize). Once allocation succeeds,
// reloads drops the loads whose value a register holds already. It
// returns the rewritten kernel, its assignment and the number of slots
// used. Arguments, results and pinned virtuals are never spilled.
func AllocateSpilling(k *Kernel, o Options, slot func(i int) x86.Mem) (*Kernel, map[int]x86.Reg, int, error) {
	var slots []x86.Mem
	fresh := map[int]bool{}        // virtuals made by spilling: never victims
	splitSlot := map[int]x86.Mem{} // where a split virtual waits out loops
	for {
		as, err := Allocate(k, o)
		if err == nil {
			done := func(as map[int]x86.Reg) *Kernel { return deadStores(reloads(k, o, as, slots), slots) }
			if o.Cost != nil {
				as, err = Recolor(k, o, as, func(as map[int]x86.Reg) int { return o.Cost(done(as), as, len(slots)) })
				if err != nil {
					return nil, nil, 0, err
				}
			}
			return done(as), as, len(slots), nil
		}
		c, verr := victim(k, o, fresh)
		if verr != nil {
			return nil, nil, 0, fmt.Errorf("%v (and nothing to spill: %v)", err, verr)
		}
		v := c.v
		if def, ok := loadedOnce(k, &o, v); ok {
			k = rematerialize(k, &o, v, def, fresh)
			continue
		}
		m, ok := splitSlot[v]
		if !ok {
			slots = append(slots, slot(len(slots)))
			m = slots[len(slots)-1]
			m.Size = 32
		}
		if c.top >= 0 {
			splitSlot[v] = m
			k = splitAround(k, c, m)
			continue
		}
		k = spillVirtual(k, &o, v, m, fresh)
		// Its slot holds whatever it holds: no virtual is live at entry.
		o.Undef = slices.DeleteFunc(slices.Clone(o.Undef), func(u int) bool { return u == v })
	}
}

// loadedOnce: v is written once, whole, by a load from o.Invariant (mov
// v, dword [m], or movzx from a word or a byte), which it returns.
func loadedOnce(k *Kernel, o *Options, v int) (x86.Inst, bool) {
	var def x86.Inst
	n := 0
	for _, it := range k.Items {
		if it.Label != "" || !mentions(it.Inst, v) {
			continue
		}
		e, err := itemEffects(it, o)
		if err != nil {
			return def, false
		}
		for _, ac := range e.acc {
			if w, _, ok := virt(ac.reg); ok && w == v && ac.write {
				def = it.Inst
				n++
				break
			}
		}
	}
	if n != 1 || len(def.Args) != 2 || def.Args[0] != V(v) || !invariant(def.Args[1], o) {
		return def, false
	}
	m := def.Args[1].(x86.Mem)
	return def, def.Op == x86.MOV && m.Size == 32 || def.Op == x86.MOVZX
}

// invariant: a is memory in o.Invariant.
func invariant(a x86.Operand, o *Options) bool {
	m, ok := a.(x86.Mem)
	return ok && m.Base == x86.NoReg && m.Index == x86.NoReg && m.Seg == x86.NoReg && !m.Addr32 &&
		m.Disp >= int32(o.Invariant.From) && m.Disp < int32(o.Invariant.To)
}

// rematerialize rewrites k with v loaded again by def where it is read:
// def itself goes, an instruction that can read def's memory itself does
// (mov's source is v's own memory), and others read a fresh virtual that
// def loads just before.
func rematerialize(k *Kernel, o *Options, v int, def x86.Inst, fresh map[int]bool) *Kernel {
	return eachUse(k, o, v, fresh, func(it Item, out *Kernel, newV func() int) {
		if reflect.DeepEqual(it.Inst, def) {
			return
		}
		if def.Op == x86.MOV {
			if in, ok := memForm(it.Inst, v, def.Args[1].(x86.Mem), o); ok {
				it.Inst = in
				out.Items = append(out.Items, it)
				return
			}
		}
		t := newV()
		out.I(def.Op, V(t), def.Args[1])
		it.Inst = replace(it.Inst, v, t)
		out.Items = append(out.Items, it)
	})
}

// eachUse rewrites the instructions of k that name v with use, which
// appends what stands for one to out, with fresh virtuals (never victims)
// from newV; the rest of k stays as it is.
func eachUse(k *Kernel, o *Options, v int, fresh map[int]bool, use func(it Item, out *Kernel, newV func() int)) *Kernel {
	next := nextVirtual(k, o)
	newV := func() int {
		fresh[next] = true
		next++
		return next - 1
	}
	out := &Kernel{Name: k.Name}
	for _, it := range k.Items {
		if it.Label != "" || !mentions(it.Inst, v) {
			out.Items = append(out.Items, it)
			continue
		}
		use(it, out, newV)
	}
	return out
}

// choice is the virtual victim picks, with what splitAround weighs.
type choice struct {
	v int
	// top, end: the loop's first instruction and backward branch, where
	// v is split around a loop (splitAround), else top is -1.
	top, end int
	a        *analysis
}

// victim picks the virtual to spill.
func victim(k *Kernel, o Options, fresh map[int]bool) (choice, error) {
	a, err := analyze(k, &o)
	if err != nil {
		return choice{}, err
	}
	keep := map[int]bool{}
	for _, n := range append(append([]int(nil), o.LiveIn...), o.LiveOut...) {
		keep[n] = true
	}
	for n := range o.Pinned {
		keep[n] = true
	}
	candidate := func(n int) bool {
		v := n - physNodes
		return n >= physNodes && !keep[v] && !fresh[v]
	}
	// The most crowded instruction where a value could go to memory: the
	// most values that need registers of their own (as Allocate counts
	// them). Registers that arrive holding a proc's arguments crowd its
	// entry, where nothing else lives.
	g := a.interference()
	best, at := -1, -1
	for j := range a.item {
		if !slices.ContainsFunc(a.in[j].nodes(), candidate) && !slices.ContainsFunc(a.out[j].nodes(), candidate) {
			continue
		}
		s := newSet(a.nnodes)
		s.copyFrom(a.in[j])
		s.or(a.def[j])
		if c := len(g.clashing(s.nodes(), 0xff)); c > best {
			best, at = c, j
		}
	}
	if at < 0 {
		return choice{}, fmt.Errorf("no instructions")
	}
	live := newSet(a.nnodes)
	live.copyFrom(a.in[at])
	live.or(a.out[at])
	// A use in a loop costs as many as the loop runs: ten times a level,
	// the levels from the backward branches around it.
	weight := loopWeights(a)
	span := make([]float64, a.nnodes) // where each node is live
	uses := make([]float64, a.nnodes) // the instructions that touch it
	for j := range a.item {
		for _, n := range a.in[j].nodes() {
			span[n] += weight[j]
		}
		touched := map[int]bool{}
		for _, ac := range a.eff[j].acc {
			if n, _ := nodeOf(ac.reg); n >= physNodes {
				touched[n] = true
			}
		}
		for n := range touched {
			w := weight[j]
			if _, ok := memForm(a.k.Items[a.item[j]].Inst, n-physNodes, x86.D(x86.Abs16(0)), &o); ok {
				w *= memFormUse
			}
			uses[n] += w
		}
	}
	pick, cost := -1, 0.0
	for _, resident := range []bool{false, true} {
		for _, n := range live.nodes() {
			if !candidate(n) || o.Resident[n-physNodes] != resident {
				continue
			}
			c := uses[n] / (span[n] + 1)
			if pick < 0 || c < cost {
				pick, cost = n-physNodes, c
			}
		}
		if pick >= 0 {
			break
		}
	}
	if pick < 0 {
		return choice{}, fmt.Errorf("every value live at %s is an argument, a result, pinned or already spilled", a.where(at))
	}
	c := choice{v: pick, top: -1, a: a}
	// Splitting a value around a loop that never names it (splitAround)
	// costs its two moves, at the weight outside the loop, and frees its
	// register where the loop runs: where that costs less for what it
	// frees than the pick's spilling, it goes first.
	for _, n := range live.nodes() {
		if !o.Split || !candidate(n) {
			continue
		}
		top, end := freeLoop(a, n, at)
		if top < 0 {
			continue
		}
		inside := 0.0
		for p := top; p <= end; p++ {
			inside += weight[p]
		}
		outside := 1.0
		if end+1 < len(weight) {
			outside = weight[end+1]
		}
		sc := 2 * outside / (inside + 1)
		if o.SplitsCheap {
			sc *= splitsCheap
		}
		if sc < cost {
			c, cost = choice{v: n - physNodes, top: top, end: end, a: a}, sc
		}
	}
	return c, nil
}

// splitsCheap is what Options.SplitsCheap weighs a split by: with 0.3
// (or 0.5) every example's size-policy image was 4 to 8 bytes smaller
// (`tfc size --gen loop`, the loop generator trying the allocation both
// ways); with 0.1 or 0.03 one byte larger than that in stories15M.
const splitsCheap = 0.3

// memFormUse is what a use that can read or write the slot in place
// (memForm) weighs against one that needs a load or a store around it:
// the one costs a memory operand's bytes, the other an instruction. With
// 0.5 the examples' size-policy images were 0 to 24 bytes smaller than
// with 1 and -O2's instructions a token fewer (`tfc size --gen loop`,
// `tfc run --icount`); with 0.3 or 0.7 no smaller, with 0.1 larger.
const memFormUse = 0.5

// loopWeights weighs each instruction by the loops around it, which a
// backward branch closes: 10 to the number of them.
func loopWeights(a *analysis) []float64 {
	w := make([]float64, len(a.item))
	depth := make([]int, len(a.item)+1)
	for j, succ := range a.succ {
		for _, s := range succ {
			if s != exitPos && s <= j {
				depth[s]++
				depth[j+1]--
			}
		}
	}
	d := 0
	for j := range w {
		d += depth[j]
		w[j] = math.Pow(10, float64(min(d, 6)))
	}
	return w
}

// spillVirtual rewrites k with v in memory at m (a split's moves between
// v and m go: v is there already).
func spillVirtual(k *Kernel, o *Options, v int, m x86.Mem, fresh map[int]bool) *Kernel {
	m.Size = 32
	return eachUse(k, o, v, fresh, func(it Item, out *Kernel, newV func() int) {
		if in := it.Inst; in.Op == x86.MOV && len(in.Args) == 2 &&
			(in.Args[0] == x86.Operand(m) && in.Args[1] == x86.Operand(V(v)) || in.Args[0] == x86.Operand(V(v)) && in.Args[1] == x86.Operand(m)) {
			return
		}
		if in, ok := memForm(it.Inst, v, m, o); ok {
			it.Inst = in
			out.Items = append(out.Items, it)
			return
		}
		e, err := itemEffects(it, o)
		reads, writes := true, true
		if err == nil {
			reads, writes = false, false
			for _, ac := range e.acc {
				if n, bits, ok := virt(ac.reg); ok && n == v {
					// A write to a view keeps the other bits: they
					// come from memory too.
					reads = reads || ac.read || bits < 32
					writes = writes || ac.write
				}
			}
		}
		t := newV()
		if reads {
			out.I(x86.MOV, V(t), m)
		}
		it.Inst = replace(it.Inst, v, t)
		out.Items = append(out.Items, it)
		if writes {
			out.I(x86.MOV, m, V(t))
		}
	})
}

// nextVirtual is the first virtual that neither k nor o (its arguments
// and results) names.
func nextVirtual(k *Kernel, o *Options) int {
	next := 0
	for _, it := range k.Items {
		for _, r := range regsOf(it.Inst) {
			if n, _, ok := virt(r); ok && n >= next {
				next = n + 1
			}
		}
	}
	for _, n := range slices.Concat(o.LiveIn, o.LiveOut, o.Undef) {
		next = max(next, n+1)
	}
	return next
}

// memForm is in with v, an operand it names once (32 bits, or the 16-bit
// view, which is the slot's low word), not in an address, read or written
// in memory at m instead, where x86 has that form: a source of mov, the
// ALU ops, cmp, test and two-operand imul, the operand of one-operand mul,
// imul, div and the unary ops, or the destination of mov, the ALU ops and
// shifts from a register or an immediate (unless o.RegisterShifts). No
// form takes two memory operands.
func memForm(in x86.Inst, v int, m x86.Mem, o *Options) (x86.Inst, bool) {
	if (in.Op == x86.XOR || in.Op == x86.SUB) && len(in.Args) == 2 && in.Args[0] == x86.Operand(V(v)) && in.Args[1] == in.Args[0] {
		// The zeroing idiom: and with 0 writes the same value and flags
		// (6 bytes, where the xor of a register and its store take 7).
		m.Size = 32
		return x86.Inst{Op: x86.AND, Args: []x86.Operand{m, x86.Imm(0)}}, true
	}
	at := -1
	for i, a := range in.Args {
		switch a := a.(type) {
		case x86.Reg:
			if n, bits, ok := virt(a); ok && n == v {
				if bits == 8 && !byteCompare(in, i) || at >= 0 {
					return in, false
				}
				at, m.Size = i, bits
			}
		case x86.Mem:
			if mentions(x86.Inst{Args: []x86.Operand{a}}, v) {
				return in, false
			}
		}
	}
	if at < 0 {
		return in, false
	}
	for i, a := range in.Args {
		if _, isMem := a.(x86.Mem); isMem && i != at {
			return in, false
		}
	}
	ok := false
	switch op := in.Op; {
	case len(in.Args) == 1:
		ok = op == x86.MUL || op == x86.IMUL || op == x86.DIV || op == x86.IDIV || op == x86.INC || op == x86.DEC ||
			op == x86.NEG || op == x86.NOT
	case len(in.Args) == 2 && at == 1:
		ok = op == x86.MOV || op == x86.ADD || op == x86.ADC || op == x86.SUB || op == x86.SBB || op == x86.AND ||
			op == x86.OR || op == x86.XOR || op == x86.CMP || op == x86.TEST || op == x86.IMUL
		if r, isReg := in.Args[0].(x86.Reg); !isReg || Bits(r) != m.Size {
			ok = false
		}
	case len(in.Args) == 2 && at == 0:
		_, srcImm := in.Args[1].(x86.Imm)
		_, srcReg := in.Args[1].(x86.Reg)
		ok = (srcImm || srcReg) && (op == x86.MOV || op == x86.ADD || op == x86.ADC || op == x86.SUB ||
			op == x86.SBB || op == x86.AND || op == x86.OR || op == x86.XOR || op == x86.CMP || op == x86.TEST ||
			!o.RegisterShifts && (op == x86.SHL || op == x86.SHR || op == x86.SAR))

	}
	if !ok {
		return in, false
	}
	args := append([]x86.Operand(nil), in.Args...)
	args[at] = m
	return x86.Inst{Op: in.Op, Args: args}, true
}

// regsOf lists the registers an instruction names, in operands and
// addresses.
func regsOf(in x86.Inst) []x86.Reg {
	var rs []x86.Reg
	for _, a := range in.Args {
		switch a := a.(type) {
		case x86.Reg:
			rs = append(rs, a)
		case x86.Mem:
			rs = append(rs, a.Base, a.Index)
		}
	}
	return rs
}

func mentions(in x86.Inst, v int) bool {
	for _, r := range regsOf(in) {
		if n, _, ok := virt(r); ok && n == v {
			return true
		}
	}
	return false
}

// replace renames virtual v (and its views) to t.
func replace(in x86.Inst, v, t int) x86.Inst {
	sub := func(r x86.Reg) x86.Reg {
		n, bits, ok := virt(r)
		if !ok || n != v {
			return r
		}
		switch bits {
		case 16:
			return V16(t)
		case 8:
			return V8(t)
		}
		return V(t)
	}
	args := make([]x86.Operand, len(in.Args))
	for i, a := range in.Args {
		switch a := a.(type) {
		case x86.Reg:
			args[i] = sub(a)
		case x86.Mem:
			a.Base, a.Index = sub(a.Base), sub(a.Index)
			args[i] = a
		default:
			args[i] = a
		}
	}
	return x86.Inst{Op: in.Op, Args: args}
}

// Spilled are the virtuals of k that out, k allocated by AllocateSpilling,
// no longer names: those spilled whole or loaded again where read, in
// ascending order.
func Spilled(k, out *Kernel) []int {
	seen := map[int]bool{}
	for _, it := range out.Items {
		for _, r := range regsOf(it.Inst) {
			if n, _, ok := virt(r); ok {
				seen[n] = true
			}
		}
	}
	var vs []int
	for _, it := range k.Items {
		for _, r := range regsOf(it.Inst) {
			if n, _, ok := virt(r); ok && !seen[n] {
				seen[n] = true
				vs = append(vs, n)
			}
		}
	}
	slices.Sort(vs)
	return vs
}

// byteCompare: in compares its operand i, a byte, with a constant: the
// slot's low byte is the byte, in place (`cmp byte [m], 0`: 5 bytes where
// a load and `test cl, cl` take 6, and no register).
func byteCompare(in x86.Inst, i int) bool {
	if i != 0 || len(in.Args) != 2 || in.Op != x86.CMP && in.Op != x86.TEST {
		return false
	}
	_, imm := in.Args[1].(x86.Imm)
	return imm
}
