package lang

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"

	"tfc/checkpoint"
)

// CheckOptions configures Check.
type CheckOptions struct {
	// OpenFiles makes Check read the checkpoint's header and size and the
	// tokenizer file that the .tf file names (the compiler always does;
	// tests of the language alone need not).
	OpenFiles bool
	// Dir, when set, is the directory that relative paths are resolved
	// against instead of the directory of the .tf file.
	Dir string
}

// The seven hyper-parameters every config defines, in canonical order.
var required = []string{"dim", "hidden", "layers", "heads", "kv_heads", "vocab", "context"}

// Limits: every config value and dimension is at most MaxValue in
// magnitude, each hyper-parameter at most MaxDim, and a param has at most
// MaxElements elements.
const (
	MaxValue    = math.MaxInt32
	MaxDim      = checkpoint.MaxDim
	MaxElements = 1 << 31
)

// DefaultSteps, DefaultTopP and DefaultSeed are the generate defaults.
const (
	DefaultSteps = 256
	DefaultTopP  = 0.9
	DefaultSeed  = 42
)

// Check resolves the names of file and checks it (spec.md section 3),
// returning the resolved program or the first error, a *Error.
func Check(file *File, opts CheckOptions) (prog *Program, err error) {
	c := &checker{file: file, opts: opts, p: &Program{Consts: map[string]int{}}}
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bailout)
			if !ok {
				panic(r)
			}
			prog, err = nil, b.err
		}
	}()
	c.check()
	return c.p, nil
}

// bailout carries the first error out of the checker.
type bailout struct{ err *Error }

type checker struct {
	file *File
	opts CheckOptions
	p    *Program

	model     *ModelDecl
	weights   *WeightsDecl
	tokenizer *TokenizerDecl
	config    *ConfigDecl
	forward   *ForwardDecl
	generate  *GenerateDecl
	params    []*ParamDecl
	quants    []*QuantDecl
	caches    []*CacheDecl

	constDef map[string]*ConstDef
	param    map[string]*Param
	cache    map[string]*Cache

	// header is the checkpoint's header once read (OpenFiles).
	header *checkpoint.Config
}

// fail reports an error at a syntax tree position.
func (c *checker) fail(pos lexer.Position, format string, args ...any) {
	c.failAt(PosOf(pos), format, args...)
}

// failAt reports an error at a position of the checked program.
func (c *checker) failAt(pos Pos, format string, args ...any) {
	if pos.Filename == "" {
		pos.Filename = c.file.Filename
	}
	if pos.Line == 0 {
		pos.Line, pos.Column = 1, 1
	}
	panic(bailout{(&Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}).WithSource(c.file.Source)})
}

// filePos is the position for errors about the file as a whole.
func (c *checker) filePos() lexer.Position {
	return lexer.Position{Filename: c.file.Filename, Line: 1, Column: 1}
}

func (c *checker) check() {
	c.collect()
	c.checkModel()
	c.checkConfig()
	c.checkSources()
	if c.opts.OpenFiles {
		c.openFiles()
	}
	c.checkParams()
	c.checkQuants()
	c.checkCaches()
	c.checkGenerate()
	c.checkForward()
}

// collect sorts the declarations, rejecting duplicates and missing ones.
func (c *checker) collect() {
	first := map[string]lexer.Position{}
	once := func(what string, pos lexer.Position) {
		if p, ok := first[what]; ok {
			c.fail(pos, "duplicate %s declaration (the first is at line %d)", what, p.Line)
		}
		first[what] = pos
	}
	for _, d := range c.file.Decls {
		switch {
		case d.Model != nil:
			once("model", d.Model.Pos)
			c.model = d.Model
		case d.Weights != nil:
			once("weights", d.Weights.Pos)
			c.weights = d.Weights
		case d.Tokenizer != nil:
			once("tokenizer", d.Tokenizer.Pos)
			c.tokenizer = d.Tokenizer
		case d.Config != nil:
			once("config", d.Config.Pos)
			c.config = d.Config
		case d.Forward != nil:
			once("forward", d.Forward.Pos)
			c.forward = d.Forward
		case d.Generate != nil:
			once("generate", d.Generate.Pos)
			c.generate = d.Generate
		case d.Boot != nil:
			once("boot", d.Boot.Pos)
			c.p.Boot = d.Boot.Path
		case d.Param != nil:
			c.params = append(c.params, d.Param)
		case d.Quant != nil:
			c.quants = append(c.quants, d.Quant)
		case d.Cache != nil:
			c.caches = append(c.caches, d.Cache)
		}
	}
	for _, m := range []struct {
		what    string
		missing bool
	}{
		{"model", c.model == nil}, {"weights", c.weights == nil}, {"tokenizer", c.tokenizer == nil},
		{"config", c.config == nil}, {"forward", c.forward == nil},
	} {
		if m.missing {
			c.fail(c.filePos(), "missing %s declaration", m.what)
		}
	}
}

