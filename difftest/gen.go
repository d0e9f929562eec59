package difftest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"tfc/checkpoint"
)

// Options bound the programs Generate makes.
type Options struct {
	// Big allows vectors longer than 255 elements, larger vocabularies
	// and contexts: slower to build and boot.
	Big bool
}

// Generate makes the random program of seed: valid by construction as
// spec.md defines the language (the checks may still reject a few, with a
// message: those are counted, not failures). It covers the Llama block and
// what lies around it: odd dimensions, head sizes other than dim/heads,
// kv_heads from 1 to heads, any number of caches, every op in every block
// it may appear in, nested calls, rebinding, shared params of every kind,
// tied and untied classifiers, every quantization scheme and cache type,
// prompts, greedy and temperature/top-p sampling.
func Generate(seed uint64, o Options) *Program {
	g := &gen{r: rand.New(rand.NewPCG(seed, 0x7466632d64696666)), o: o,
		p:      &Program{Name: fmt.Sprintf("diff%d", seed), Seed: int64(seed%1000 + 1)},
		consts: map[string]int{}, params: map[string]*pinfo{}, env: map[string]int{}}
	g.modern = g.chance(0.5)
	g.config()
	g.makeCaches()
	g.forward()
	g.generate()
	g.quants()
	return g.p
}

type gen struct {
	r *rand.Rand
	o Options
	p *Program
	// modern programs use the ops and options added for GPT-2, GPT-J and
	// Llama variants (layernorm, biases, learned positions, relu, sub,
	// mul by a constant, gelu_tanh, eps, theta, rotary_dim); the others
	// keep to the first language.
	modern bool

	consts map[string]int
	params map[string]*pinfo
	caches []*cinfo

	env    map[string]int // bound values and their lengths
	preEnv map[string]int // the values bound before the layer block
	block  int            // 0 pre, 1 layer, 2 post
	n      int            // names made

	// lens are the vector lengths statements pick from.
	lens []int
}

type pinfo struct {
	name       string
	perLayer   bool
	rows, cols int // cols 0: a vector of rows elements
	quant      string
}

type cinfo struct {
	name    string
	d       int // head size
	stored  bool
	width   string // its width expression
	readers int
}

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }
func (g *gen) in(lo, hi int) int     { return lo + g.r.IntN(hi-lo+1) }
func pick[T any](g *gen, xs []T) T   { return xs[g.r.IntN(len(xs))] }

func (g *gen) def(name string, v int, expr string) {
	g.consts[name] = v
	g.p.Consts = append(g.p.Consts, Const{name, expr})
}

// config picks the seven hyper-parameters and a few derived constants.
func (g *gen) config() {
	heads := pick(g, []int{1, 2, 2, 3, 4, 4, 5, 6, 8})
	var divs []int
	for k := 1; k <= heads; k++ {
		if heads%k == 0 {
			divs = append(divs, k)
		}
	}
	kv := pick(g, divs)
	hd := pick(g, []int{2, 4, 4, 6, 8, 8, 10, 12, 16, 3, 5, 7})
	if g.o.Big && g.chance(0.3) {
		hd = pick(g, []int{64, 70, 96})
	}
	dim := heads * hd
	hidden := g.in(4, 120)
	if g.o.Big && g.chance(0.4) {
		hidden = g.in(250, 420)
	}
	layers := pick(g, []int{1, 1, 2, 2, 2, 3, 4, 6})
	vocab := pick(g, []int{259, 260, 263, 300, 320, 384, 256, 200, 64, 30, 5})
	if g.o.Big && g.chance(0.3) {
		vocab = pick(g, []int{700, 1000, 1023, 1024, 1500})
	}
	steps := g.in(3, 16)
	context := pick(g, []int{steps, steps, steps + 1, 16, 32, 64, 100, 128})
	if g.o.Big && g.chance(0.3) {
		context = pick(g, []int{256, 300, 512})
	}
	context = max(context, steps)
	g.p.Gen.Steps = steps
	if g.chance(0.15) {
		g.p.Gen.Steps = 0 // the default: min(256, context)
		context = min(context, 24)
	}
	g.def("dim", dim, strconv.Itoa(dim))
	g.def("hidden", hidden, strconv.Itoa(hidden))
	g.def("layers", layers, strconv.Itoa(layers))
	g.def("heads", heads, strconv.Itoa(heads))
	g.def("kv_heads", kv, strconv.Itoa(kv))
	g.def("vocab", vocab, strconv.Itoa(vocab))
	g.def("context", context, strconv.Itoa(context))
	g.p.Consts = shuffled(g, g.p.Consts) // any order is valid for the seven
	g.def("head_dim", hd, "dim / heads")
	g.def("kv_dim", kv*hd, "kv_heads * head_dim")
	g.lens = []int{dim, dim, dim, hidden, hidden, kv * hd}
	if g.chance(0.15) {
		g.def("one", 1, "1") // vectors of one element
		g.lens = append(g.lens, 1)
	}
	if g.chance(0.3) {
		n := g.in(2, 50) * 2
		if g.o.Big && g.chance(0.5) {
			n = g.in(130, 200) * 2
		}
		g.def("extra", n, strconv.Itoa(n))
		g.lens = append(g.lens, n)
	}
}

