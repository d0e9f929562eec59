package lang

import (
	"slices"
	"strconv"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"

	"tfc/op"
)

const endMessage = "the forward pass must end, after the layer block, with NAME = argmax(…) or NAME = sample(…)"

// fwd is the state of checking the forward pass.
type fwd struct {
	c       *checker
	env     map[string]int  // bound value → its length
	anyBind map[string]bool // every name some statement binds
	inLayer bool

	// In the layer block: the caches stored so far, the names bound so far,
	// the names read before being bound there (loop-carried values, in
	// order) and the statement that last bound each name.
	stored    map[string]bool
	bound     map[string]bool
	carried   []string
	lastBound map[string]*Statement
}

func (c *checker) checkForward() {
	f := c.forward
	var pre, post []*Statement
	var layer *LayerBlock
	for _, it := range f.Items {
		switch {
		case it.Layer != nil:
			if layer != nil {
				c.fail(it.Layer.Pos, "duplicate layer block (the first is at line %d)", layer.Pos.Line)
			}
			layer = it.Layer
		case layer == nil:
			pre = append(pre, it.Stmt)
		default:
			post = append(post, it.Stmt)
		}
	}
	if layer == nil {
		c.fail(f.Pos, "the forward pass has no layer block")
	}
	fw := &fwd{c: c, env: map[string]int{}, anyBind: map[string]bool{}}
	for _, it := range f.Items {
		if it.Stmt != nil {
			fw.anyBind[it.Stmt.Target] = true
		} else {
			for _, s := range it.Layer.Stmts {
				fw.anyBind[s.Target] = true
			}
		}
	}
	for _, s := range pre {
		c.p.Pre = append(c.p.Pre, fw.stmt(s, false))
	}

	fw.inLayer = true
	fw.stored, fw.bound, fw.lastBound = map[string]bool{}, map[string]bool{}, map[string]*Statement{}
	before := map[string]int{}
	for k, v := range fw.env {
		before[k] = v
	}
	for _, s := range layer.Stmts {
		c.p.Layer = append(c.p.Layer, fw.stmt(s, false))
	}
	for _, name := range fw.carried {
		if fw.env[name] != before[name] {
			c.fail(fw.lastBound[name].Pos, "the layer block reads %s with %d elements but rebinds it with %d (the block repeats for each layer)",
				name, before[name], fw.env[name])
		}
	}
	fw.inLayer = false

	for i, s := range post {
		c.p.Post = append(c.p.Post, fw.stmt(s, i == len(post)-1))
	}
	if len(post) == 0 {
		end := f.EndPos // just after the closing brace
		end.Column--
		end.Offset--
		c.fail(end, endMessage)
	}
	last := post[len(post)-1]
	if r, _ := op.Lookup(last.Call.Op); r == nil || !r.Ends {
		c.fail(last.Pos, endMessage)
	}
	c.checkSampler(last.Call)
}

// checkSampler checks that the final op agrees with the generate sampler.
func (c *checker) checkSampler(call *CallExpr) {
	g := c.p.Gen
	var sampler *Sampler
	if c.generate != nil {
		for _, it := range c.generate.Items {
			if it.Sampler != nil {
				sampler = it.Sampler
			}
		}
	}
	switch call.Op {
	case "sample":
		if sampler == nil {
			c.fail(call.Pos, "sample needs a temperature sampler, but the sampler is greedy (the default): add sampler temperature T to generate")
		}
		if sampler.Greedy {
			c.fail(call.Pos, "sample needs a temperature sampler, but generate says sampler greedy (line %d)", sampler.Pos.Line)
		}
	case "argmax":
		if !g.Greedy {
			c.fail(call.Pos, "argmax ignores the sampler temperature %g (line %d): use sample(…), or sampler greedy", g.Temperature, sampler.Pos.Line)
		}
	}
}

