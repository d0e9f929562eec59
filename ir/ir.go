// Package ir is tfc's tensor IR: a model as three blocks of operations over
// named vectors (before the layer loop, the loop body, after it), the passes
// that shape, fuse and quantize it, and the host simulators that run it.
package ir

import (
	"tfc/checkpoint"
	"tfc/lang"
	"tfc/op"
)

// Kind is an operation of the IR: op/'s table describes each (its
// arguments, result length, in-place rule, tables), the simulators here
// give its semantics.
type Kind = op.Kind

// The kinds, with the operands each reads and writes in an Op.
const (
	Embed     = op.Embed     // Dst = row Token of Params[0]
	RMSNorm   = op.RMSNorm   // Dst = Args[0] * Params[0] / rms(Args[0])
	MatMul    = op.MatMul    // Dst = concat(Params[i] · Args[0]); Parts[i] are views of Dst
	RoPE      = op.RoPE      // Dst = Args[0] rotated at pos, pairs inside heads of HeadDim
	Store     = op.Store     // Cache[layer][pos] = Args[0] (keys), Args[1] (values)
	Attention = op.Attention // Dst = softmax(q·K/sqrt(HeadDim)) V over positions 0..pos
	Gate      = op.Gate      // Dst = Args[0] * Table(Args[0]): silu, gelu, gelu_tanh (Func)
	Mul       = op.Mul       // Dst = Args[0] * Args[1]
	Add       = op.Add       // Dst = Args[0] + Args[1]
	Argmax    = op.Argmax    // the next token: index of the largest of Args[0]
	Sample    = op.Sample    // the next token: drawn from softmax(Args[0]/temperature)
	LayerNorm = op.LayerNorm // Dst = (Args[0] − mean) * Params[0] / sd(Args[0]) [+ Params[1]]
	Relu      = op.Relu      // Dst = max(Args[0], 0)
	Bias      = op.Bias      // Dst = Args[0] + Params[0]
	Scale     = op.Scale     // Dst = Args[0] * Num
	Sub       = op.Sub       // Dst = Args[0] − Args[1]
)

// Program is a model in the IR.
type Program struct {
	Name                                                string
	Pos                                                 lang.Pos // the model declaration
	Dim, Hidden, Layers, Heads, KVHeads, Vocab, Context int

	Params []*Param
	Caches []*Cache
	Vars   []*Var
	Tables []*Table
	// Blocks: Blocks[PreBlock] runs once, Blocks[LayerBlock] once per layer,
	// Blocks[PostBlock] once; the last op of PostBlock picks the next token.
	Blocks [3][]*Op

	// TablesBuilt is set by build_tables: from then on every op that reads a
	// table has one.
	TablesBuilt bool

	Gen       lang.Generate
	Boot      string // lang.Program.Boot
	Tokenizer *checkpoint.Tokenizer
}

// The three blocks of a program.
const (
	PreBlock = iota
	LayerBlock
	PostBlock
)

var blockNames = [...]string{"pre", "layer", "post"}

// Param is a weight tensor. Rows and Cols describe one layer's slice (a
// vector has Rows 1); Layers is the number of slices (1 unless PerLayer).
type Param struct {
	Name       string
	PerLayer   bool
	Layers     int
	Rows, Cols int
	// Vector: declared with one dimension per layer (norm weights), which
	// Rows 1 does not tell from a matrix of one row.
	Vector bool
	Quant  Quant
	F      []float32 // the float weights, Layers*Rows*Cols
	Q      *QData    // set by the quantize pass
	Pos    lang.Pos
}

// Quant is how a param is stored in the image (spec.md section 6).
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

// QData is a quantized tensor: integers W (int8 or int16 range, or Q16.16
// for fixed), and for int8/int16 one multiplier per scale group and a shift:
// the real value of W[i] in row r of layer l is W[i]*M[g(l,r)]/2^(16+Shift).
type QData struct {
	Bits  int // 8, 16, or 32 (fixed)
	W     []int32
	M     []int32
	Shift uint
}

