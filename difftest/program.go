// Package difftest tests the whole compiler differentially: it generates
// random valid .tf programs, runs each in the simulator and boots the image
// of every configuration that builds (-Os and -O2, segmented and flat), and
// requires the same tokens and the same logits at every step; a program the
// compiler rejects must be rejected with a message. A failing program is
// reduced to a small reproducer.
package difftest

import (
	"fmt"
	"strings"
)

// Program is a generated .tf program in the form the generator builds and
// the reducer edits; String prints it as source. Dimensions are written as
// expressions over the config constants, so that shrinking a constant
// shrinks every shape that names it.
type Program struct {
	Name   string
	Seed   int64
	Consts []Const // config, in order: the seven, then derived ones
	Params []*Param
	Quants []Quant
	Caches []*Cache

	Pre, Layer, Post []*Stmt
	Gen              GenBlock
}

// Const is one config constant: NAME = Expr.
type Const struct{ Name, Expr string }

// Param is a weight tensor; Dims are dimension expressions ("layers" first
// for a per-layer param).
type Param struct {
	Name string
	Dims []string
}

// Quant is one quant declaration.
type Quant struct {
	Names []string
	Type  string // "fixed", "int8 per tensor", …
}

// Cache is a KV cache of Width (an expression) with Type int8 or int16.
type Cache struct {
	Name, Width, Type string
}

// Stmt is one statement: Target = Call, or a bare store.
type Stmt struct {
	Target string
	Call   *Expr
}

// Expr is a call (Op set) or a name or number argument.
type Expr struct {
	Op   string
	Args []*Expr
	Name string // a value, param, cache, constant, token or pos
	Int  int    // a literal when Name, Op and Lit are empty
	Lit  string // a number literal as written ("0.5", "-2")
	// Opts are a call's options, NAME = literal, written after its
	// arguments.
	Opts []Opt
}

// Opt is an option of a call.
type Opt struct{ Name, Value string }

// GenBlock is the generate block; an empty Sampler is left out.
type GenBlock struct {
	Prompt  string
	Steps   int
	Sampler string // "sampler greedy", "sampler temperature 0.8 top_p 0.9 seed 3", or ""
}

func call(op string, args ...*Expr) *Expr { return &Expr{Op: op, Args: args} }
func ref(name string) *Expr               { return &Expr{Name: name} }
func lit(n int) *Expr                     { return &Expr{Int: n} }
func num(s string) *Expr                  { return &Expr{Lit: s} }

func (e *Expr) String() string {
	switch {
	case e.Op != "":
		args := make([]string, len(e.Args))
		for i, a := range e.Args {
			args[i] = a.String()
		}
		for _, o := range e.Opts {
			args = append(args, o.Name+" = "+o.Value)
		}
		return e.Op + "(" + strings.Join(args, ", ") + ")"
	case e.Name != "":
		return e.Name
	case e.Lit != "":
		return e.Lit
	}
	return fmt.Sprint(e.Int)
}

func (s *Stmt) String() string {
	if s.Target == "" {
		return s.Call.String()
	}
	return s.Target + " = " + s.Call.String()
}

// String prints p as a .tf file.
func (p *Program) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "model %s\n\nweights random seed %d\ntokenizer synthetic\n\nconfig {\n", p.Name, p.Seed)
	for _, c := range p.Consts {
		fmt.Fprintf(&b, "  %s = %s\n", c.Name, c.Expr)
	}
	b.WriteString("}\n\n")
	for _, q := range p.Params {
		fmt.Fprintf(&b, "param %s [%s]\n", q.Name, strings.Join(q.Dims, ", "))
	}
	for _, q := range p.Quants {
		fmt.Fprintf(&b, "quant %s : %s\n", strings.Join(q.Names, ", "), q.Type)
	}
	for _, c := range p.Caches {
		fmt.Fprintf(&b, "cache %s [layers, context, %s] : %s per token_head\n", c.Name, c.Width, c.Type)
	}
	b.WriteString("\nforward {\n")
	for _, s := range p.Pre {
		fmt.Fprintf(&b, "  %s\n", s)
	}
	b.WriteString("  layer {\n")
	for _, s := range p.Layer {
		fmt.Fprintf(&b, "    %s\n", s)
	}
	b.WriteString("  }\n")
	for _, s := range p.Post {
		fmt.Fprintf(&b, "  %s\n", s)
	}
	b.WriteString("}\n\ngenerate {\n")
	if p.Gen.Prompt != "" {
		fmt.Fprintf(&b, "  prompt = %q\n", p.Gen.Prompt)
	}
	if p.Gen.Steps > 0 {
		fmt.Fprintf(&b, "  steps = %d\n", p.Gen.Steps)
	}
	if p.Gen.Sampler != "" {
		fmt.Fprintf(&b, "  %s\n", p.Gen.Sampler)
	}
	b.WriteString("}\n")
	return b.String()
}

// Clone returns a deep copy of p, for the reducer's candidates.
func (p *Program) Clone() *Program {
	q := *p
	q.Consts = append([]Const(nil), p.Consts...)
	q.Params = nil
	for _, x := range p.Params {
		c := *x
		c.Dims = append([]string(nil), x.Dims...)
		q.Params = append(q.Params, &c)
	}
	q.Quants = nil
	for _, x := range p.Quants {
		q.Quants = append(q.Quants, Quant{Names: append([]string(nil), x.Names...), Type: x.Type})
	}
	q.Caches = nil
	for _, x := range p.Caches {
		c := *x
		q.Caches = append(q.Caches, &c)
	}
	q.Pre, q.Layer, q.Post = cloneStmts(p.Pre), cloneStmts(p.Layer), cloneStmts(p.Post)
	return &q
}

func cloneStmts(ss []*Stmt) []*Stmt {
	var out []*Stmt
	for _, s := range ss {
		out = append(out, &Stmt{Target: s.Target, Call: s.Call.clone()})
	}
	return out
}

func (e *Expr) clone() *Expr {
	c := *e
	c.Opts = append([]Opt(nil), e.Opts...)
	c.Args = nil
	for _, a := range e.Args {
		c.Args = append(c.Args, a.clone())
	}
	return &c
}

// blocks returns pointers to the three statement lists.
func (p *Program) blocks() []*[]*Stmt { return []*[]*Stmt{&p.Pre, &p.Layer, &p.Post} }