func (c *checker) checkModel() {
	c.p.Name = c.model.Name
	c.p.Pos = PosOf(c.model.Pos)
	c.p.Dir = c.opts.Dir
	if c.p.Dir == "" {
		c.p.Dir = filepath.Dir(c.file.Filename)
	}
}

// reservedName rejects the predefined inputs as declared names.
func (c *checker) reservedName(pos lexer.Position, name, what string) {
	if name == "token" || name == "pos" {
		c.fail(pos, "%q is predefined and cannot name a %s", name, what)
	}
}

func (c *checker) checkConfig() {
	c.constDef = map[string]*ConstDef{}
	// later: every name defined anywhere in config, for "used before its
	// definition".
	later := map[string]bool{}
	for _, d := range c.config.Consts {
		later[d.Name] = true
	}
	checked := false
	for _, d := range c.config.Consts {
		c.reservedName(d.Pos, d.Name, "constant")
		if prev, ok := c.constDef[d.Name]; ok {
			c.fail(d.Pos, "duplicate constant %q (the first is at line %d)", d.Name, prev.Pos.Line)
		}
		v := c.eval(d.Value, func(pos lexer.Position, name string) int64 {
			if def, ok := c.constDef[name]; ok {
				return int64(c.p.Consts[def.Name])
			}
			if name == d.Name {
				c.fail(pos, "constant %q is defined in terms of itself", name)
			}
			if later[name] {
				c.fail(pos, "constant %q is used before its definition", name)
			}
			c.fail(pos, "unknown constant %q", name)
			return 0
		})
		c.constDef[d.Name] = d
		c.p.Consts[d.Name] = int(v)
		c.p.ConstOrder = append(c.p.ConstOrder, d.Name)
		// Check the seven as soon as they are all defined, so that their
		// errors come before those of constants derived from them.
		if !checked && c.haveRequired() {
			c.checkRequired()
			checked = true
		}
	}
	if !checked {
		c.checkRequired()
	}
}

func (c *checker) haveRequired() bool {
	for _, name := range required {
		if c.constDef[name] == nil {
			return false
		}
	}
	return true
}

// checkRequired checks the seven hyper-parameters.
func (c *checker) checkRequired() {
	for _, name := range required {
		d, ok := c.constDef[name]
		if !ok {
			c.fail(c.config.Pos, "config is missing %s", name)
		}
		v := c.p.Consts[name]
		if v <= 0 {
			c.fail(d.Pos, "%s must be positive, not %d", name, v)
		}
		if v > MaxDim {
			c.fail(d.Pos, "%s = %d is more than the limit %d", name, v, MaxDim)
		}
	}
	k := c.p.Consts
	c.p.Dim, c.p.Hidden, c.p.Layers, c.p.Heads = k["dim"], k["hidden"], k["layers"], k["heads"]
	c.p.KVHeads, c.p.Vocab, c.p.Context = k["kv_heads"], k["vocab"], k["context"]
	if c.p.Vocab < 3 {
		// llama2.c's token 1 starts every sequence, and 2 ends one.
		c.fail(c.constDef["vocab"].Pos, "vocab %d is too small: tokens 0, 1 and 2 are <unk>, BOS and EOS", c.p.Vocab)
	}
	if c.p.Dim%c.p.Heads != 0 {
		c.fail(c.constDef["heads"].Pos, "dim %d is not divisible by heads %d", c.p.Dim, c.p.Heads)
	}
	if c.p.Heads%c.p.KVHeads != 0 {
		c.fail(c.constDef["kv_heads"].Pos, "heads %d is not divisible by kv_heads %d", c.p.Heads, c.p.KVHeads)
	}
}

