package regalloc

import (
	"fmt"
	"math/bits"
	"slices"
	"sort"
	"strings"

	x86 "tfc/codegen/x86_16"
)

// Nodes of the interference graph: the physical register families 0..7
// (hardware numbers; 4, esp, is never used) and virtual n as node 8+n.
// Liveness tracks three parts of each node: the low byte, the second byte
// and the upper 16 bits, so that writing al or ax keeps the rest alive.
const (
	physNodes = 8
	partLo    = 1
	partHi    = 2
	partUp    = 4
	partAll   = partLo | partHi | partUp
	famESP    = 4
	famEBP    = 5
)

func nodeOf(r x86.Reg) (node int, parts uint8) {
	if n, bits, ok := virt(r); ok {
		switch bits {
		case 32:
			return physNodes + n, partAll
		case 16:
			return physNodes + n, partLo | partHi
		case 8:
			return physNodes + n, partLo
		}
		return physNodes + n, 0
	}
	f, _ := family(r)
	switch {
	case r >= x86.AH && r <= x86.BH:
		return f, partHi
	case r >= x86.AL && r <= x86.BL:
		return f, partLo
	case r >= x86.AX && r <= x86.DI:
		return f, partLo | partHi
	}
	return f, partAll
}

func nodeName(n int) string {
	if n < physNodes {
		return (x86.EAX + x86.Reg(n)).String()
	}
	return fmt.Sprintf("v%d", n-physNodes)
}

const exitPos = -1

// analysis is the liveness of a kernel and what is derived from it.
type analysis struct {
	k      *Kernel
	o      *Options
	nnodes int
	item   []int // item index of each instruction
	eff    []effects
	use    []set
	def    []set
	succ   [][]int // instruction positions; exitPos for leaving the kernel
	in     []set
	out    []set
	exit   set
	entry  set
	class  []uint8 // allowed families per node, from how the virtual is used
	seen   []bool  // virtual nodes that appear
}

// places maps an item's index to its instruction's position in a's
// lists; ok is false for a label or an index out of range.
func (a *analysis) places() func(i int) (pos int, ok bool) {
	pos := make([]int, len(a.k.Items))
	for i := range pos {
		pos[i] = -1
	}
	for j, i := range a.item {
		pos[i] = j
	}
	return func(i int) (int, bool) {
		if i < 0 || i >= len(pos) || pos[i] < 0 {
			return 0, false
		}
		return pos[i], true
	}
}

func (a *analysis) errf(format string, args ...any) error {
	return fmt.Errorf("kernel %s: %s", a.k.Name, fmt.Sprintf(format, args...))
}

func (a *analysis) where(pos int) string {
	if pos < 0 {
		return "entry"
	}
	i := a.item[pos]
	return fmt.Sprintf("item %d (%s)", i, InstString(a.k.Items[i].Inst))
}