// Dims is the shape of one layer's slice as declared: [Cols] for a vector,
// [Rows, Cols] for a matrix.
func (p *Param) Dims() []int {
	if p.Vector {
		return []int{p.Cols}
	}
	return []int{p.Rows, p.Cols}
}

// Layer is the slice of p that layer l reads: l, or 0 for a param that
// every layer shares.
func (p *Param) Layer(l int) int {
	if p.PerLayer {
		return l
	}
	return 0
}

// Slice is the quantized weights that layer l reads.
func (p *Param) Slice(l int) []int32 {
	n := p.Rows * p.Cols
	if p.Q.W == nil {
		return make([]int32, n) // shapes only (Options.ShapesOnly)
	}
	l = p.Layer(l)
	return p.Q.W[l*n : (l+1)*n]
}

// Mult is the multiplier of row r in layer l.
func (p *Param) Mult(l, r int) int32 {
	switch p.Quant.Per {
	case "row":
		return p.Q.M[l*p.Rows+r]
	case "layer":
		return p.Q.M[l]
	default:
		return p.Q.M[0]
	}
}

// Cache is a KV cache: keys and values of Width elements per layer and
// position, quantized to Bits with a power-of-two scale per head of HeadDim.
type Cache struct {
	Name                   string
	Layers, Context, Width int
	Bits                   int
	HeadDim                int
	Pos                    lang.Pos
}

// Heads is the number of heads of the cache (its scales per position).
func (c *Cache) Heads() int { return c.Width / c.HeadDim }

// Var is a vector of Q16.16 activations in the image's memory. After fusion
// a var may be a view: Len elements at Offset inside Parent.
type Var struct {
	Name   string
	Len    int
	Parent *Var
	Offset int
}

// Table is a constant lookup table, built by the tables pass.
type Table struct {
	Name string
	Data []int32
}

// Op is one operation.
type Op struct {
	Kind    Kind
	Dst     *Var
	Args    []*Var
	Params  []*Param // embed: the table; rmsnorm: the weights; matmul: the (fused) matrices
	Parts   []*Var   // matmul: the part of Dst each param writes (views after fusion)
	Cache   *Cache
	Table   *Table
	HeadDim int
	Func    string // within a family of one kind (op.Row.Func): gate's "silu" or "gelu"
	// Num is a Number argument's value (scale's constant).
	Num float64
	// Opts holds the value of every option of the op's row (the defaults
	// filled in): a norm's eps, rope's theta and rotary_dim.
	Opts op.Opts
	Pos  lang.Pos
}

// Row is o's row of the op table (nil for a kind and Func it lacks).
func (o *Op) Row() *op.Row { return op.RowOf(o.Kind, o.Func) }

// Writes names what o writes: its var, its cache, or "next" (the final
// op's token), for dumps and size reports.
func (o *Op) Writes() string {
	if o.Dst != nil {
		return o.Dst.Name
	}
	if o.Cache != nil {
		return o.Cache.Name
	}
	return "next"
}

// Rows is the number of output rows of a matmul (all fused params).
func (o *Op) Rows() int {
	n := 0
	for _, p := range o.Params {
		n += p.Rows
	}
	return n
}

// Root returns the var that owns v's memory and v's offset in it.
func (v *Var) Root() (*Var, int) {
	off := 0
	for v.Parent != nil {
		off += v.Offset
		v = v.Parent
	}
	return v, off
}

// Param returns the named param or nil.
func (p *Program) Param(name string) *Param {
	for _, q := range p.Params {
		if q.Name == name {
			return q
		}
	}
	return nil
}

// Ops calls f for every op in block order.
func (p *Program) Ops(f func(block int, op *Op)) {
	for b, ops := range p.Blocks {
		for _, op := range ops {
			f(b, op)
		}
	}
}

// Table returns the named table or nil.
func (p *Program) Table(name string) *Table {
	for _, t := range p.Tables {
		if t.Name == name {
			return t
		}
	}
	return nil
}