func (fw *fwd) stmt(s *Statement, isLast bool) *Stmt {
	c := fw.c
	call := s.Call
	if s.Target != "" {
		fw.checkTarget(s.Pos, s.Target)
	}
	if r, known := op.Lookup(call.Op); known {
		switch {
		case r.Ends && !isLast:
			c.fail(call.Pos, "%s can only be the last statement of the forward pass", call.Op)
		case !r.Binds && s.Target != "":
			c.fail(s.Pos, "%s returns no value, so it cannot be bound", call.Op)
		case r.Binds && s.Target == "":
			c.fail(call.Pos, "the result of %s is not used: bind it, as in NAME = %s(…)", call.Op, call.Op)
		}
	}
	e := fw.call(call, true)
	if s.Target != "" {
		fw.env[s.Target] = e.Len
		if fw.inLayer {
			fw.bound[s.Target] = true
			fw.lastBound[s.Target] = s
		}
	}
	return &Stmt{Pos: PosOf(s.Pos), Target: s.Target, Call: e}
}

// checkTarget rejects binding a name that is not a value's.
func (fw *fwd) checkTarget(pos lexer.Position, name string) {
	c := fw.c
	switch {
	case name == "token" || name == "pos":
		c.fail(pos, "cannot bind %q: it is predefined", name)
	case c.param[name] != nil:
		c.fail(pos, "cannot bind %q: it is a param", name)
	case c.cache[name] != nil:
		c.fail(pos, "cannot bind %q: it is a cache", name)
	case c.constDef[name] != nil:
		c.fail(pos, "cannot bind %q: it is a config constant", name)
	}
}

func (fw *fwd) call(ce *CallExpr, top bool) *Expr {
	c := fw.c
	rows := op.Overloads(ce.Op)
	if len(rows) == 0 {
		c.fail(ce.Pos, "unknown operation %q (the operations: %s)", ce.Op, strings.Join(op.Names(), ", "))
	}
	r := rows[0]
	if !top {
		switch {
		case !r.Binds:
			c.fail(ce.Pos, "%s returns no value, so it cannot be an argument", ce.Op)
		case r.Ends:
			c.fail(ce.Pos, "%s can only be the last statement of the forward pass", ce.Op)
		}
	}
	var args []*Arg
	var opts []*Option
	for _, a := range ce.Args {
		if a.Option != nil {
			opts = append(opts, a.Option)
		} else {
			args = append(args, a)
		}
	}
	// The rows that take as many arguments.
	var cands []*op.Row
	var arities []int
	for _, row := range rows {
		if len(row.Args) == len(args) {
			cands = append(cands, row)
		}
		if !slices.Contains(arities, len(row.Args)) {
			arities = append(arities, len(row.Args))
		}
	}
	if len(cands) == 0 {
		c.fail(ce.Pos, "%s takes %s, not %d", ce.Op, arityText(arities), len(args))
	}
	if r.LayerOnly && !fw.inLayer {
		c.fail(ce.Pos, "%s can only be used inside the layer block", ce.Op)
	}
	e := &Expr{Pos: PosOf(ce.Pos), Kind: Call, Op: ce.Op}
	for i, a := range args {
		var wants []op.ArgKind
		for _, row := range cands {
			if !slices.Contains(wants, row.Args[i]) {
				wants = append(wants, row.Args[i])
			}
		}
		x, k := fw.arg(a, wants, ce.Op, i)
		e.Args = append(e.Args, x)
		var keep []*op.Row
		for _, row := range cands {
			if row.Args[i] == k || (k == op.Int && row.Args[i] == op.Number) {
				keep = append(keep, row)
			}
		}
		cands = keep
	}
	r = cands[0]
	e.Row = r
	e.Opts = fw.options(ce.Op, r, opts)
	fw.shape(e, r, opts)
	return e
}

// arityText words the argument counts an op takes: "2 or 3 arguments".
func arityText(ns []int) string {
	slices.Sort(ns)
	if len(ns) == 1 {
		return plural(ns[0], "argument")
	}
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = itoa(n)
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1] + " arguments"
}

