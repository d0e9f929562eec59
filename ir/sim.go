package ir

import (
	"fmt"
	"math"

	"tfc/op"
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
	// Sampling is what sample() draws with: the generate block's
	// (SamplingOf), or what a typed parameter line set (ParseSamplingLine).
	Sampling Sampling
	next     int // the token the last op chose, or -1
	// Overflow is set when a value left its 32-bit range: the image would
	// have wrapped where the simulator did not.
	Overflow error
}

// NewSim prepares a simulator for a compiled program (after the passes).
func NewSim(p *Program) *Sim {
	s := &Sim{p: p, mem: map[*Var][]int32{}, kq: map[*Cache][]int32{}, vq: map[*Cache][]int32{},
		ks: map[*Cache][]uint8{}, vs: map[*Cache][]uint8{}, rng: Rng(p.Gen.Seed), Sampling: SamplingOf(p.Gen)}
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

func (s *Sim) fit(x int64, o *Op) int32 {
	if x != int64(int32(x)) && s.Overflow == nil {
		s.Overflow = fmt.Errorf("%s: %s overflows 32 bits (%d)", o.Pos, o.Kind, x)
	}
	return int32(x)
}

// normFaults notes, as an overflow, a norm's sum of squares for which
// the image's division by the root faults (NormFaults).
func (s *Sim) normFaults(ss uint64, n int, epsQ uint64, o *Op) {
	if NormFaults(ss, n, epsQ) && s.Overflow == nil {
		s.Overflow = fmt.Errorf("%s: %s's sum of squares wraps past 2^64 to below 2n: the image divides by a root of 0", o.Pos, o.Kind)
	}
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
	return s.p.forward(func(o *Op, l int) int { return s.run(o, token, pos, l) })
}

// forward runs every op in order, the layer block once per layer, and
// returns the token the last token-choosing op picked.
func (p *Program) forward(run func(o *Op, layer int) int) int {
	next := -1
	for b, ops := range p.Blocks {
		layers := 1
		if b == LayerBlock {
			layers = p.Layers
		}
		for l := 0; l < layers; l++ {
			for _, o := range ops {
				if t := run(o, l); t >= 0 {
					next = t
				}
			}
		}
	}
	return next
}

// step is where the forward pass is: the input token, its position and
// the layer the layer block runs for (0 outside it).
type step struct{ token, pos, layer int }

// intOps gives each op kind its integer semantics (spec.md section 6), so
// that a new op is a row in op/ and an entry here and in floatOps. An op
// that chooses the next token leaves it in Sim.next.
var intOps = [op.NumKinds]func(s *Sim, o *Op, at step){
	Embed:     (*Sim).embed,
	RMSNorm:   (*Sim).rmsnorm,
	MatMul:    (*Sim).matmul,
	RoPE:      (*Sim).rope,
	Store:     (*Sim).store,
	Attention: (*Sim).attention,
	Gate:      (*Sim).gate,
	Mul:       (*Sim).mul,
	Add:       (*Sim).add,
	Argmax:    (*Sim).argmax,
	Sample:    (*Sim).sample,
	LayerNorm: (*Sim).layernorm,
	Relu:      (*Sim).relu,
	Bias:      (*Sim).bias,
	Scale:     (*Sim).scale,
	Sub:       (*Sim).sub,
}

func (s *Sim) run(o *Op, token, pos, l int) int {
	sem := intOps[o.Kind]
	if sem == nil {
		panic(fmt.Sprintf("BUG: sim: op %v has no semantics", o.Kind))
	}
	s.next = -1
	sem(s, o, step{token, pos, l})
	return s.next
}

// embedRow is the row an embed reads: the token's, or the position's
// (embed(P, pos), learned positions).
func embedRow(o *Op, at step) int {
	if o.Func == "pos" {
		return at.pos
	}
	return at.token
}

func (s *Sim) embed(o *Op, at step) {
	p := o.Params[0]
	row := embedRow(o, at)
	dst, w := s.vec(o.Dst), p.Slice(at.layer)[row*p.Cols:]
	m := int64(p.Mult(p.Layer(at.layer), row))
	for i := range dst {
		dst[i] = s.fit(Rshr(int64(w[i])*m, p.Q.Shift), o)
	}
}

func (s *Sim) rmsnorm(o *Op, at step) {
	x, dst := s.vec(o.Args[0]), s.vec(o.Dst)
	g := o.Params[0].Slice(at.layer)
	var ss uint64
	for _, v := range x {
		ss += uint64(int64(v) * int64(v))
	}
	epsQ := EpsQ(o.Opts["eps"])
	bits := NormInvBits(epsQ)
	s.normFaults(ss, len(x), epsQ, o)
	inv := int64(NormInv(ss, len(x), epsQ, bits))
	for i := range x {
		y := Rshr(int64(x[i])*inv, bits)
		dst[i] = s.fit(Rshr(y*int64(g[i]), FracBits), o)
	}
}

// layernorm is rmsnorm of x less its mean, then the bias: mean =
// DivRound(Σ x, n); d = x − mean (32 bits); 1/sd from Σ d² as rmsnorm's
// 1/RMS from Σ x².
func (s *Sim) layernorm(o *Op, at step) {
	x, dst := s.vec(o.Args[0]), s.vec(o.Dst)
	g := o.Params[0].Slice(at.layer)
	var b []int32
	if len(o.Params) > 1 {
		b = o.Params[1].Slice(at.layer)
	}
	var sum int64
	for _, v := range x {
		sum += int64(v)
	}
	mean := DivRound(sum, int64(len(x)))
	var ss uint64
	for _, v := range x {
		d := int64(s.fit(int64(v)-mean, o))
		ss += uint64(d * d)
	}
	epsQ := EpsQ(o.Opts["eps"])
	bits := NormInvBits(epsQ)
	s.normFaults(ss, len(x), epsQ, o)
	inv := int64(NormInv(ss, len(x), epsQ, bits))
	for i := range x {
		d := int64(int32(int64(x[i]) - mean))
		y := s.fit(Rshr(Rshr(d*inv, bits)*int64(g[i]), FracBits), o)
		if b != nil {
			y = s.fit(int64(y)+int64(b[i]), o)
		}
		dst[i] = y
	}
}

func (s *Sim) matmul(o *Op, at step) {
	x := s.vec(o.Args[0])
	for i, p := range o.Params {
		dst := s.vec(o.Parts[i])
		layer := p.Layer(at.layer)
		w := p.Slice(at.layer)
		for r := 0; r < p.Rows; r++ {
			var acc int64
			row := w[r*p.Cols : (r+1)*p.Cols]
			for c, wv := range row {
				acc += int64(wv) * int64(x[c])
			}
			t := int64(s.fit(Rshr(acc, MatmulPreShift), o))
			dst[r] = s.fit(Rshr(t*int64(p.Mult(layer, r)), p.Q.Shift), o)
		}
	}
}

func (s *Sim) rope(o *Op, at step) {
	x, dst := s.vec(o.Args[0]), s.vec(o.Dst)
	// The first R elements of each head rotate (rotary_dim), the others
	// pass.
	R := op.RotaryDim(o.Opts, o.HeadDim)
	half := R / 2
	tab := o.Table.Data[at.pos*R:]
	for i := 0; i < len(x); i += 2 {
		k := i % o.HeadDim
		if k >= R {
			dst[i], dst[i+1] = x[i], x[i+1]
			continue
		}
		j := k / 2
		c, sn := int64(tab[j]), int64(tab[half+j])
		a, b := int64(x[i]), int64(x[i+1])
		dst[i] = s.fit(Rshr(a*c-b*sn, RopeBits), o)
		dst[i+1] = s.fit(Rshr(a*sn+b*c, RopeBits), o)
	}
}

func (s *Sim) store(o *Op, at step) {
	c := o.Cache
	s.quantizeKV(c, s.kq[c], s.ks[c], s.vec(o.Args[0]), at.layer, at.pos)
	s.quantizeKV(c, s.vq[c], s.vs[c], s.vec(o.Args[1]), at.layer, at.pos)
}

func (s *Sim) gate(o *Op, _ step) {
	x, dst := s.vec(o.Args[0]), s.vec(o.Dst)
	for i, v := range x {
		dst[i] = s.fit(Rshr(int64(v)*int64(GateLookup(o.Table.Data, v)), GateBits), o)
	}
}

func (s *Sim) mul(o *Op, _ step) {
	a, b, dst := s.vec(o.Args[0]), s.vec(o.Args[1]), s.vec(o.Dst)
	for i := range dst {
		dst[i] = s.fit(Rshr(int64(a[i])*int64(b[i]), FracBits), o)
	}
}

func (s *Sim) add(o *Op, _ step) {
	a, b, dst := s.vec(o.Args[0]), s.vec(o.Args[1]), s.vec(o.Dst)
	for i := range dst {
		dst[i] = s.fit(int64(a[i])+int64(b[i]), o)
	}
}

func (s *Sim) sub(o *Op, _ step) {
	a, b, dst := s.vec(o.Args[0]), s.vec(o.Args[1]), s.vec(o.Dst)
	for i := range dst {
		dst[i] = s.fit(int64(a[i])-int64(b[i]), o)
	}
}

func (s *Sim) bias(o *Op, at step) {
	a, dst := s.vec(o.Args[0]), s.vec(o.Dst)
	b := o.Params[0].Slice(at.layer)
	for i := range dst {
		dst[i] = s.fit(int64(a[i])+int64(b[i]), o)
	}
}

func (s *Sim) scale(o *Op, _ step) {
	a, dst := s.vec(o.Args[0]), s.vec(o.Dst)
	c := int64(ScaleQ(o.Num))
	for i := range dst {
		dst[i] = s.fit(Rshr(int64(a[i])*c, FracBits), o)
	}
}

func (s *Sim) relu(o *Op, _ step) {
	a, dst := s.vec(o.Args[0]), s.vec(o.Dst)
	for i := range dst {
		dst[i] = max(a[i], 0)
	}
}

func (s *Sim) argmax(o *Op, _ step) { s.next = argmax(s.vec(o.Args[0])) }

func (s *Sim) sample(o *Op, _ step) { s.next = s.draw(s.vec(o.Args[0]), o) }

func argmax(x []int32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// quantizeKV quantizes one position's keys or values, head by head, with a
// power-of-two scale each.
func (s *Sim) quantizeKV(c *Cache, q []int32, sh []uint8, x []int32, l, pos int) {
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

func (s *Sim) attention(o *Op, at step) {
	l, pos := at.layer, at.pos
	c, D := o.Cache, o.HeadDim
	q, dst := s.vec(o.Args[0]), s.vec(o.Dst)
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
			scores[t] = s.fit(Rshr(int64(s.fit(sc, o))*scale, AttnScaleBits), o)
			best = max(best, scores[t])
		}
		var sum int64
		for t := 0; t <= pos; t++ {
			// The code compares best−score unsigned: it cannot wrap,
			// since both are 32-bit.
			es[t] = 0
			if d := int64(best) - int64(scores[t]); d < ExpLimit {
				es[t] = int64(ExpLookup(o.Table.Data, int32(d)))
			}
			sum += es[t]
		}
		for i := 0; i < D; i++ {
			var num int64
			for t := 0; t <= pos; t++ {
				at := (l*c.Context+t)*c.Width + kh*D + i
				num += es[t] * (int64(s.vq[c][at]) << s.vs[c][(l*c.Context+t)*kvHeads+kh])
			}
			dst[h*D+i] = s.fit(DivRound(num, sum), o)
		}
	}
}

// logits is the var the last op chooses the next token from.
func (p *Program) logits() *Var {
	post := p.Blocks[PostBlock]
	return post[len(post)-1].Args[0]
}