// analyze is k's liveness with o (its Allowed defaulting to
// DefaultAllowed, in place).
func analyze(k *Kernel, o *Options) (*analysis, error) {
	if o.Allowed == nil {
		o.Allowed = DefaultAllowed
	}
	a := &analysis{k: k, o: o, nnodes: physNodes,
		item: make([]int, 0, len(k.Items)), eff: make([]effects, 0, len(k.Items))}
	grow := func(n int) {
		if physNodes+n+1 > a.nnodes {
			a.nnodes = physNodes + n + 1
		}
	}
	labels := map[string]int{}
	for i, it := range k.Items {
		if it.Label != "" {
			if _, dup := labels[it.Label]; dup {
				return nil, a.errf("label %q defined twice", it.Label)
			}
			labels[it.Label] = len(a.item)
			continue
		}
		e, err := itemEffects(it, o)
		if err != nil {
			return nil, a.errf("item %d (%s): %v", i, InstString(it.Inst), err)
		}
		for _, ac := range e.acc {
			if n, _, ok := virt(ac.reg); ok {
				grow(n)
			}
		}
		a.item = append(a.item, i)
		a.eff = append(a.eff, e)
	}
	for _, lists := range [][]int{o.LiveIn, o.LiveOut, o.Undef} {
		for _, n := range lists {
			if n < 0 || n >= MaxVirtual {
				return nil, a.errf("v%d is not a virtual register number", n)
			}
			grow(n)
		}
	}
	for n := range o.Pinned {
		if n < 0 || n >= MaxVirtual {
			return nil, a.errf("pinned v%d is not a virtual register number", n)
		}
		grow(n)
	}

	ni := len(a.item)
	a.seen = make([]bool, a.nnodes)
	a.class = make([]uint8, a.nnodes)
	for n := range a.class {
		a.class[n] = 0xFF &^ (1 << famESP)
	}
	a.use, a.def = newSets(ni, a.nnodes), newSets(ni, a.nnodes)
	for j, e := range a.eff {
		for _, ac := range e.acc {
			n, p := nodeOf(ac.reg)
			if ac.read {
				a.use[j].add(n, p)
			}
			if n >= physNodes {
				a.seen[n] = true
				a.constrain(n, ac)
			}
		}
		// Writes after reads: an instruction reads all its inputs first.
		for _, ac := range e.acc {
			if ac.write {
				n, p := nodeOf(ac.reg)
				a.def[j].add(n, p)
			}
		}
	}
	for _, lists := range [][]int{o.LiveIn, o.LiveOut, o.Undef} {
		for _, n := range lists {
			a.seen[physNodes+n] = true
		}
	}
	for n := range o.Pinned {
		a.seen[physNodes+n] = true
	}

	// Control flow.
	a.succ = make([][]int, ni)
	next := func(j int) int {
		if j+1 < ni {
			return j + 1
		}
		return exitPos
	}
	for j, e := range a.eff {
		target := exitPos // a jump out of the kernel leaves it
		if pos, ok := labels[e.target]; ok && e.target != "" && pos < ni {
			target = pos
		}
		switch e.flow {
		case fNext, fCall:
			a.succ[j] = []int{next(j)}
		case fJump:
			a.succ[j] = []int{target}
		case fBranch:
			a.succ[j] = []int{target, next(j)}
		case fExit:
			a.succ[j] = []int{exitPos}
		}
	}

	// Liveness, backwards to a fixed point.
	a.exit = newSet(a.nnodes)
	for _, n := range o.LiveOut {
		a.exit.add(physNodes+n, partAll)
	}
	a.in, a.out = newSets(ni, a.nnodes), newSets(ni, a.nnodes)
	tmp := newSet(a.nnodes)
	for changed := true; changed; {
		changed = false
		for j := ni - 1; j >= 0; j-- {
			out := a.out[j]
			for i := range out {
				out[i] = 0
			}
			for _, s := range a.succ[j] {
				if s == exitPos {
					out.or(a.exit)
				} else {
					out.or(a.in[s])
				}
			}
			for i := range tmp {
				tmp[i] = a.use[j][i] | out[i]&^a.def[j][i]
			}
			if !tmp.equal(a.in[j]) {
				a.in[j].copyFrom(tmp)
				changed = true
			}
		}
	}
	a.entry = newSet(a.nnodes)
	if ni > 0 {
		a.entry.copyFrom(a.in[0])
	} else {
		a.entry.copyFrom(a.exit)
	}

	// A virtual live at entry must be an argument.
	liveIn := map[int]bool{}
	for _, n := range slices.Concat(o.LiveIn, o.Undef) {
		liveIn[n] = true
		a.entry.add(physNodes+n, partAll)
	}
	for _, n := range a.entry.nodes() {
		if n < physNodes || liveIn[n-physNodes] {
			continue
		}
		first := "only at exit (it is in LiveOut)"
		for j := range a.item {
			if a.use[j].has(n) {
				first = "first read at " + a.where(j)
				break
			}
		}
		hint := ""
		if a.entry.parts(n) != partAll {
			hint = "; a write to its 8- or 16-bit view keeps the other bits: define it in full first"
		}
		return nil, a.errf("v%d may be used before any definition (%s)%s", n-physNodes, first, hint)
	}
	return a, nil
}

