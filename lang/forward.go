package lang

import (
	"strconv"

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
	r, ok := op.Lookup(ce.Op)
	if !ok {
		c.fail(ce.Pos, "unknown operation %q", ce.Op)
	}
	if !top {
		switch {
		case !r.Binds:
			c.fail(ce.Pos, "%s returns no value, so it cannot be an argument", ce.Op)
		case r.Ends:
			c.fail(ce.Pos, "%s can only be the last statement of the forward pass", ce.Op)
		}
	}
	if len(ce.Args) != len(r.Args) {
		c.fail(ce.Pos, "%s takes %s, not %d", ce.Op, plural(len(r.Args), "argument"), len(ce.Args))
	}
	if r.LayerOnly && !fw.inLayer {
		c.fail(ce.Pos, "%s can only be used inside the layer block", ce.Op)
	}
	e := &Expr{Pos: PosOf(ce.Pos), Kind: Call, Op: ce.Op}
	for i, a := range ce.Args {
		e.Args = append(e.Args, fw.arg(a, r.Args[i], ce.Op, i))
	}
	fw.shape(e, r)
	return e
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

// arg resolves one argument that must be of kind want.
func (fw *fwd) arg(a *Arg, want op.ArgKind, opName string, i int) *Expr {
	c := fw.c
	var e *Expr
	switch {
	case a.Call != nil:
		if want != op.Vector {
			c.fail(a.Pos, "%s: argument %d must be %s, not the result of %s(…)", opName, i+1, want, a.Call.Op)
		}
		return fw.call(a.Call, false)
	case a.Int != nil:
		e = &Expr{Pos: PosOf(a.Pos), Kind: Const, Int: int(*a.Int)}
	default:
		e = fw.resolve(a.Pos, a.Name)
	}
	ok := false
	switch want {
	case op.Vector:
		ok = e.Kind == ValueRef
	case op.Param:
		ok = e.Kind == ParamRef
	case op.Cache:
		ok = e.Kind == CacheRef
	case op.Int:
		ok = e.Kind == Const
	case op.Token:
		ok = e.Kind == Input && e.Name == "token"
	}
	if !ok {
		c.fail(a.Pos, "%s: argument %d must be %s, not %s", opName, i+1, want, describe(e))
	}
	if e.Kind == ParamRef && c.param[e.Name].PerLayer && !fw.inLayer {
		c.fail(a.Pos, "%s is a per-layer param: it can only be used inside the layer block", e.Name)
	}
	if e.Kind == ValueRef && fw.inLayer && !fw.bound[e.Name] && !contains(fw.carried, e.Name) {
		fw.carried = append(fw.carried, e.Name)
	}
	return e
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

// shape infers the length of a call's result by its row's rule, then makes
// the checks that need more than the arguments' shapes.
func (fw *fwd) shape(e *Expr, r *op.Row) {
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
		}
	}
	n, err := r.Length(args, op.Config{Vocab: p.Vocab, Heads: p.Heads, KVHeads: p.KVHeads})
	if err != nil {
		pos := e.Pos
		if err.Arg >= 0 {
			pos = e.Args[err.Arg].Pos
		}
		c.failAt(pos, "%s", err.Msg)
	}
	e.Len = n
	a := e.Args
	switch r.Kind {
	case op.RMSNorm:
		if g := c.param[a[1].Name]; g.Quant.Type != "fixed" {
			// The norm multiplies by its weights in Q16.16 (spec.md section 6).
			c.failAt(a[1].Pos, "rmsnorm: the weights %s must be fixed, not %s", g.Name, g.Quant)
		}
	case op.Store:
		fw.stored[a[0].Name] = true
	case op.Attention:
		if !fw.stored[a[1].Name] {
			c.failAt(e.Pos, "attention reads cache %s before the layer block stores into it", a[1].Name)
		}
	case op.Sample:
		if p.Vocab > MaxSampleVocab {
			c.failAt(e.Pos, "sample: vocab %d is more than %d, the most whose softmax weights the image sums in 32 bits", p.Vocab, MaxSampleVocab)
		}
	}
}

func quote(s string) string { return strconv.Quote(s) }

func itoa(n int) string { return strconv.Itoa(n) }
