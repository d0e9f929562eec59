// Package op is the table of the language's operations, as QBE's ops.h is
// for its IL: one row per op with its name, its arguments, where it may
// appear, whether it may write its first argument in place, the tables it
// reads and the rule that gives the length of its result.
//
// The checks of lang/, and the lowering, shape inference, table building
// and verifier of ir/ all read this table, so that adding an op is a row
// here, its integer and float semantics in ir/ (keyed by Kind), and its
// code generation. It imports nothing of the compiler, so that every stage
// may import it.
package op

import "strconv"

// Kind is an operation of the tensor IR. The ops of one family share a
// kind and are told apart by the row's Func: silu and gelu are both Gate,
// x·g(x) with g tabulated, so that one kernel serves every gate function.
type Kind int

// The kinds: those of the first language, then those added since (their
// numbers are not part of anything stored).
const (
	Embed Kind = iota
	RMSNorm
	MatMul
	RoPE
	Store
	Attention
	Gate
	Mul
	Add
	Argmax
	Sample
	LayerNorm // (x − mean)·g / sqrt(var + eps) [+ b]
	Relu      // max(x, 0)
	Bias      // x + b, b a param vector
	Scale     // x · c, c a constant
	Sub       // a − b

	NumKinds // the number of kinds, for tables indexed by Kind
)

var kindNames = [NumKinds]string{"embed", "rmsnorm", "matmul", "rope", "store", "attention", "gate", "mul", "add", "argmax", "sample",
	"layernorm", "relu", "bias", "scale", "sub"}