// eval evaluates a dimension expression; lookup resolves a name (or fails).
func (c *checker) eval(e *DimExpr, lookup func(lexer.Position, string) int64) int64 {
	v := c.evalTerm(e.First, lookup)
	for _, t := range e.Rest {
		w := c.evalTerm(t.Term, lookup)
		if t.Op == "+" {
			v += w
		} else {
			v -= w
		}
		c.inRange(t.Pos, v)
	}
	return v
}

func (c *checker) evalTerm(t *DimTerm, lookup func(lexer.Position, string) int64) int64 {
	v := c.evalAtom(t.First, lookup)
	for _, r := range t.Rest {
		w := c.evalAtom(r.Atom, lookup)
		if r.Op == "*" {
			v *= w // both at most MaxValue in magnitude: no overflow
		} else {
			if w == 0 {
				c.fail(r.Pos, "division by zero")
			}
			if v%w != 0 {
				c.fail(r.Pos, "inexact division: %d / %d leaves %d", v, w, v%w)
			}
			v /= w
		}
		c.inRange(r.Pos, v)
	}
	return v
}

func (c *checker) evalAtom(a *DimAtom, lookup func(lexer.Position, string) int64) int64 {
	switch {
	case a.Int != nil:
		v := int64(*a.Int)
		c.inRange(a.Pos, v)
		return v
	case a.Sub != nil:
		return c.eval(a.Sub, lookup)
	default:
		return lookup(a.Pos, a.Ident)
	}
}

func (c *checker) inRange(pos lexer.Position, v int64) {
	if v > MaxValue || v < -MaxValue {
		c.fail(pos, "value %d is out of range (more than %d in magnitude)", v, MaxValue)
	}
}

// constLookup resolves a name against all config constants.
func (c *checker) constLookup(pos lexer.Position, name string) int64 {
	if _, ok := c.constDef[name]; ok {
		return int64(c.p.Consts[name])
	}
	c.fail(pos, "unknown constant %q", name)
	return 0
}

// resolvePath joins a path as written with the program's directory.
func (c *checker) resolvePath(written string) string {
	if filepath.IsAbs(written) {
		return written
	}
	return filepath.Join(c.p.Dir, written)
}

func (c *checker) checkSources() {
	w := c.weights
	c.p.Weights.Pos = PosOf(w.Pos)
	if w.Checkpoint != nil {
		if *w.Checkpoint == "" {
			c.fail(w.Pos, "the checkpoint path is empty")
		}
		c.p.Weights.Checkpoint = string(*w.Checkpoint)
		c.p.Weights.Path = c.resolvePath(c.p.Weights.Checkpoint)
	} else {
		c.p.Weights.Random = true
		if w.Seed != nil {
			c.p.Weights.Seed = int64(*w.Seed)
		}
	}
	t := c.tokenizer
	c.p.Tokenizer.Pos = PosOf(t.Pos)
	if t.Path != nil {
		if *t.Path == "" {
			c.fail(t.Pos, "the tokenizer path is empty")
		}
		c.p.Tokenizer.Written = string(*t.Path)
		c.p.Tokenizer.Path = c.resolvePath(c.p.Tokenizer.Written)
	} else {
		c.p.Tokenizer.Synthetic = true
	}
}

// dimsOf evaluates a shape.
func (c *checker) dimsOf(s *Shape) []int {
	dims := make([]int, len(s.Dims))
	for i, d := range s.Dims {
		v := c.eval(d, c.constLookup)
		if v <= 0 {
			c.fail(d.Pos, "a dimension must be positive, not %d", v)
		}
		dims[i] = int(v)
	}
	return dims
}

// isLayers says whether a dimension is written as the bare constant layers.
func isLayers(d *DimExpr) bool {
	return len(d.Rest) == 0 && len(d.First.Rest) == 0 && d.First.First.Int == nil &&
		d.First.First.Sub == nil && d.First.First.Ident == "layers"
}

