package lang

import (
	"fmt"
	"strconv"
	"strings"

	"tfc/op"
)

// Program is a checked .tf file with every name resolved: what the IR
// lowering consumes.
type Program struct {
	Name string
	Pos  Pos    // the model declaration: where whole-model errors point
	Dir  string // directory of the .tf file ("." for a file in the working directory)

	Weights   WeightsSource
	Tokenizer TokenizerSource

	// Consts holds every config constant (the seven hyper-parameters and the
	// derived ones); ConstOrder lists them in definition order.
	Consts     map[string]int
	ConstOrder []string

	Dim, Hidden, Layers, Heads, KVHeads, Vocab, Context int

	Params []*Param // in declaration order
	Caches []*Cache // in declaration order

	// The forward pass: the statements before the layer block, inside it
	// (run once per layer) and after it. The last statement of Post binds
	// argmax or sample.
	Pre, Layer, Post []*Stmt

	Gen Generate

	// Boot is the boot declaration's path: "full", "lean" or "" (none).
	Boot string
}

// WeightsSource says where the weights come from.
type WeightsSource struct {
	Pos        Pos
	Checkpoint string // the checkpoint path as written ("" for random weights)
	Path       string // the checkpoint path joined with Dir (unless absolute)
	Random     bool
	Seed       int64 // for random weights
}

// TokenizerSource says where the tokenizer comes from.
type TokenizerSource struct {
	Pos       Pos
	Synthetic bool
	Path      string // the tokenizer path joined with Dir (unless absolute)
	Written   string // the path as written
}

// Param is a weight tensor.
type Param struct {
	Pos      Pos
	Name     string
	Shape    []int // the full shape, with the layer dimension first when PerLayer
	PerLayer bool
	Quant    Quant
}

// Dims is the shape of one layer's slice (the shape without the layer
// dimension when PerLayer).
func (p *Param) Dims() []int {
	if p.PerLayer {
		return p.Shape[1:]
	}
	return p.Shape
}

// IsVector says whether one slice of p has one dimension.
func (p *Param) IsVector() bool { return len(p.Dims()) == 1 }

// Quant is how a param is stored in the image.
type Quant struct {
	Type string // "fixed", "int8" or "int16"
	Per  string // "tensor", "layer" or "row" for int8/int16; "" for fixed
}

func (q Quant) String() string {
	if q.Per == "" {
		return q.Type
	}
	return q.Type + " per " + q.Per
}

// Cache is a KV cache: keys and values of Width elements per layer and
// position, with one scale per position and head.
type Cache struct {
	Pos                    Pos
	Name                   string
	Layers, Context, Width int
	Type                   string // "int8" or "int16"
}

// Stmt is one statement of the forward pass.
type Stmt struct {
	Pos    Pos
	Target string // the value bound; "" for store
	Call   *Expr  // always of Kind Call
}

// ExprKind says what an Expr is.
type ExprKind int

// The kinds of Expr.
const (
	Call     ExprKind = iota // Op(Args...)
	ParamRef                 // a param, by Name
	CacheRef                 // a cache, by Name
	ValueRef                 // a value bound by an earlier statement, by Name
	Const                    // an integer: a config constant (Name) or a literal (Name ""); Int holds it
	Input                    // token or pos, by Name
	Decimal                  // a number literal with a point or an exponent; Num holds it
)

var kindNames = [...]string{"call", "param", "cache", "value", "const", "input", "decimal"}

func (k ExprKind) String() string {
	if int(k) >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "ExprKind(" + strconv.Itoa(int(k)) + ")"
}

// Expr is a resolved argument or call.
type Expr struct {
	Pos  Pos
	Kind ExprKind
	Op   string  // for Call
	Args []*Expr // for Call
	Name string  // for ParamRef, CacheRef, ValueRef, Input, and a named Const
	Int  int     // for Const
	Num  float64 // for Decimal
	// Row is the op table's row of a Call (of its name, the one whose
	// arguments' kinds the call's have); Opts the options it names.
	Row  *op.Row
	Opts map[string]float64
	// Len is the length of the vector a Call or ValueRef produces; 0 for
	// store, argmax and sample and for the other kinds.
	Len int
}

// MinTemperature is the smallest temperature above 0: the sampler
// multiplies by round(2^16/temperature) in 31 bits (spec.md section 6).
const MinTemperature = 65536.0 / (1<<31 - 1)

