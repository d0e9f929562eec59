package ir

import (
	"fmt"
	"math"
)

// FloatSim runs a program on its float weights in float32, in llama2.c's
// order of operations, so that it prints what llama2.c's run prints.
type FloatSim struct {
	p     *Program
	mem   map[*Var][]float32
	k, v  map[*Cache][]float32
	rng   Rng
	scale map[int]float32
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
	return s.p.forward(func(op *Op, l int) int { return s.run(op, token, pos, l) })
}

// slice is the float weights that layer l reads.
func (p *Param) slice(l int) []float32 {
	n := p.Rows * p.Cols
	l = p.Layer(l)
	return p.F[l*n : (l+1)*n]
}

func (s *FloatSim) run(op *Op, token, pos, l int) int {
	switch op.Kind {
	case Embed:
		p := op.Params[0]
		copy(s.vec(op.Dst), p.slice(l)[token*p.Cols:(token+1)*p.Cols])
	case RMSNorm:
		x, dst, g := s.vec(op.Args[0]), s.vec(op.Dst), op.Params[0].slice(l)
		var ss float32
		for _, v := range x {
			ss += v * v
		}
		ss /= float32(len(x))
		ss += 1e-5
		ss = 1 / float32(math.Sqrt(float64(ss)))
		for i := range x {
			dst[i] = g[i] * (ss * x[i])
		}
	case MatMul:
		x := s.vec(op.Args[0])
		for i, p := range op.Params {
			dst, w := s.vec(op.Parts[i]), p.slice(l)
			for r := 0; r < p.Rows; r++ {
				var acc float32
				for c, wv := range w[r*p.Cols : (r+1)*p.Cols] {
					acc += wv * x[c]
				}
				dst[r] = acc
			}
		}
	case RoPE:
		x, dst := s.vec(op.Args[0]), s.vec(op.Dst)
		for i := 0; i < len(x); i += 2 {
			c, sn := ropeAngle(pos, i%op.HeadDim, op.HeadDim)
			a, b := x[i], x[i+1]
			dst[i] = a*c - b*sn
			dst[i+1] = a*sn + b*c
		}
	case Store:
		c := op.Cache
		at := (l*c.Context + pos) * c.Width
		copy(s.k[c][at:at+c.Width], s.vec(op.Args[0]))
		copy(s.v[c][at:at+c.Width], s.vec(op.Args[1]))
	case Attention:
		s.attention(op, l, pos)
	case Gate:
		x, dst := s.vec(op.Args[0]), s.vec(op.Dst)
		for i, v := range x {
			dst[i] = v * float32(gateFunc(op.Func, float64(v)))
		}
	case Mul:
		a, b, dst := s.vec(op.Args[0]), s.vec(op.Args[1]), s.vec(op.Dst)
		for i := range dst {
			dst[i] = a[i] * b[i]
		}
	case Add:
		a, b, dst := s.vec(op.Args[0]), s.vec(op.Args[1]), s.vec(op.Dst)
		for i := range dst {
			dst[i] = a[i] + b[i]
		}
	case Argmax:
		x := s.vec(op.Args[0])
		best := 0
		for i, v := range x {
			if v > x[best] {
				best = i
			}
		}
		return best
	case Sample:
		x := append([]float32(nil), s.vec(op.Args[0])...)
		return sampleFloat(x, float32(s.p.Gen.Temperature), float32(s.p.Gen.TopP), &s.rng)
	default:
		panic(fmt.Sprintf("BUG: float sim: op %v", op.Kind))
	}
	return -1
}

// ropeAngle is llama2.c's cos and sin for position pos and head index i
// (even): the frequency and angle in float32 as run.c computes them.
func ropeAngle(pos, i, headDim int) (float32, float32) {
	c, s := ropeAngle64(pos, i, headDim)
	return float32(c), float32(s)
}

// ropeAngle64 is the cosine and sine of llama2.c's float32 angle, unrounded.
func ropeAngle64(pos, i, headDim int) (float64, float64) {
	freq := float32(1.0 / math.Pow(RopeTheta, float64(float32(i)/float32(headDim))))
	val := float64(float32(pos) * freq)
	return math.Cos(val), math.Sin(val)
}

// gateFunc is the function a gate table tabulates: x*gate(x) is the activation.
func gateFunc(name string, x float64) float64 {
	switch name {
	case "silu":
		return 1 / (1 + math.Exp(-x))
	case "gelu":
		return 0.5 * (1 + math.Erf(x/math.Sqrt2))
	}
	panic("BUG: unknown gate " + name)
}

func (s *FloatSim) attention(op *Op, l, pos int) {
	c, D := op.Cache, op.HeadDim
	q, dst := s.vec(op.Args[0]), s.vec(op.Dst)
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