func (k Kind) String() string {
	if k >= 0 && k < NumKinds {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// ArgKind is what an argument must be (spec.md section 3).
type ArgKind int

// The argument kinds.
const (
	Vector ArgKind = iota // a bound value or a call
	Param                 // a param
	Cache                 // a cache
	Int                   // a config constant or an integer literal
	Token                 // the input token
	Pos                   // the input position
	Number                // a config constant or a number literal (integer or decimal)
)

var argKindNames = [...]string{"a vector", "a param", "a cache", "an integer (a constant or a number)", "token", "pos", "a number"}

// String is how messages name the kind: "must be a vector".
func (k ArgKind) String() string { return argKindNames[k] }

// Table is a constant table an op reads, which the IR's build_tables pass
// makes.
type Table int

// The tables.
const (
	NoTable   Table = iota
	ExpTable        // exp(−d), one for the program
	GateTable       // the gate function g of x·g(x), one per Func
	RoPETable       // cosines and sines per position, one per head size
)

// Row is one op of the language.
type Row struct {
	Name string    // as written in a .tf file
	Kind Kind      // the IR operation it lowers to
	Func string    // within a family sharing Kind, which member ("silu"); "" for the others
	Args []ArgKind // what each argument must be
	Form string    // how it is written, for messages and the spec: "rmsnorm(x, g)"

	// Binds says that a statement binds its result: every op but store,
	// which returns nothing.
	Binds bool
	// LayerOnly ops work on the current layer's slice of a cache, so they
	// appear only in the layer block.
	LayerOnly bool
	// Ends ops choose the next token: only the forward pass's last
	// statement, after the layer block, may be one.
	Ends bool
	// InPlace ops read each element before writing it, so their result may
	// overwrite their first argument.
	InPlace bool
	// ReadsPos ops take the position, an implicit operand, besides their
	// arguments.
	ReadsPos bool
	// Table is the table the op reads.
	Table Table

	// Opts are the options a call may name after its arguments
	// (rmsnorm(x, g, eps = 1e-6)), each with its default.
	Opts []Option

	// shape gives the length of the result (0 when it is not a vector) or
	// what is wrong, without the "name: " that Length puts in front.
	shape func(a []Arg, c Config) (int, *ShapeError)
	// opts checks the options' values against the arguments (nil: any
	// value their Option allows).
	opts func(a []Arg, o Opts) *ShapeError
}

// Option is an option of an op: NAME = number in a call.
type Option struct {
	Name    string
	Default float64
	// Int options take integers only.
	Int bool
	// Check says what is wrong with a value, or "" (nil: any value).
	Check func(v float64) string
}

// Opts are the values of a call's options by name, every option of its
// row present (the defaults filled in).
type Opts map[string]float64

// Arg is what a shape rule knows of one argument, by the argument's kind: a
// vector's Len, a param's Dims (one layer's slice: [n] for a vector, [rows,
// cols] for a matrix), a cache's Width, an integer's Int. Name is how a
// message names it ("x", "matmul(…)", "wq").
type Arg struct {
	Name  string
	Len   int
	Dims  []int
	Width int
	Int   int
	Num   float64 // a Number argument's value
}

// Config is what a shape rule knows of the model.
type Config struct {
	Vocab, Heads, KVHeads, Context int
}

// ShapeError says why an op's arguments do not fit together: Msg, about
// argument Arg (its index) or, when Arg is -1, the whole call.
type ShapeError struct {
	Arg int
	Msg string
}

func (e *ShapeError) Error() string { return e.Msg }

// Length applies r's shape rule to its arguments (one Arg for each of
// r.Args, in order; a Token argument's is ignored): the length of the
// result, 0 for an op that produces no vector.
func (r *Row) Length(a []Arg, c Config) (int, *ShapeError) {
	if len(a) != len(r.Args) {
		return 0, &ShapeError{-1, r.Name + ": " + strconv.Itoa(len(a)) + " arguments for " + r.Form}
	}
	n, err := r.shape(a, c)
	if err != nil {
		return 0, &ShapeError{err.Arg, r.Name + ": " + err.Msg}
	}
	return n, nil
}

// CheckOpts checks a call's options (every option of r, defaults filled
// in, as Defaults gives them) against its arguments, which Length has
// accepted: an error about argument Arg, or -1, the call.
func (r *Row) CheckOpts(a []Arg, o Opts) *ShapeError {
	for _, opt := range r.Opts {
		if opt.Check != nil {
			if msg := opt.Check(o[opt.Name]); msg != "" {
				return &ShapeError{-1, r.Name + ": " + msg}
			}
		}
	}
	if r.opts != nil {
		if err := r.opts(a, o); err != nil {
			return &ShapeError{err.Arg, r.Name + ": " + err.Msg}
		}
	}
	return nil
}

// Defaults is o with every option of r that it lacks at its default.
func (r *Row) Defaults(o Opts) Opts {
	all := Opts{}
	for _, opt := range r.Opts {
		all[opt.Name] = opt.Default
		if v, ok := o[opt.Name]; ok {
			all[opt.Name] = v
		}
	}
	return all
}

// Option returns r's option name.
func (r *Row) Option(name string) (Option, bool) {
	for _, o := range r.Opts {
		if o.Name == name {
			return o, true
		}
	}
	return Option{}, false
}

// NonDefault lists the options of o that differ from r's defaults, in
// r's order (for the IR's dumps).
func (r *Row) NonDefault(o Opts) []string {
	var names []string
	for _, opt := range r.Opts {
		if v, ok := o[opt.Name]; ok && v != opt.Default {
			names = append(names, opt.Name)
		}
	}
	return names
}

// Vector says whether the op produces a vector (the IR gives it a
// destination): it binds a result that is not the next token.
func (r *Row) Vector() bool { return r.Binds && !r.Ends }

// Unary says whether the op's only vector argument is its first and it
// reads no param or cache: an in-place unary op may compute a nested call
// straight into its own destination.
func (r *Row) Unary() bool {
	for i, k := range r.Args {
		switch {
		case k == Vector && i > 0, k == Param, k == Cache:
			return false
		}
	}
	return len(r.Args) > 0 && r.Args[0] == Vector
}

// The options' defaults: llama2.c's.
const (
	DefaultEps   = 1e-5
	DefaultTheta = 10000.0
)

var (
	epsOpt   = Option{Name: "eps", Default: DefaultEps, Check: checkEps}
	thetaOpt = Option{Name: "theta", Default: DefaultTheta, Check: checkTheta}
	// rotary_dim: the leading elements of each head that rope rotates;
	// 0 (the default) means all of them.
	rotaryOpt = Option{Name: "rotary_dim", Int: true}
)

// Rows is the table, in the order of spec.md section 3. A name may have
// several rows (overloads), told apart by their arguments' kinds: add(x, y)
// of two vectors, add(x, b) of a vector and a param.
var Rows = []*Row{
	{Name: "embed", Kind: Embed, Args: []ArgKind{Param, Token}, Form: "embed(P, token)",
		Binds: true, shape: embedShape},
	{Name: "embed", Kind: Embed, Func: "pos", Args: []ArgKind{Param, Pos}, Form: "embed(P, pos)",
		Binds: true, ReadsPos: true, shape: posEmbedShape},
	{Name: "rmsnorm", Kind: RMSNorm, Args: []ArgKind{Vector, Param}, Form: "rmsnorm(x, g)",
		Binds: true, InPlace: true, Opts: []Option{epsOpt}, shape: rmsnormShape},
	{Name: "layernorm", Kind: LayerNorm, Func: "bias", Args: []ArgKind{Vector, Param, Param}, Form: "layernorm(x, g, b)",
		Binds: true, InPlace: true, Opts: []Option{epsOpt}, shape: layernormShape},
	{Name: "layernorm", Kind: LayerNorm, Args: []ArgKind{Vector, Param}, Form: "layernorm(x, g)",
		Binds: true, InPlace: true, Opts: []Option{epsOpt}, shape: rmsnormShape},
	{Name: "matmul", Kind: MatMul, Args: []ArgKind{Param, Vector}, Form: "matmul(W, x)",
		Binds: true, shape: matmulShape},
	{Name: "rope", Kind: RoPE, Args: []ArgKind{Vector, Int}, Form: "rope(x, D)",
		Binds: true, InPlace: true, ReadsPos: true, Table: RoPETable, Opts: []Option{thetaOpt, rotaryOpt},
		shape: ropeShape, opts: ropeOpts},
	{Name: "store", Kind: Store, Args: []ArgKind{Cache, Vector, Vector}, Form: "store(C, k, v)",
		LayerOnly: true, ReadsPos: true, shape: storeShape},
	{Name: "attention", Kind: Attention, Args: []ArgKind{Vector, Cache, Int}, Form: "attention(q, C, D)",
		Binds: true, LayerOnly: true, ReadsPos: true, Table: ExpTable, shape: attentionShape},
	{Name: "silu", Kind: Gate, Func: "silu", Args: []ArgKind{Vector}, Form: "silu(x)",
		Binds: true, InPlace: true, Table: GateTable, shape: sameLength},
	{Name: "gelu", Kind: Gate, Func: "gelu", Args: []ArgKind{Vector}, Form: "gelu(x)",
		Binds: true, InPlace: true, Table: GateTable, shape: sameLength},
	{Name: "gelu_tanh", Kind: Gate, Func: "gelu_tanh", Args: []ArgKind{Vector}, Form: "gelu_tanh(x)",
		Binds: true, InPlace: true, Table: GateTable, shape: sameLength},
	{Name: "relu", Kind: Relu, Args: []ArgKind{Vector}, Form: "relu(x)",
		Binds: true, InPlace: true, shape: sameLength},
	{Name: "mul", Kind: Mul, Args: []ArgKind{Vector, Vector}, Form: "mul(a, b)",
		Binds: true, InPlace: true, shape: sameLength},
	{Name: "mul", Kind: Scale, Args: []ArgKind{Vector, Number}, Form: "mul(x, c)",
		Binds: true, InPlace: true, shape: scaleShape},
	{Name: "add", Kind: Add, Args: []ArgKind{Vector, Vector}, Form: "add(a, b)",
		Binds: true, InPlace: true, shape: sameLength},
	{Name: "add", Kind: Bias, Args: []ArgKind{Vector, Param}, Form: "add(x, B)",
		Binds: true, InPlace: true, shape: biasShape},
	{Name: "sub", Kind: Sub, Args: []ArgKind{Vector, Vector}, Form: "sub(a, b)",
		Binds: true, InPlace: true, shape: sameLength},
	{Name: "argmax", Kind: Argmax, Args: []ArgKind{Vector}, Form: "argmax(x)",
		Binds: true, Ends: true, shape: vocabLength},
	{Name: "sample", Kind: Sample, Args: []ArgKind{Vector}, Form: "sample(x)",
		Binds: true, Ends: true, Table: ExpTable, shape: vocabLength},
}

var (
	byName = map[string][]*Row{}
	names  []string // in table order, once each
)

func init() {
	for _, r := range Rows {
		if byName[r.Name] == nil {
			names = append(names, r.Name)
		}
		byName[r.Name] = append(byName[r.Name], r)
	}
}

// Lookup returns the first row of the op written name (what every row of
// the name shares: whether it binds, ends the pass, appears in the layer
// block only).
func Lookup(name string) (*Row, bool) {
	rs := byName[name]
	if len(rs) == 0 {
		return nil, false
	}
	return rs[0], true
}

// Overloads returns every row of the op written name, in table order.
func Overloads(name string) []*Row { return byName[name] }

// Names lists the ops' names in table order, each once.
func Names() []string { return append([]string(nil), names...) }

// RowOf returns the row of an IR operation: kind k and, within a family,
// fn (the IR op's Func); nil when there is none.
func RowOf(k Kind, fn string) *Row {
	for _, r := range Rows {
		if r.Kind == k && r.Func == fn {
			return r
		}
	}
	return nil
}