// options checks the options a call names against its row's.
func (fw *fwd) options(name string, r *op.Row, opts []*Option) map[string]float64 {
	c := fw.c
	if len(opts) == 0 {
		return nil
	}
	vals := map[string]float64{}
	for _, o := range opts {
		spec, ok := r.Option(o.Name)
		if !ok {
			if len(r.Opts) == 0 {
				c.fail(o.Pos, "%s has no options", name)
			}
			var names []string
			for _, x := range r.Opts {
				names = append(names, x.Name)
			}
			c.fail(o.Pos, "%s has no option %q (its options: %s)", name, o.Name, strings.Join(names, ", "))
		}
		if _, dup := vals[o.Name]; dup {
			c.fail(o.Pos, "%s: option %s is given twice", name, o.Name)
		}
		v := o.Value.Value()
		if spec.Int && (o.Value.Int == nil) {
			c.fail(o.Value.Pos, "%s: %s must be an integer, not %g", name, o.Name, v)
		}
		if spec.Check != nil {
			if msg := spec.Check(v); msg != "" {
				c.fail(o.Value.Pos, "%s: %s", name, msg)
			}
		}
		vals[o.Name] = v
	}
	return vals
}

func plural(n int, what string) string {
	switch n {
	case 0:
		return "no " + what + "s"
	case 1:
		return "1 " + what
	}
	return itoa(n) + " " + what + "s"
}