// checkpointConfig is the checkpoint's header (with the files opened) or,
// without, a llama2.c header of the config's values and an unshared
// classifier.
func (c *checker) checkpointConfig() checkpoint.Config {
	if c.header != nil {
		return *c.header
	}
	return checkpoint.Config{Dim: c.p.Dim, Hidden: c.p.Hidden, Layers: c.p.Layers, Heads: c.p.Heads,
		KVHeads: c.p.KVHeads, Vocab: c.p.Vocab, SeqLen: c.p.Context, Shared: false}
}

func (c *checker) nameTaken(pos lexer.Position, name, what string) {
	c.reservedName(pos, name, what)
	if _, ok := c.constDef[name]; ok {
		c.fail(pos, "%s %q has the name of a config constant", what, name)
	}
	if p, ok := c.param[name]; ok {
		if what == "param" {
			c.fail(pos, "duplicate param %q (the first is at line %d)", name, p.Pos.Line)
		}
		c.fail(pos, "%s %q has the name of the param at line %d", what, name, p.Pos.Line)
	}
	if k, ok := c.cache[name]; ok {
		if what == "cache" {
			c.fail(pos, "duplicate cache %q (the first is at line %d)", name, k.Pos.Line)
		}
		c.fail(pos, "%s %q has the name of the cache at line %d", what, name, k.Pos.Line)
	}
}

func (c *checker) checkParams() {
	c.param = map[string]*Param{}
	c.cache = map[string]*Cache{}
	var shapes map[string][]int
	var ckpt checkpoint.Config
	if !c.p.Weights.Random {
		ckpt = c.checkpointConfig()
		shapes = ckpt.Shapes()
	}
	for _, d := range c.params {
		c.nameTaken(d.Pos, d.Name, "param")
		dims := c.dimsOf(d.Shape)
		perLayer := isLayers(d.Shape.Dims[0])
		if shapes != nil {
			want, ok := shapes[d.Name]
			if !ok {
				if d.Name == "wcls" && ckpt.Format == checkpoint.LLaMA2C {
					c.fail(d.Pos, "the checkpoint has no wcls: its classifier is token_embedding")
				}
				names := ckpt.Names()
				if ckpt.Format == checkpoint.LLaMA2C {
					names = checkpoint.TensorNames(false)
				}
				c.fail(d.Pos, "%q is not a tensor of the checkpoint (%s)", d.Name, strings.Join(names, " "))
			}
			if !slices.Equal(dims, want) {
				c.fail(d.Shape.Pos, "%s has shape %s, but the checkpoint's is %s", d.Name, formatShape(dims), formatShape(want))
			}
			if perLayer != ckpt.PerLayer(d.Name) {
				if perLayer {
					c.fail(d.Shape.Pos, "%s is not per-layer: its first dimension cannot be written layers", d.Name)
				}
				c.fail(d.Shape.Pos, "%s is per-layer: write its first dimension as layers", d.Name)
			}
		}
		n := len(dims)
		if perLayer {
			n--
		}
		if n < 1 || n > 2 {
			if perLayer {
				c.fail(d.Shape.Pos, "param %q has %d dimensions after layers; a param is a vector or a matrix", d.Name, n)
			}
			c.fail(d.Shape.Pos, "param %q has %d dimensions; a param is a vector or a matrix", d.Name, n)
		}
		elems := int64(1)
		for _, v := range dims {
			elems *= int64(v) // both factors at most 2^31: no overflow
			if elems > MaxElements {
				c.fail(d.Shape.Pos, "param %q has more than %d elements", d.Name, int64(MaxElements))
			}
		}
		p := &Param{Pos: PosOf(d.Pos), Name: d.Name, Shape: dims, PerLayer: perLayer}
		c.param[d.Name] = p
		c.p.Params = append(c.p.Params, p)
	}
}