func shuffled[T any](g *gen, xs []T) []T {
	out := slices.Clone(xs)
	g.r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// dimExpr writes length n as a constant's name, a product of two, or a
// number.
func (g *gen) dimExpr(n int) string {
	var names []string
	for _, c := range g.p.Consts {
		// A bare "layers" first would make the param per-layer.
		if g.consts[c.Name] == n && c.Name != "layers" {
			names = append(names, c.Name)
		}
	}
	if len(names) > 0 && !g.chance(0.1) {
		return pick(g, names)
	}
	for _, a := range g.p.Consts {
		for _, b := range g.p.Consts {
			if g.consts[a.Name]*g.consts[b.Name] == n && g.chance(0.5) {
				return a.Name + " * " + b.Name
			}
		}
	}
	return strconv.Itoa(n)
}

// makeCaches declares up to two caches, with head sizes dim/heads or others.
func (g *gen) makeCaches() {
	n := pick(g, []int{0, 1, 1, 1, 1, 2})
	for i := 0; i < n; i++ {
		c := &cinfo{name: fmt.Sprintf("kv%d", i), d: g.consts["head_dim"]}
		c.width = pick(g, []string{"kv_dim", "kv_heads * head_dim"})
		if i > 0 || g.chance(0.25) {
			c.d = pick(g, []int{2, 4, 6, 8, 12, 3, 5})
			name := fmt.Sprintf("hd%d", i)
			g.def(name, c.d, strconv.Itoa(c.d))
			c.width = "kv_heads * " + name
			g.lens = append(g.lens, g.consts["heads"]*c.d)
		}
		typ := pick(g, []string{"int8", "int16"})
		g.p.Caches = append(g.p.Caches, &Cache{Name: c.name, Width: c.width, Type: typ})
		g.caches = append(g.caches, c)
	}
}

// param returns a param of the shape asked for (cols 0: a vector): one
// already declared when it fits the block, or a new one.
func (g *gen) param(prefix string, rows, cols int) string {
	var fits []*pinfo
	for _, name := range sortedNames(g.params) {
		q := g.params[name]
		if q.rows == rows && q.cols == cols && (g.block == 1 || !q.perLayer) {
			fits = append(fits, q)
		}
	}
	if len(fits) > 0 && g.chance(0.4) {
		return pick(g, fits).name
	}
	q := &pinfo{name: fmt.Sprintf("%s%d", prefix, len(g.p.Params)), rows: rows, cols: cols}
	q.perLayer = g.block == 1 && g.chance(0.75)
	var dims []string
	if q.perLayer {
		dims = append(dims, "layers")
	}
	dims = append(dims, g.dimExpr(rows))
	if cols > 0 {
		dims = append(dims, g.dimExpr(cols))
	}
	g.params[q.name] = q
	g.p.Params = append(g.p.Params, &Param{Name: q.name, Dims: dims})
	return q.name
}

func sortedNames[T any](m map[string]T) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	slices.Sort(k)
	return k
}