// constrain narrows the registers virtual node n may get from one use.
func (a *analysis) constrain(n int, ac access) {
	const (
		A, C, D, B, BP, SI, DI = 1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << famEBP, 1 << 6, 1 << 7
	)
	if _, bits, _ := virt(ac.reg); bits == 8 {
		a.class[n] &= A | C | D | B
	}
	if !ac.addr {
		return
	}
	bp := uint8(0)
	if ac.seg {
		bp = BP // [ebp] and [bp] default to ss
	}
	if !ac.mem16 {
		a.class[n] &^= BP &^ bp
		return
	}
	lowSlot, highSlot := B|bp, uint8(SI|DI) // {bx,bp} and {si,di}
	switch o := ac.other; {
	case o == x86.NoReg:
		a.class[n] &= lowSlot | highSlot
	case IsVirtual(o):
		if ac.base {
			a.class[n] &= lowSlot
		} else {
			a.class[n] &= highSlot
		}
	case o == x86.BX || o == x86.BP:
		a.class[n] &= highSlot
	case o == x86.SI || o == x86.DI:
		a.class[n] &= lowSlot
	}
}

// moveRegs reports a full 32-bit register-to-register mov and its nodes.
func moveRegs(in x86.Inst) (dst, src int, ok bool) {
	if in.Op != x86.MOV || len(in.Args) != 2 {
		return 0, 0, false
	}
	d, ok1 := in.Args[0].(x86.Reg)
	s, ok2 := in.Args[1].(x86.Reg)
	if !ok1 || !ok2 || !tracked(d) || !tracked(s) || !is32(d) || !is32(s) {
		return 0, 0, false
	}
	dn, _ := nodeOf(d)
	sn, _ := nodeOf(s)
	return dn, sn, true
}

// graph is the interference graph with, for each edge, the first place
// (instruction position, or exitPos for the entry) that made it.
type graph struct {
	adj [][]bool
	at  map[[2]int]int
}

func (g *graph) addEdge(x, y, pos int) {
	if x == y || g.adj[x][y] {
		return
	}
	g.adj[x][y], g.adj[y][x] = true, true
	g.at[[2]int{min(x, y), max(x, y)}] = pos
}

func (g *graph) edgeAt(x, y int) int { return g.at[[2]int{min(x, y), max(x, y)}] }

// clashing picks from ns, greedily, nodes that pairwise interfere (two
// physical registers always do; those outside regMask are left out): each
// needs a register of its own, so there must be as many.
func (g *graph) clashing(ns []int, regMask uint8) []int {
	var c []int
	for _, n := range ns {
		if n < physNodes && regMask&(1<<n) == 0 {
			continue
		}
		clash := true
		for _, m := range c {
			if !g.adj[n][m] && (n >= physNodes || m >= physNodes) {
				clash = false
				break
			}
		}
		if clash {
			c = append(c, n)
		}
	}
	return c
}

// interference builds the graph: every node written by an instruction
// interferes with every other node live after it or written by it too
// (except a mov's source with its destination); all values live at entry
// interfere with each other.
func (a *analysis) interference() *graph {
	g := &graph{adj: make([][]bool, a.nnodes), at: map[[2]int]int{}}
	for i := range g.adj {
		g.adj[i] = make([]bool, a.nnodes)
	}
	entry := a.entry.nodes()
	for i, x := range entry {
		for _, y := range entry[i+1:] {
			g.addEdge(x, y, exitPos)
		}
	}
	for j := range a.item {
		defs := a.def[j].nodes()
		live := a.out[j].nodes()
		md, ms, mov := moveRegs(a.k.Items[a.item[j]].Inst)
		for _, d := range defs {
			for _, l := range live {
				if mov && d == md && l == ms {
					continue
				}
				g.addEdge(d, l, j)
			}
			for _, d2 := range defs {
				g.addEdge(d, d2, j)
			}
		}
	}
	return g
}

