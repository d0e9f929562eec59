package ir

import (
	"fmt"
	"math"
)

// Sim runs a quantized program on the host in exactly the integer arithmetic
// of the image (spec.md section 6). It is the reference every image is
// checked against.
type Sim struct {
	p      *Program
	mem    map[*Var][]int32
	kq, vq map[*Cache][]int32 // quantized keys/values, [layer][pos][width]
	ks, vs map[*Cache][]uint8 // their shifts, [layer][pos][head]
	rng    Rng
	// Overflow is set when a value left its 32-bit range: the image would
	// have wrapped where the simulator did not.
	Overflow error
}

// NewSim prepares a simulator for a compiled program (after the passes).
func NewSim(p *Program) *Sim {
	s := &Sim{p: p, mem: map[*Var][]int32{}, kq: map[*Cache][]int32{}, vq: map[*Cache][]int32{},
		ks: map[*Cache][]uint8{}, vs: map[*Cache][]uint8{}, rng: Rng(p.Gen.Seed)}
	for _, v := range p.Vars {
		if v.Parent == nil {
			s.mem[v] = make([]int32, v.Len)
		}
	}
	for _, c := range p.Caches {
		n := c.Layers * c.Context * c.Width
		s.kq[c], s.vq[c] = make([]int32, n), make([]int32, n)
		h := c.Layers * c.Context * c.Heads()
		s.ks[c], s.vs[c] = make([]uint8, h), make([]uint8, h)
	}
	return s
}

// vec returns the memory of v (a view shares its root's memory).
func (s *Sim) vec(v *Var) []int32 {
	r, off := v.Root()
	return s.mem[r][off : off+v.Len]
}

func (s *Sim) fit(x int64, op *Op) int32 {
	if x != int64(int32(x)) && s.Overflow == nil {
		s.Overflow = fmt.Errorf("%s: %s overflows 32 bits (%d)", op.Pos, op.Kind, x)
	}
	return int32(x)
}

// Logits returns the last step's logits (the input of argmax or sample)
// as real numbers.
func (s *Sim) Logits() []float64 {
	x := s.vec(s.p.logits())
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v) / One
	}
	return out
}

// RawLogits returns a copy of the last step's logits as the image holds
// them (Q16.16).
func (s *Sim) RawLogits() []int32 {
	return append([]int32(nil), s.vec(s.p.logits())...)
}

// Step runs the forward pass for token at pos and returns the next token.
func (s *Sim) Step(token, pos int) int {
	return s.p.forward(func(op *Op, l int) int { return s.run(op, token, pos, l) })
}

// forward runs every op in order, the layer block once per layer, and
// returns the token the last token-choosing op picked.
func (p *Program) forward(run func(op *Op, layer int) int) int {
	next := -1
	for b, ops := range p.Blocks {
		layers := 1
		if b == LayerBlock {
			layers = p.Layers
		}
		for l := 0; l < layers; l++ {
			for _, op := range ops {
				if t := run(op, l); t >= 0 {
					next = t
				}
			}
		}
	}
	return next
}