// quants gives every param a scheme, declared or the default, in quant
// declarations of a random grouping.
func (g *gen) quants() {
	byType := map[string][]string{}
	// Now and then a quantized norm weight, which the checks refuse.
	badNorm := g.chance(0.05)
	for _, q := range g.p.Params {
		pi := g.params[q.Name]
		var choices []string
		switch {
		case pi.cols == 0 && badNorm:
			choices, badNorm = []string{"int8 per tensor"}, false
		case pi.cols == 0:
			choices = []string{"", "fixed"}
		default:
			choices = []string{"", "int8 per tensor", "int16 per tensor", "int8 per row", "int16 per row"}
			if pi.perLayer {
				choices = append(choices, "int8 per layer", "int16 per layer")
			}
		}
		if t := pick(g, choices); t != "" {
			byType[t] = append(byType[t], q.Name)
		}
	}
	for _, t := range sortedNames(byType) {
		names := byType[t]
		if len(names) > 1 && g.chance(0.3) {
			k := g.in(1, len(names)-1)
			g.p.Quants = append(g.p.Quants, Quant{names[:k], t}, Quant{names[k:], t})
			continue
		}
		g.p.Quants = append(g.p.Quants, Quant{names, t})
	}
	g.p.Quants = shuffled(g, g.p.Quants)
	// An unused param now and then: the layout must skip it.
	if g.chance(0.1) {
		g.p.Params = append(g.p.Params, &Param{Name: "unused", Dims: []string{"vocab", "dim"}})
	}
}

// newName makes a fresh value name.
func (g *gen) newName() string {
	g.n++
	return pick(g, []string{"a", "b", "t", "y", "z"}) + strconv.Itoa(g.n)
}

// bind appends Target = e to the current block, e of length n; in the layer
// block, a name bound before it keeps its length (the block repeats).
func (g *gen) bind(stmts *[]*Stmt, target string, e *Expr, n int) string {
	if old, ok := g.preEnv[target]; ok && g.block == 1 && old != n {
		target = g.newName()
	}
	*stmts = append(*stmts, &Stmt{Target: target, Call: e})
	g.env[target] = n
	return target
}