// pressure finds the first place where more values are live than there
// are registers: values that interfere pairwise (two physical registers
// always do). A mov's source and destination do not interfere, so a count
// copied into ecx from a value that lives on is one value while that
// value may get ecx.
func (a *analysis) pressure(g *graph, regMask uint8, nregs int) error {
	counts := func(ns []int) []int { return g.clashing(ns, regMask) }
	report := func(pos int, ns []int) error {
		names := make([]string, len(ns))
		for i, n := range ns {
			names[i] = nodeName(n)
		}
		return a.errf("%d values live at once at %s, only %d registers: %s",
			len(ns), a.where(pos), nregs, strings.Join(names, " "))
	}
	if c := counts(a.entry.nodes()); len(c) > nregs {
		return report(exitPos, c)
	}
	for j := range a.item {
		if c := counts(a.in[j].nodes()); len(c) > nregs {
			return report(j, c)
		}
		s := newSet(a.nnodes)
		s.copyFrom(a.out[j])
		s.or(a.def[j])
		if c := counts(s.nodes()); len(c) > nregs {
			return report(j, c)
		}
	}
	return nil
}

// searchBudget bounds the exhaustive search that runs when greedy
// colouring fails (steps: registers tried).
const searchBudget = 200000

// Allocate assigns a 32-bit register to every virtual register of k.
// Errors: more values live at once than registers (naming the
// instruction), conflicting pins, a virtual that may be read before it is
// written, a use the table does not know.
func Allocate(k *Kernel, o Options) (map[int]x86.Reg, error) {
	a, err := analyze(k, &o)
	if err != nil {
		return nil, err
	}
	// The register set: Allowed, in order, then pinned registers.
	var order []int // families in order of preference
	var allowMask, regMask uint8
	for _, r := range o.Allowed {
		f, ok := family(r)
		if !ok || r.Size() != 32 || f == famESP {
			return nil, a.errf("allowed register %s is not one of eax ecx edx ebx esi edi ebp", r)
		}
		if allowMask&(1<<f) == 0 {
			order = append(order, f)
		}
		allowMask |= 1 << f
	}
	regMask = allowMask
	pins := make([]int, 0, len(o.Pinned))
	for n := range o.Pinned {
		pins = append(pins, n)
	}
	sort.Ints(pins)
	color := make([]int, a.nnodes)
	for i := range color {
		color[i] = -1
		if i < physNodes {
			color[i] = i
		}
	}
	for _, n := range pins {
		r := o.Pinned[n]
		f, ok := family(r)
		if !ok || r.Size() != 32 || f == famESP {
			return nil, a.errf("v%d is pinned to %s, not one of eax ecx edx ebx esi edi ebp", n, r)
		}
		if a.class[physNodes+n]&(1<<f) == 0 {
			return nil, a.errf("v%d is pinned to %s, which its uses do not allow (%s)", n, r, classReason(a.class[physNodes+n]))
		}
		regMask |= 1 << f
		color[physNodes+n] = f
	}
	g := a.interference()
	if err := a.pressure(g, regMask, bits.OnesCount8(regMask)); err != nil {
		return nil, err
	}

	// Pins must not clash with fixed registers or with each other.
	for i, n := range pins {
		v := physNodes + n
		f := color[v]
		if g.adj[v][f] {
			return nil, a.errf("v%d is pinned to %s, but %s holds another value while v%d is live (at %s)",
				n, nodeName(f), nodeName(f), n, a.where(g.edgeAt(v, f)))
		}
		for _, m := range pins[:i] {
			w := physNodes + m
			if color[w] == f && g.adj[v][w] {
				return nil, a.errf("conflicting pins: v%d and v%d are both pinned to %s but live at once (at %s)",
					m, n, nodeName(f), a.where(g.edgeAt(v, w)))
			}
		}
	}

	// Preferences: the register of a mov partner (the mov disappears),
	// eax for a virtual used where the accumulator forms are shorter, and
	// with Addr16 ebx, ebp, esi or edi for one that addresses memory.
	moves := make([][]int, a.nnodes)
	acc := make([]int, a.nnodes)
	addr := make([]int, a.nnodes)
	partners := make([][]int, a.nnodes)
	for _, i := range a.item {
		in := k.Items[i].Inst
		if d, s, ok := moveRegs(in); ok && d != s {
			moves[d] = append(moves[d], s)
			moves[s] = append(moves[s], d)
		}
		if n, ok := accumulatorUse(in); ok {
			acc[physNodes+n]++
		}
		if o.Addr16 {
			ns, pairs := addressUses(in)
			for _, n := range ns {
				addr[physNodes+n]++
			}
			for _, p := range pairs {
				partners[physNodes+p[0]] = append(partners[physNodes+p[0]], physNodes+p[1])
				partners[physNodes+p[1]] = append(partners[physNodes+p[1]], physNodes+p[0])
			}
		}
	}

	var virts []int
	for n := physNodes; n < a.nnodes; n++ {
		if a.seen[n] && color[n] < 0 {
			virts = append(virts, n)
		}
	}
	domain := func(v int) uint8 { return a.domain(g, allowMask, v) }
	// Each virtual's domain and virtual neighbours, once: the searches
	// below ask for them at every step (a scan of every node there made
	// an exhausted search of a 270-value kernel take 15 s).
	doms := make([]uint8, a.nnodes)
	nbrs := make([][]int, a.nnodes)
	for v := physNodes; v < a.nnodes; v++ {
		doms[v] = domain(v)
		for w := physNodes; w < a.nnodes; w++ {
			if g.adj[v][w] {
				nbrs[v] = append(nbrs[v], w)
			}
		}
	}
	avail := func(v int, color []int) uint8 {
		d := doms[v]
		for _, w := range nbrs[v] {
			if color[w] >= 0 {
				d &^= 1 << color[w]
			}
		}
		return d
	}
	choose := func(v int, av uint8, color []int) int {
		best, bestScore := -1, -1
		for _, f := range order {
			if av&(1<<f) == 0 {
				continue
			}
			score := 0
			for _, w := range moves[v] {
				if color[w] == f {
					score += 3
				}
			}
			if f == 0 {
				score += acc[v]
			}
			if addr16&(1<<f) != 0 {
				score += 2 * addr[v]
				// The other register of an address it adds: one of
				// each class makes the 16-bit form.
				for _, w := range partners[v] {
					if c := color[w]; c >= 0 && addr16&(1<<c) != 0 && (addrBase&(1<<c) != 0) != (addrBase&(1<<f) != 0) {
						score += 2
					}
				}
			}
			if score > bestScore {
				best, bestScore = f, score
			}
		}
		return best
	}
	// Most constrained first (fewest registers left), ties by number.
	dsatur := func(color []int) int {
		left := append([]int(nil), virts...)
		for len(left) > 0 {
			bi, bc := 0, 99
			for i, v := range left {
				if c := bits.OnesCount8(avail(v, color)); c < bc {
					bi, bc = i, c
				}
			}
			v := left[bi]
			left = append(left[:bi], left[bi+1:]...)
			if bc == 0 {
				return v
			}
			color[v] = choose(v, avail(v, color), color)
		}
		return -1
	}
	// Fallback: in order of first appearance, which colours interval-like
	// graphs optimally.
	inOrder := func(color []int) int {
		var seq []int
		done := make([]bool, a.nnodes)
		for j := range a.item {
			for _, ac := range a.eff[j].acc {
				if n, _ := nodeOf(ac.reg); n >= physNodes && !done[n] && color[n] < 0 {
					done[n] = true
					seq = append(seq, n)
				}
			}
		}
		for _, v := range virts {
			if !done[v] {
				seq = append(seq, v)
			}
		}
		for _, v := range seq {
			av := avail(v, color)
			if av == 0 {
				return v
			}
			color[v] = choose(v, av, color)
		}
		return -1
	}
	// Last: a search over all assignments, most constrained first,
	// preferred registers first, within a budget of steps.
	exact := func(color []int) (ok, exhausted bool) {
		steps := 0
		var rec func() bool
		rec = func() bool {
			v, bc := -1, 99
			for _, w := range virts {
				if color[w] < 0 {
					if c := bits.OnesCount8(avail(w, color)); c < bc {
						v, bc = w, c
					}
				}
			}
			if v < 0 {
				return true
			}
			av := avail(v, color)
			for av != 0 {
				if steps++; steps > searchBudget {
					exhausted = true
					return false
				}
				f := choose(v, av, color)
				av &^= 1 << f
				color[v] = f
				if rec() {
					return true
				}
			}
			color[v] = -1
			return false
		}
		return rec(), exhausted
	}
	c1 := append([]int(nil), color...)
	failed := dsatur(c1)
	if failed >= 0 {
		c2 := append([]int(nil), color...)
		if inOrder(c2) < 0 {
			c1, failed = c2, -1
		}
	}
	if failed >= 0 {
		c3 := append([]int(nil), color...)
		ok, exhausted := exact(c3)
		if ok {
			c1, failed = c3, -1
		} else if !exhausted {
			return nil, a.noRegister(failed, domain(failed), allowMask, g, c1, "no assignment exists")
		}
	}
	if failed >= 0 {
		return nil, a.noRegister(failed, domain(failed), allowMask, g, c1, "none found")
	}
	res := map[int]x86.Reg{}
	for n := physNodes; n < a.nnodes; n++ {
		if a.seen[n] {
			res[n-physNodes] = x86.EAX + x86.Reg(c1[n])
		}
	}
	return res, nil
}