// kindsText words the argument kinds a position takes: "a vector or a
// param".
func kindsText(ks []op.ArgKind) string {
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = k.String()
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

// arg resolves argument i, which must be of one of the kinds wants, and
// returns it with its kind.
func (fw *fwd) arg(a *Arg, wants []op.ArgKind, opName string, i int) (*Expr, op.ArgKind) {
	c := fw.c
	var e *Expr
	switch {
	case a.Call != nil:
		if !slices.Contains(wants, op.Vector) {
			c.fail(a.Pos, "%s: argument %d must be %s, not the result of %s(…)", opName, i+1, kindsText(wants), a.Call.Op)
		}
		return fw.call(a.Call, false), op.Vector
	case a.Lit != nil && a.Lit.Int != nil:
		v := int64(*a.Lit.Int)
		if a.Lit.Neg {
			v = -v
		}
		e = &Expr{Pos: PosOf(a.Pos), Kind: Const, Int: int(v)}
	case a.Lit != nil:
		e = &Expr{Pos: PosOf(a.Pos), Kind: Decimal, Num: a.Lit.Value()}
	default:
		e = fw.resolve(a.Pos, a.Name)
	}
	var k op.ArgKind
	switch e.Kind {
	case ValueRef:
		k = op.Vector
	case ParamRef:
		k = op.Param
	case CacheRef:
		k = op.Cache
	case Const:
		k = op.Int
		if !slices.Contains(wants, op.Int) {
			k = op.Number
		}
	case Decimal:
		k = op.Number
	case Input:
		k = op.Token
		if e.Name == "pos" {
			k = op.Pos
		}
	}
	if !slices.Contains(wants, k) {
		c.fail(a.Pos, "%s: argument %d must be %s, not %s", opName, i+1, kindsText(wants), describe(e))
	}
	if e.Kind == ParamRef && c.param[e.Name].PerLayer && !fw.inLayer {
		c.fail(a.Pos, "%s is a per-layer param: it can only be used inside the layer block", e.Name)
	}
	if e.Kind == ValueRef && fw.inLayer && !fw.bound[e.Name] && !contains(fw.carried, e.Name) {
		fw.carried = append(fw.carried, e.Name)
	}
	return e, k
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// describe names a resolved argument in a message.
func describe(e *Expr) string {
	switch e.Kind {
	case ValueRef:
		return "the value " + quote(e.Name)
	case ParamRef:
		return "the param " + quote(e.Name)
	case CacheRef:
		return "the cache " + quote(e.Name)
	case Const:
		if e.Name != "" {
			return "the constant " + quote(e.Name)
		}
		return "the integer " + itoa(e.Int)
	case Input:
		return quote(e.Name)
	case Decimal:
		return "the decimal " + decimal(e.Num)
	}
	return "the result of " + e.Op + "(…)"
}

// resolve resolves a name used as an argument.
func (fw *fwd) resolve(at lexer.Position, name string) *Expr {
	c := fw.c
	pos := PosOf(at)
	if n, ok := fw.env[name]; ok {
		return &Expr{Pos: pos, Kind: ValueRef, Name: name, Len: n}
	}
	if c.param[name] != nil {
		return &Expr{Pos: pos, Kind: ParamRef, Name: name}
	}
	if c.cache[name] != nil {
		return &Expr{Pos: pos, Kind: CacheRef, Name: name}
	}
	if c.constDef[name] != nil {
		return &Expr{Pos: pos, Kind: Const, Name: name, Int: c.p.Consts[name]}
	}
	if name == "token" || name == "pos" {
		return &Expr{Pos: pos, Kind: Input, Name: name}
	}
	if fw.anyBind[name] {
		c.failAt(pos, "%s is used before it is bound", name)
	}
	c.failAt(pos, "unknown name %q", name)
	return nil
}

// valueName names a vector argument in a message.
func valueName(e *Expr) string {
	if e.Kind == Call {
		return e.Op + "(…)"
	}
	return e.Name
}

// shape infers the length of a call's result by its row's rule, checks its
// options, then makes the checks that need more than the arguments' shapes.
func (fw *fwd) shape(e *Expr, r *op.Row, opts []*Option) {
	c := fw.c
	p := c.p
	args := make([]op.Arg, len(e.Args))
	for i, x := range e.Args {
		switch r.Args[i] {
		case op.Vector:
			args[i] = op.Arg{Name: valueName(x), Len: x.Len}
		case op.Param:
			args[i] = op.Arg{Name: x.Name, Dims: c.param[x.Name].Dims()}
		case op.Cache:
			args[i] = op.Arg{Name: x.Name, Width: c.cache[x.Name].Width}
		case op.Int:
			args[i] = op.Arg{Name: x.Name, Int: x.Int}
		case op.Number:
			args[i] = op.Arg{Name: x.Name, Num: x.Num}
			if x.Kind == Const {
				args[i].Num = float64(x.Int)
			}
		}
	}
	n, err := r.Length(args, op.Config{Vocab: p.Vocab, Heads: p.Heads, KVHeads: p.KVHeads, Context: p.Context})
	if err == nil {
		err = r.CheckOpts(args, r.Defaults(e.Opts))
		if err != nil {
			// At the option the message names, when the call names it.
			for _, o := range opts {
				if strings.Contains(err.Msg, o.Name) {
					c.failAt(PosOf(o.Value.Pos), "%s", err.Msg)
				}
			}
		}
	}
	if err != nil {
		pos := e.Pos
		if err.Arg >= 0 {
			pos = e.Args[err.Arg].Pos
		}
		c.failAt(pos, "%s", err.Msg)
	}
	e.Len = n
	a := e.Args
	fixed := func(x *Expr, what string) {
		// The op adds or multiplies its weights in Q16.16 (spec.md section 6).
		if q := c.param[x.Name]; q.Quant.Type != "fixed" {
			c.failAt(x.Pos, "%s: the %s %s must be fixed, not %s", e.Op, what, q.Name, q.Quant)
		}
	}
	switch r.Kind {
	case op.RMSNorm:
		fixed(a[1], "weights")
	case op.LayerNorm:
		fixed(a[1], "weights")
		if len(a) > 2 {
			fixed(a[2], "biases")
		}
	case op.Bias:
		fixed(a[1], "biases")
	case op.Store:
		fw.stored[a[0].Name] = true
	case op.Attention:
		if !fw.stored[a[1].Name] {
			c.failAt(e.Pos, "attention reads cache %s before the layer block stores into it", a[1].Name)
		}
	}
}

func quote(s string) string { return strconv.Quote(s) }

func itoa(n int) string { return strconv.Itoa(n) }

// decimal prints a decimal literal's value with a point or an exponent.
func decimal(v float64) string {
	s := strconv.FormatFloat(v, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0"
	}
	return s
}
