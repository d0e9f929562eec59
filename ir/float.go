package ir

import (
	"fmt"
	"math"

	"tfc/op"
)

// FloatSim runs a program on its float weights in float32, in llama2.c's
// order of operations, so that it prints what llama2.c's run prints.
type FloatSim struct {
	p     *Program
	mem   map[*Var][]float32
	k, v  map[*Cache][]float32
	rng   Rng
	scale map[int]float32
	next  int // the token the last op chose, or -1
}

// NewFloatSim prepares a float simulator; it needs no quantization.
func NewFloatSim(p *Program) *FloatSim {
	s := &FloatSim{p: p, mem: map[*Var][]float32{}, k: map[*Cache][]float32{}, v: map[*Cache][]float32{}, rng: Rng(p.Gen.Seed)}
	for _, v := range p.Vars {
		if v.Parent == nil {
			s.mem[v] = make([]float32, v.Len)
		}
	}
	for _, c := range p.Caches {
		n := c.Layers * c.Context * c.Width
		s.k[c], s.v[c] = make([]float32, n), make([]float32, n)
	}
	return s
}

func (s *FloatSim) vec(v *Var) []float32 {
	r, off := v.Root()
	return s.mem[r][off : off+v.Len]
}

// Logits returns the last step's logits (before sampling scales them).
func (s *FloatSim) Logits() []float64 {
	x := s.vec(s.p.logits())
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// Step runs the forward pass for token at pos and returns the next token.
func (s *FloatSim) Step(token, pos int) int {
	return s.p.forward(func(o *Op, l int) int { return s.run(o, token, pos, l) })
}

// slice is the float weights that layer l reads.
func (p *Param) slice(l int) []float32 {
	n := p.Rows * p.Cols
	l = p.Layer(l)
	return p.F[l*n : (l+1)*n]
}

// floatOps gives each op kind its float semantics, in llama2.c's order of
// operations. An op that chooses the next token leaves it in FloatSim.next.
var floatOps = [op.NumKinds]func(s *FloatSim, o *Op, at step){
	Embed:     (*FloatSim).embed,
	RMSNorm:   (*FloatSim).rmsnorm,
	MatMul:    (*FloatSim).matmul,
	RoPE:      (*FloatSim).rope,
	Store:     (*FloatSim).store,
	Attention: (*FloatSim).attention,
	Gate:      (*FloatSim).gate,
	Mul:       (*FloatSim).mul,
	Add:       (*FloatSim).add,
	Argmax:    (*FloatSim).argmax,
	Sample:    (*FloatSim).sample,
	LayerNorm: (*FloatSim).layernorm,
	Relu:      (*FloatSim).relu,
	Bias:      (*FloatSim).bias,
	Scale:     (*FloatSim).scaleBy,
	Sub:       (*FloatSim).sub,
}

func (s *FloatSim) run(o *Op, token, pos, l int) int {
	sem := floatOps[o.Kind]
	if sem == nil {
		panic(fmt.Sprintf("BUG: float sim: op %v has no semantics", o.Kind))
	}
	s.next = -1
	sem(s, o, step{token, pos, l})
	return s.next
}

func (s *FloatSim) embed(o *Op, at step) {
	p := o.Params[0]
	row := embedRow(o, at)
	copy(s.vec(o.Dst), p.slice(at.layer)[row*p.Cols:(row+1)*p.Cols])
}

func (s *FloatSim) rmsnorm(o *Op, at step) {
	x, dst, g := s.vec(o.Args[0]), s.vec(o.Dst), o.Params[0].slice(at.layer)
	var ss float32
	for _, v := range x {
		ss += v * v
	}
	ss /= float32(len(x))
	ss += float32(o.Opts["eps"])
	ss = 1 / float32(math.Sqrt(float64(ss)))
	for i := range x {
		dst[i] = g[i] * (ss * x[i])
	}
}

// layernorm is llm.c's layernorm_forward.
func (s *FloatSim) layernorm(o *Op, at step) {
	x, dst, g := s.vec(o.Args[0]), s.vec(o.Dst), o.Params[0].slice(at.layer)
	var b []float32
	if len(o.Params) > 1 {
		b = o.Params[1].slice(at.layer)
	}
	var m float32
	for _, v := range x {
		m += v
	}
	m /= float32(len(x))
	var v float32
	for _, xv := range x {
		d := xv - m
		v += d * d
	}
	v /= float32(len(x))
	rs := 1 / float32(math.Sqrt(float64(v+float32(o.Opts["eps"]))))
	for i := range x {
		y := (rs * (x[i] - m)) * g[i]
		if b != nil {
			y += b[i]
		}
		dst[i] = y
	}
}

func (s *FloatSim) relu(o *Op, _ step) {
	x, dst := s.vec(o.Args[0]), s.vec(o.Dst)
	for i, v := range x {
		dst[i] = max(v, 0)
	}
}

func (s *FloatSim) bias(o *Op, at step) {
	x, dst, b := s.vec(o.Args[0]), s.vec(o.Dst), o.Params[0].slice(at.layer)
	for i := range dst {
		dst[i] = x[i] + b[i]
	}
}

func (s *FloatSim) scaleBy(o *Op, _ step) {
	x, dst := s.vec(o.Args[0]), s.vec(o.Dst)
	c := float32(o.Num)
	for i := range dst {
		dst[i] = x[i] * c
	}
}

func (s *FloatSim) sub(o *Op, _ step) {
	a, b, dst := s.vec(o.Args[0]), s.vec(o.Args[1]), s.vec(o.Dst)
	for i := range dst {
		dst[i] = a[i] - b[i]
	}
}

func (s *FloatSim) matmul(o *Op, at step) {
	x := s.vec(o.Args[0])
	for i, p := range o.Params {
		dst, w := s.vec(o.Parts[i]), p.slice(at.layer)
		for r := 0; r < p.Rows; r++ {
			var acc float32
			for c, wv := range w[r*p.Cols : (r+1)*p.Cols] {
				acc += wv * x[c]
			}
			dst[r] = acc
		}
	}
}

func (s *FloatSim) rope(o *Op, at step) {
	x, dst := s.vec(o.Args[0]), s.vec(o.Dst)
	R := op.RotaryDim(o.Opts, o.HeadDim)
	for i := 0; i < len(x); i += 2 {
		k := i % o.HeadDim
		if k >= R {
			dst[i], dst[i+1] = x[i], x[i+1]
			continue
		}
		c, sn := ropeAngle(at.pos, k, R, o.Opts["theta"])
		a, b := x[i], x[i+1]
		dst[i] = a*c - b*sn
		dst[i+1] = a*sn + b*c
	}
}

func (s *FloatSim) store(o *Op, at step) {
	c := o.Cache
	base := (at.layer*c.Context + at.pos) * c.Width
	copy(s.k[c][base:base+c.Width], s.vec(o.Args[0]))
	copy(s.v[c][base:base+c.Width], s.vec(o.Args[1]))
}

func (s *FloatSim) gate(o *Op, _ step) {
	x, dst := s.vec(o.Args[0]), s.vec(o.Dst)
	if f := floatGates[o.Func]; f != nil {
		for i, v := range x {
			dst[i] = f(v)
		}
		return
	}
	g := gateFuncs[o.Func]
	for i, v := range x {
		dst[i] = v * float32(g(float64(v)))
	}
}

// floatGates compute an activation in float32 step by step where the
// reference implementation does (llm.c's gelu_forward).
var floatGates = map[string]func(x float32) float32{
	"gelu_tanh": func(x float32) float32 {
		cube := float32(0.044715) * x * x * x
		s := float32(math.Sqrt(2 / math.Pi))
		return 0.5 * x * (1 + float32(math.Tanh(float64(s*(x+cube)))))
	},
}

func (s *FloatSim) mul(o *Op, _ step) {
	a, b, dst := s.vec(o.Args[0]), s.vec(o.Args[1]), s.vec(o.Dst)
	for i := range dst {
		dst[i] = a[i] * b[i]
	}
}

func (s *FloatSim) add(o *Op, _ step) {
	a, b, dst := s.vec(o.Args[0]), s.vec(o.Args[1]), s.vec(o.Dst)
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

func (s *FloatSim) argmax(o *Op, _ step) {
	x := s.vec(o.Args[0])
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	s.next = best
}

func (s *FloatSim) sample(o *Op, _ step) {
	x := append([]float32(nil), s.vec(o.Args[0])...)
	if s.p.Gen.Temperature == 0 {
		s.argmax(o, step{}) // a typed line's /t 0: greedy, as llama2.c
		return
	}
	s.next = sampleFloat(x, float32(s.p.Gen.Temperature), float32(s.p.Gen.TopP), &s.rng)
}

// ropeAngle is llama2.c's cos and sin for position pos and head index i
// (even) of the dims rotated elements: the frequency and angle in float32
// as run.c computes them, with base theta.
func ropeAngle(pos, i, dims int, theta float64) (float32, float32) {
	c, s := ropeAngle64(pos, i, dims, theta)
	return float32(c), float32(s)
}

// ropeAngle64 is the cosine and sine of llama2.c's float32 angle, unrounded.
func ropeAngle64(pos, i, dims int, theta float64) (float64, float64) {
	freq := float32(1.0 / math.Pow(theta, float64(float32(i)/float32(dims))))
	val := float64(float32(pos) * freq)
	return math.Cos(val), math.Sin(val)
}

// gateFuncs are the functions g of the Gate family's members (op/'s Func),
// x·g(x) being the activation: the float simulator computes them, and
// build_tables tabulates them for the integer one and the image.
var gateFuncs = map[string]func(x float64) float64{
	"silu": func(x float64) float64 { return 1 / (1 + math.Exp(-x)) },
	"gelu": func(x float64) float64 { return 0.5 * (1 + math.Erf(x/math.Sqrt2)) },
	// GPT-2's GELU: Φ by the tanh approximation.
	"gelu_tanh": func(x float64) float64 {
		return 0.5 * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
	},
}

func (s *FloatSim) attention(o *Op, at step) {
	l, pos := at.layer, at.pos
	c, D := o.Cache, o.HeadDim
	q, dst := s.vec(o.Args[0]), s.vec(o.Dst)
	heads, kvHeads := len(q)/D, c.Heads()
	att := make([]float32, pos+1)
	sq := float32(math.Sqrt(float64(D)))
	for h := 0; h < heads; h++ {
		kh := h / (heads / kvHeads)
		for t := 0; t <= pos; t++ {
			at := (l*c.Context+t)*c.Width + kh*D
			var sc float32
			for i := 0; i < D; i++ {
				sc += q[h*D+i] * s.k[c][at+i]
			}
			att[t] = sc / sq
		}
		softmaxF(att)
		out := dst[h*D : (h+1)*D]
		for i := range out {
			out[i] = 0
		}
		for t := 0; t <= pos; t++ {
			at := (l*c.Context+t)*c.Width + kh*D
			for i := range out {
				out[i] += att[t] * s.v[c][at+i]
			}
		}
	}
}