// valueOf returns a bound value of length n, or "".
func (g *gen) valueOf(n int) string {
	var names []string
	for _, name := range sortedNames(g.env) {
		if g.env[name] == n {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	return pick(g, names)
}

// vec makes an expression of n elements, nesting calls up to depth.
func (g *gen) vec(n, depth int) *Expr {
	if v := g.valueOf(n); v != "" && (depth <= 0 || g.chance(0.35)) {
		return ref(v)
	}
	return g.call(n, depth)
}

// call makes a call of n elements, its arguments nested up to depth.
func (g *gen) call(n, depth int) *Expr {
	if depth <= 0 {
		if m := g.valueOf(g.pickLen()); m != "" && g.chance(0.7) {
			return call("matmul", ref(g.param("w", n, g.env[m])), ref(m))
		}
		return call("embed", ref(g.param("e", g.consts["vocab"], n)), ref("token"))
	}
	type choice struct {
		w  int
		fn func() *Expr
	}
	d := depth - 1
	choices := []choice{
		{3, func() *Expr {
			m := g.pickLen()
			return call("matmul", ref(g.param("w", n, m)), g.vec(m, d))
		}},
		{2, func() *Expr { return g.norm(g.vec(n, d), n) }},
		{1, func() *Expr { return call(g.gate(), g.vec(n, d)) }},
		{1, func() *Expr { return call("mul", g.vec(n, d), g.vec(n, d)) }},
		{2, func() *Expr { return call("add", g.vec(n, d), g.vec(n, d)) }},
		{1, func() *Expr { return call("embed", ref(g.param("e", g.consts["vocab"], n)), ref("token")) }},
	}
	if g.modern {
		choices = append(choices,
			choice{1, func() *Expr { return call("sub", g.vec(n, d), g.vec(n, d)) }},
			choice{1, func() *Expr { return call("mul", g.vec(n, d), g.scalar()) }},
			choice{1, func() *Expr { return g.bias(g.vec(n, d), n) }},
			choice{1, func() *Expr { return g.positions(n) }})
	}
	if n%2 == 0 {
		choices = append(choices, choice{1, func() *Expr { return g.rope(g.vec(n, d), g.ropeDim(n)) }})
	}
	if g.block == 1 {
		for _, c := range g.caches {
			if c.stored && n == g.consts["heads"]*c.d {
				c := c
				choices = append(choices, choice{3, func() *Expr {
					c.readers++
					return call("attention", g.vec(n, d), ref(c.name), g.headArg(c.d))
				}})
			}
		}
	}
	total := 0
	for _, c := range choices {
		total += c.w
	}
	k := g.r.IntN(total)
	for _, c := range choices {
		if k < c.w {
			return c.fn()
		}
		k -= c.w
	}
	panic("unreachable")
}

// norm is rmsnorm, or in modern programs layernorm with or without a bias,
// now and then with an eps.
func (g *gen) norm(x *Expr, n int) *Expr {
	e := call("rmsnorm", x, ref(g.param("g", n, 0)))
	if g.modern && g.chance(0.5) {
		e = call("layernorm", x, ref(g.param("g", n, 0)))
		if g.chance(0.7) {
			e.Args = append(e.Args, ref(g.param("bias", n, 0)))
		}
	}
	if g.modern && g.chance(0.2) {
		e.Opts = []Opt{{"eps", pick(g, []string{"1e-6", "0.001", "1e-5", "3e-7"})}}
	}
	return e
}

// gate is an activation: silu or gelu, and in modern programs gelu_tanh
// or relu.
func (g *gen) gate() string {
	if g.modern {
		return pick(g, []string{"silu", "gelu", "gelu_tanh", "relu"})
	}
	return pick(g, []string{"silu", "gelu"})
}

// scalar is the constant of mul(x, c): a literal or a config constant.
func (g *gen) scalar() *Expr {
	if g.chance(0.2) {
		return ref("head_dim")
	}
	return num(pick(g, []string{"0.5", "-1", "2", "0.125", "3", "-0.75", "1e-2", "1.5"}))
}

// bias adds a param vector to x.
func (g *gen) bias(x *Expr, n int) *Expr { return call("add", x, ref(g.param("bias", n, 0))) }

// positions is embed(P, pos) of a table of learned positions.
func (g *gen) positions(n int) *Expr {
	return call("embed", ref(g.param("pe", g.consts["context"], n)), ref("pos"))
}

// rope rotates x by head size D, in modern programs now and then with a
// base or over part of each head.
func (g *gen) rope(x, D *Expr) *Expr {
	e := call("rope", x, D)
	if !g.modern {
		return e
	}
	if g.chance(0.3) {
		e.Opts = append(e.Opts, Opt{"theta", pick(g, []string{"500000", "100", "1e6", "25.5"})})
	}
	d := D.Int
	if D.Name != "" {
		d = g.consts[D.Name]
	}
	if d > 2 && g.chance(0.3) {
		e.Opts = append(e.Opts, Opt{"rotary_dim", strconv.Itoa(2 * g.in(1, d/2))})
	}
	return e
}

// pickLen picks a vector length: a common one, or one already bound.
func (g *gen) pickLen() int {
	if len(g.env) > 0 && g.chance(0.5) {
		names := sortedNames(g.env)
		return g.env[pick(g, names)]
	}
	return pick(g, g.lens)
}

// ropeDim is a head-size argument for rope over n elements: an even
// divisor of n, written as a constant when one has its value.
func (g *gen) ropeDim(n int) *Expr {
	var ds []int
	for d := 2; d <= n; d += 2 {
		if n%d == 0 {
			ds = append(ds, d)
		}
	}
	return g.headArg(pick(g, ds))
}

func (g *gen) headArg(d int) *Expr {
	for _, name := range sortedNames(g.consts) {
		if g.consts[name] == d && g.chance(0.7) {
			return ref(name)
		}
	}
	return lit(d)
}

func (g *gen) forward() {
	dim, vocab := g.consts["dim"], g.consts["vocab"]
	// pre: x, the residual stream, usually from the embedding.
	g.block = 0
	preEmpty := g.chance(0.08)
	if !preEmpty {
		var x *Expr = call("embed", ref(g.param("emb", vocab, dim)), ref("token"))
		if g.modern && g.chance(0.4) {
			x = call("add", x, g.positions(dim)) // GPT-2's learned positions
		}
		g.bind(&g.p.Pre, "x", x, dim)
		g.randomStmts(&g.p.Pre, pick(g, []int{0, 0, 1, 2, 3}))
	}
	g.preEnv = map[string]int{}
	for k, v := range g.env {
		g.preEnv[k] = v
	}

	g.block = 1
	if preEmpty {
		// The embedding inside the layer block, per layer.
		g.bind(&g.p.Layer, "x", call("embed", ref(g.param("emb", vocab, dim)), ref("token")), dim)
	}
	var motifs []func()
	for _, c := range g.caches {
		c := c
		motifs = append(motifs, func() { g.attention(c) })
	}
	for i := pick(g, []int{0, 1, 1, 1, 2}); i > 0; i-- {
		motifs = append(motifs, g.mlp)
	}
	for i := pick(g, []int{0, 1, 1, 2, 3}); i > 0; i-- {
		motifs = append(motifs, func() { g.randomStmts(&g.p.Layer, 1) })
	}
	for _, m := range shuffled(g, motifs) {
		m()
	}

	g.block = 2
	if g.chance(0.8) {
		g.bind(&g.p.Post, "x", g.norm(ref("x"), dim), dim)
	}
	g.randomStmts(&g.p.Post, pick(g, []int{0, 0, 1, 2}))
	var logits *Expr
	switch {
	case g.chance(0.8):
		// The classifier: the embedding again (tied) or its own matrix.
		cls := g.param("cls", vocab, dim)
		if g.chance(0.5) && g.params["emb0"] != nil && !g.params["emb0"].perLayer {
			cls = "emb0"
		}
		logits = call("matmul", ref(cls), ref("x"))
		if g.modern && g.chance(0.2) {
			logits = g.bias(logits, vocab) // GPT-J's biased classifier
		}
	default:
		logits = g.call(vocab, 2)
	}
	final := "argmax"
	if g.chance(0.4) {
		final = "sample"
	}
	g.p.Post = append(g.p.Post, &Stmt{Target: pick(g, []string{"next", "tok", "out"}), Call: call(final, logits)})
}

// randomStmts appends k statements of random lengths, to new names or
// rebinding old ones.
func (g *gen) randomStmts(stmts *[]*Stmt, k int) {
	for ; k > 0; k-- {
		n := g.pickLen()
		target := g.newName()
		if v := g.valueOf(n); v != "" && g.chance(0.4) {
			target = v
		}
		g.bind(stmts, target, g.call(n, g.in(0, 3)), n)
	}
}

// attention appends an attention sub-block over cache c: projections, rope,
// store, attention and the output projection added to x, in one of several
// spellings.
func (g *gen) attention(c *cinfo) {
	heads, kv, dim := g.consts["heads"], g.consts["kv_heads"], g.consts["dim"]
	L := &g.p.Layer
	in := "x"
	if g.chance(0.85) {
		in = g.bind(L, pick(g, []string{"h", "xn", g.newName()}), g.norm(ref("x"), dim), dim)
	}
	rope := c.d%2 == 0 && g.chance(0.8)
	biased := g.modern && g.chance(0.5)
	proj := func(rows int) *Expr {
		var e *Expr = call("matmul", ref(g.param("w", rows, dim)), ref(in))
		if biased {
			e = g.bias(e, rows)
		}
		if rope {
			e = g.rope(e, g.headArg(c.d))
		}
		return e
	}
	var q *Expr = proj(heads * c.d)
	if g.chance(0.7) {
		q = ref(g.bind(L, pick(g, []string{"q", g.newName()}), q, heads*c.d))
	}
	k := g.bind(L, pick(g, []string{"k", g.newName()}), proj(kv*c.d), kv*c.d)
	rope = false // v is never rotated
	v := g.bind(L, pick(g, []string{"v", g.newName()}), proj(kv*c.d), kv*c.d)
	switch {
	case g.chance(0.1):
		k, v = v, k
	case g.chance(0.05):
		v = k
	}
	*L = append(*L, &Stmt{Call: call("store", ref(c.name), ref(k), ref(v))})
	c.stored = true
	att := call("attention", q, ref(c.name), g.headArg(c.d))
	c.readers++
	if g.chance(0.1) {
		return // a cache stored but its attention's result unused is still run
	}
	out := call("matmul", ref(g.param("wo", dim, heads*c.d)), att)
	if g.chance(0.85) {
		g.bind(L, "x", call("add", ref("x"), out), dim)
	} else {
		g.bind(L, g.newName(), out, dim)
	}
	if g.chance(0.1) {
		// A second reader of the same cache.
		g.bind(L, g.newName(), call("attention", g.vec(heads*c.d, 1), ref(c.name), g.headArg(c.d)), heads*c.d)
	}
}

// mlp appends a feed-forward sub-block: a norm, an up projection through a
// gate (alone or times a second projection), the down projection added to x.
func (g *gen) mlp() {
	dim, hidden := g.consts["dim"], g.consts["hidden"]
	L := &g.p.Layer
	in := "x"
	if g.chance(0.85) {
		in = g.bind(L, pick(g, []string{"h", g.newName()}), g.norm(ref("x"), dim), dim)
	}
	biased := g.modern && g.chance(0.5)
	up := func() *Expr {
		var e *Expr = call("matmul", ref(g.param("w", hidden, dim)), ref(in))
		if biased {
			e = g.bias(e, hidden)
		}
		return e
	}
	var act *Expr = call(g.gate(), up())
	switch {
	case g.chance(0.6):
		act = call("mul", act, up())
	case g.chance(0.2):
		act = call("mul", up(), act)
	}
	if g.chance(0.3) {
		act = ref(g.bind(L, g.newName(), act, hidden))
	}
	g.bind(L, "x", call("add", ref("x"), call("matmul", ref(g.param("w", dim, hidden)), act)), dim)
}

// generate picks the prompt and the sampler (which must agree with the
// final op).
func (g *gen) generate() {
	gen := &g.p.Gen
	final := g.p.Post[len(g.p.Post)-1].Call.Op
	if final == "sample" {
		t := pick(g, []string{"0.5", "0.8", "1.0", "1.3", "2", "0"})
		s := "sampler temperature " + t
		if g.chance(0.6) {
			s += " top_p " + pick(g, []string{"0.5", "0.9", "0.95", "1.0"})
		}
		if g.chance(0.6) {
			s += fmt.Sprintf(" seed %d", g.in(1, 1000))
		}
		gen.Sampler = s
	} else {
		gen.Sampler = pick(g, []string{"", "sampler greedy", "sampler temperature 0"})
	}
	if g.chance(0.4) {
		tok := checkpoint.Synthetic(g.consts["vocab"])
		var words []string
		for i := 0; i < 40 && len(words) < g.in(1, 8); i++ {
			p := string(tok.Pieces[g.r.IntN(len(tok.Pieces))])
			if strings.HasPrefix(p, " ") && len(p) > 1 {
				words = append(words, p[1:])
			}
		}
		if g.chance(0.3) {
			// Characters no piece holds: byte tokens, or <unk> without them.
			words = append(words, pick(g, []string{"Sara", "42", "é", "a.b", "x\ty", "?!"}))
		}
		gen.Prompt = strings.Join(words, " ")
		steps := gen.Steps
		if steps == 0 {
			steps = min(256, g.consts["context"])
		}
		// Keep generated tokens after the prompt.
		for gen.Prompt != "" {
			ids, err := tok.Encode(gen.Prompt, true, false)
			if err == nil && len(ids) < steps {
				break
			}
			gen.Prompt = gen.Prompt[:len(gen.Prompt)-1]
		}
	}
}