func (s *Sim) run(op *Op, token, pos, l int) int {
	switch op.Kind {
	case Embed:
		p := op.Params[0]
		dst, w := s.vec(op.Dst), p.Slice(l)[token*p.Cols:]
		m := int64(p.Mult(p.Layer(l), token))
		for i := range dst {
			dst[i] = s.fit(Rshr(int64(w[i])*m, p.Q.Shift), op)
		}
	case RMSNorm:
		x, dst := s.vec(op.Args[0]), s.vec(op.Dst)
		g := op.Params[0].Slice(l)
		var ss uint64
		for _, v := range x {
			ss += uint64(int64(v) * int64(v))
		}
		inv := int64(RMSInv(ss, len(x)))
		for i := range x {
			y := Rshr(int64(x[i])*inv, RMSInvBits)
			dst[i] = s.fit(Rshr(y*int64(g[i]), FracBits), op)
		}
	case MatMul:
		x := s.vec(op.Args[0])
		for i, p := range op.Params {
			dst := s.vec(op.Parts[i])
			layer := p.Layer(l)
			w := p.Slice(l)
			for r := 0; r < p.Rows; r++ {
				var acc int64
				row := w[r*p.Cols : (r+1)*p.Cols]
				for c, wv := range row {
					acc += int64(wv) * int64(x[c])
				}
				t := int64(s.fit(Rshr(acc, MatmulPreShift), op))
				dst[r] = s.fit(Rshr(t*int64(p.Mult(layer, r)), p.Q.Shift), op)
			}
		}
	case RoPE:
		x, dst := s.vec(op.Args[0]), s.vec(op.Dst)
		half := op.HeadDim / 2
		tab := op.Table.Data[pos*op.HeadDim:]
		for i := 0; i < len(x); i += 2 {
			j := (i % op.HeadDim) / 2
			c, sn := int64(tab[j]), int64(tab[half+j])
			a, b := int64(x[i]), int64(x[i+1])
			dst[i] = s.fit(Rshr(a*c-b*sn, RopeBits), op)
			dst[i+1] = s.fit(Rshr(a*sn+b*c, RopeBits), op)
		}
	case Store:
		c := op.Cache
		s.store(c, s.kq[c], s.ks[c], s.vec(op.Args[0]), l, pos)
		s.store(c, s.vq[c], s.vs[c], s.vec(op.Args[1]), l, pos)
	case Attention:
		s.attention(op, l, pos)
	case Gate:
		x, dst := s.vec(op.Args[0]), s.vec(op.Dst)
		for i, v := range x {
			dst[i] = s.fit(Rshr(int64(v)*int64(GateLookup(op.Table.Data, v)), GateBits), op)
		}
	case Mul:
		a, b, dst := s.vec(op.Args[0]), s.vec(op.Args[1]), s.vec(op.Dst)
		for i := range dst {
			dst[i] = s.fit(Rshr(int64(a[i])*int64(b[i]), FracBits), op)
		}
	case Add:
		a, b, dst := s.vec(op.Args[0]), s.vec(op.Args[1]), s.vec(op.Dst)
		for i := range dst {
			dst[i] = s.fit(int64(a[i])+int64(b[i]), op)
		}
	case Argmax:
		return argmax(s.vec(op.Args[0]))
	case Sample:
		return s.sample(s.vec(op.Args[0]), op)
	default:
		panic(fmt.Sprintf("BUG: sim: op %v", op.Kind))
	}
	return -1
}

func argmax(x []int32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// store quantizes one position's keys or values, head by head, with a
// power-of-two scale each.
func (s *Sim) store(c *Cache, q []int32, sh []uint8, x []int32, l, pos int) {
	qmax := int64(1)<<(c.Bits-1) - 1
	base := (l*c.Context + pos) * c.Width
	for h := 0; h < c.Heads(); h++ {
		var m int64
		for _, v := range x[h*c.HeadDim : (h+1)*c.HeadDim] {
			m = max(m, abs64(int64(v)))
		}
		k := KVShift(m, qmax)
		sh[(l*c.Context+pos)*c.Heads()+h] = uint8(k)
		for i := h * c.HeadDim; i < (h+1)*c.HeadDim; i++ {
			q[base+i] = int32(Rshr(int64(x[i]), k))
		}
	}
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// AttnScale is 1/sqrt(headDim) in Q1.30.
func AttnScale(headDim int) int64 {
	return int64(math.Round(math.Ldexp(1/math.Sqrt(float64(headDim)), AttnScaleBits)))
}

func (s *Sim) attention(op *Op, l, pos int) {
	c, D := op.Cache, op.HeadDim
	q, dst := s.vec(op.Args[0]), s.vec(op.Dst)
	heads, kvHeads := len(q)/D, c.Heads()
	scale := AttnScale(D)
	scores := make([]int32, pos+1)
	es := make([]int64, pos+1)
	for h := 0; h < heads; h++ {
		kh := h / (heads / kvHeads)
		best := int32(math.MinInt32)
		for t := 0; t <= pos; t++ {
			at := (l*c.Context+t)*c.Width + kh*D
			var dot int64
			for i := 0; i < D; i++ {
				dot += int64(q[h*D+i]) * int64(s.kq[c][at+i])
			}
			sh := s.ks[c][(l*c.Context+t)*kvHeads+kh]
			sc := Rshr(dot<<sh, FracBits)
			scores[t] = s.fit(Rshr(int64(s.fit(sc, op))*scale, AttnScaleBits), op)
			best = max(best, scores[t])
		}
		var sum int64
		for t := 0; t <= pos; t++ {
			// The code compares best−score unsigned: it cannot wrap,
			// since both are 32-bit.
			es[t] = 0
			if d := int64(best) - int64(scores[t]); d < ExpLimit {
				es[t] = int64(ExpLookup(op.Table.Data, int32(d)))
			}
			sum += es[t]
		}
		for i := 0; i < D; i++ {
			var num int64
			for t := 0; t <= pos; t++ {
				at := (l*c.Context+t)*c.Width + kh*D + i
				num += es[t] * (int64(s.vq[c][at]) << s.vs[c][(l*c.Context+t)*kvHeads+kh])
			}
			dst[h*D+i] = s.fit(DivRound(num, sum), op)
		}
	}
}

// logits is the var the last op chooses the next token from.
func (p *Program) logits() *Var {
	post := p.Blocks[PostBlock]
	return post[len(post)-1].Args[0]
}