// domain is the families node v may take of allow: those its uses allow
// (class) where no fixed register of the family is live with it.
func (a *analysis) domain(g *graph, allow uint8, v int) uint8 {
	d := allow & a.class[v]
	for f := 0; f < physNodes; f++ {
		if g.adj[v][f] {
			d &^= 1 << f
		}
	}
	return d
}

func classReason(c uint8) string {
	var rs []string
	for f := 0; f < physNodes; f++ {
		if c&(1<<f) != 0 {
			rs = append(rs, nodeName(f))
		}
	}
	return "it may only get " + strings.Join(rs, " ")
}

// noRegister explains why virtual node v found no register.
func (a *analysis) noRegister(v int, dom, allow uint8, g *graph, color []int, verdict string) error {
	var why []string
	for f := 0; f < physNodes; f++ {
		if allow&a.class[v]&(1<<f) != 0 && g.adj[v][f] {
			why = append(why, fmt.Sprintf("%s is fixed at %s", nodeName(f), a.where(g.edgeAt(v, f))))
		}
	}
	for w := physNodes; w < a.nnodes; w++ {
		if g.adj[v][w] && color[w] >= 0 && dom&(1<<color[w]) != 0 {
			why = append(why, fmt.Sprintf("%s has %s (both live at %s)", nodeName(w), nodeName(color[w]), a.where(g.edgeAt(v, w))))
		}
	}
	return a.errf("no register left for %s (%s; %s): %s", nodeName(v), classReason(allow&a.class[v]), verdict, strings.Join(why, "; "))
}

// accumulatorUse reports a use of virtual n that has a shorter encoding
// when n is in eax: an ALU op or test with an immediate that needs the
// full width, or a mov between the register and a plain [disp].
func accumulatorUse(in x86.Inst) (int, bool) {
	if len(in.Args) != 2 {
		return 0, false
	}
	r, isReg := in.Args[0].(x86.Reg)
	n, bits, ok := virt(r)
	switch {
	case isReg && ok && (in.Op >= x86.ADD && in.Op <= x86.CMP || in.Op == x86.TEST):
		imm, ok := in.Args[1].(x86.Imm)
		if !ok {
			return 0, false
		}
		return n, bits == 8 || in.Op == x86.TEST || imm < -128 || imm > 127
	case in.Op == x86.MOV:
		m, isMem := in.Args[1].(x86.Mem)
		if !isReg {
			r, isReg = in.Args[1].(x86.Reg)
			m, isMem = in.Args[0].(x86.Mem)
			n, _, ok = virt(r)
		}
		return n, isReg && ok && isMem && m.Base == x86.NoReg && m.Index == x86.NoReg
	}
	return 0, false
}