// Generate is the generation setup, with the defaults filled in.
type Generate struct {
	Prompt    string
	PromptPos Pos // where the prompt is written (Line 0: not in the file)
	// Typed: prompt = typed, the image reads its prompts from the keyboard
	// and COM1 (Prompt is then empty).
	Typed bool
	Steps int
	// Greedy: the next token is the argmax (sampler greedy, the default, or
	// a temperature of 0).
	Greedy      bool
	Temperature float64
	TopP        float64
	Seed        uint64
	// SeedClock: seed clock, the sampler's generator seeded from the clock
	// at the start of each generation (Seed is then the default).
	SeedClock bool
}

// String prints e as written, with the inferred length of each vector
// after a colon: add(x:64, matmul(wo, v:32):64):64.
func (e *Expr) String() string {
	var b strings.Builder
	e.write(&b)
	return b.String()
}

func (e *Expr) write(b *strings.Builder) {
	switch e.Kind {
	case Call:
		b.WriteString(e.Op)
		b.WriteByte('(')
		for i, a := range e.Args {
			if i > 0 {
				b.WriteString(", ")
			}
			a.write(b)
		}
		if e.Row != nil {
			for _, o := range e.Row.Opts {
				if v, ok := e.Opts[o.Name]; ok {
					fmt.Fprintf(b, ", %s = %g", o.Name, v)
				}
			}
		}
		b.WriteByte(')')
	case Const:
		if e.Name != "" {
			fmt.Fprintf(b, "%s=%d", e.Name, e.Int)
		} else {
			b.WriteString(strconv.Itoa(e.Int))
		}
		return
	case Decimal:
		b.WriteString(decimal(e.Num))
		return
	default:
		b.WriteString(e.Name)
	}
	if e.Len > 0 {
		fmt.Fprintf(b, ":%d", e.Len)
	}
}

func (s *Stmt) String() string {
	if s.Target == "" {
		return s.Call.String()
	}
	return s.Target + " = " + s.Call.String()
}

// String prints the program in a stable, readable form (used by golden
// tests and `tfc check`).
func (p *Program) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "model %s\n", p.Name)
	fmt.Fprintf(&b, "dir %s\n", p.Dir)
	if p.Weights.Random {
		fmt.Fprintf(&b, "weights random seed %d\n", p.Weights.Seed)
	} else {
		fmt.Fprintf(&b, "weights checkpoint %q (%s)\n", p.Weights.Checkpoint, p.Weights.Path)
	}
	if p.Tokenizer.Synthetic {
		fmt.Fprintf(&b, "tokenizer synthetic\n")
	} else {
		fmt.Fprintf(&b, "tokenizer %q (%s)\n", p.Tokenizer.Written, p.Tokenizer.Path)
	}
	fmt.Fprintf(&b, "config dim=%d hidden=%d layers=%d heads=%d kv_heads=%d vocab=%d context=%d\n",
		p.Dim, p.Hidden, p.Layers, p.Heads, p.KVHeads, p.Vocab, p.Context)
	fmt.Fprintf(&b, "consts")
	for _, n := range p.ConstOrder {
		fmt.Fprintf(&b, " %s=%d", n, p.Consts[n])
	}
	b.WriteByte('\n')
	for _, q := range p.Params {
		layer := ""
		if q.PerLayer {
			layer = " per-layer"
		}
		fmt.Fprintf(&b, "param %s %s%s : %s\n", q.Name, formatShape(q.Shape), layer, q.Quant)
	}
	for _, c := range p.Caches {
		fmt.Fprintf(&b, "cache %s [%d, %d, %d] : %s per token_head\n", c.Name, c.Layers, c.Context, c.Width, c.Type)
	}
	for _, blk := range []struct {
		name  string
		stmts []*Stmt
	}{{"pre", p.Pre}, {"layer", p.Layer}, {"post", p.Post}} {
		fmt.Fprintf(&b, "%s:\n", blk.name)
		for _, s := range blk.stmts {
			fmt.Fprintf(&b, "  %s\n", s)
		}
	}
	g := p.Gen
	if g.Typed {
		fmt.Fprintf(&b, "generate prompt=typed steps=%d", g.Steps)
	} else {
		fmt.Fprintf(&b, "generate prompt=%q steps=%d", g.Prompt, g.Steps)
	}
	switch {
	case g.Greedy && g.Temperature == 0 && g.TopP == 0:
		fmt.Fprintf(&b, " greedy\n")
	case g.SeedClock:
		fmt.Fprintf(&b, " greedy=%v temperature=%g top_p=%g seed=clock\n", g.Greedy, g.Temperature, g.TopP)
	default:
		fmt.Fprintf(&b, " greedy=%v temperature=%g top_p=%g seed=%d\n", g.Greedy, g.Temperature, g.TopP, g.Seed)
	}
	return b.String()
}