func (c *checker) checkQuants() {
	quantAt := map[string]lexer.Position{}
	for _, q := range c.quants {
		for _, n := range q.Names {
			p, ok := c.param[n.Name]
			if !ok {
				c.fail(n.Pos, "unknown param %q", n.Name)
			}
			if prev, ok := quantAt[n.Name]; ok {
				c.fail(n.Pos, "param %q is quantized twice (the first is at line %d)", n.Name, prev.Line)
			}
			quantAt[n.Name] = n.Pos
			t := q.Type
			switch {
			case t.Fixed:
				if !p.IsVector() {
					c.fail(n.Pos, "fixed is for vectors, but %s is a matrix", n.Name)
				}
				p.Quant = Quant{Type: "fixed"}
			default:
				if t.Per == "row" && p.IsVector() {
					c.fail(n.Pos, "per row needs a matrix, but %s is a vector", n.Name)
				}
				if t.Per == "layer" && !p.PerLayer {
					c.fail(n.Pos, "per layer needs a per-layer param, but %s is not per-layer", n.Name)
				}
				p.Quant = Quant{Type: t.Type, Per: t.Per}
			}
		}
	}
	for _, p := range c.p.Params {
		if p.Quant.Type != "" {
			continue
		}
		if p.IsVector() {
			p.Quant = Quant{Type: "fixed"}
		} else {
			p.Quant = Quant{Type: "int16", Per: "row"}
		}
	}
}

func (c *checker) checkCaches() {
	for _, d := range c.caches {
		c.nameTaken(d.Pos, d.Name, "cache")
		dims := c.dimsOf(d.Shape)
		if len(dims) != 3 {
			c.fail(d.Shape.Pos, "a cache has the shape [layers, context, width], not %d dimensions", len(dims))
		}
		if dims[0] != c.p.Layers {
			c.fail(d.Shape.Dims[0].Pos, "the cache's first dimension is %d, but layers is %d", dims[0], c.p.Layers)
		}
		if dims[1] != c.p.Context {
			c.fail(d.Shape.Dims[1].Pos, "the cache's second dimension is %d, but context is %d", dims[1], c.p.Context)
		}
		k := &Cache{Pos: PosOf(d.Pos), Name: d.Name, Layers: dims[0], Context: dims[1], Width: dims[2], Type: d.Type}
		c.cache[d.Name] = k
		c.p.Caches = append(c.p.Caches, k)
	}
}

func (c *checker) checkGenerate() {
	g := &c.p.Gen
	g.Greedy = true
	g.Steps = min(DefaultSteps, c.p.Context)
	if c.generate == nil {
		return
	}
	first := map[string]lexer.Position{}
	once := func(what string, pos lexer.Position) {
		if p, ok := first[what]; ok {
			c.fail(pos, "duplicate %s (the first is at line %d)", what, p.Line)
		}
		first[what] = pos
	}
	for _, it := range c.generate.Items {
		switch {
		case it.Prompt != nil || it.Typed:
			once("prompt", it.Pos)
			if it.Prompt != nil {
				g.Prompt = string(*it.Prompt)
			}
			g.Typed = it.Typed
			g.PromptPos = PosOf(it.Pos)
		case it.Steps != nil:
			once("steps", it.Pos)
			n := int64(*it.Steps)
			if n <= 0 {
				c.fail(it.Pos, "steps must be positive, not %d", n)
			}
			if n > int64(c.p.Context) {
				c.fail(it.Pos, "steps %d is more than context %d", n, c.p.Context)
			}
			g.Steps = int(n)
		case it.Sampler != nil:
			once("sampler", it.Pos)
			s := it.Sampler
			if s.Greedy {
				continue
			}
			t := float64(s.Temperature.Value)
			if t < 0 {
				c.fail(s.Temperature.Pos, "temperature must be at least 0, not %g", t)
			} else if t > 0 && t < MinTemperature {
				c.fail(s.Temperature.Pos, "temperature %g is below %.3g, the smallest whose 2^16/temperature fits the sampler's 31 bits (0: greedy)", t, MinTemperature)
			}
			g.Greedy = t == 0
			g.Temperature = t
			g.TopP = DefaultTopP
			if s.TopP != nil {
				p := float64(s.TopP.Value)
				if !(p > 0 && p <= 1) {
					c.fail(s.TopP.Pos, "top_p must be in (0, 1], not %g", p)
				}
				g.TopP = p
			}
			g.Seed = DefaultSeed
			g.SeedClock = s.Clock
			if s.Seed != nil {
				if *s.Seed == 0 {
					c.fail(s.Pos, "seed must be positive, not 0")
				}
				g.Seed = uint64(*s.Seed)
			}
		}
	}
}

// formatShape writes a shape as in the language: [2, 64, 96].
func formatShape(dims []int) string {
	parts := make([]string, len(dims))
	for i, d := range dims {
		parts[i] = strconv.Itoa(d)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
