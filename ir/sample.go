package ir

import (
	"bytes"
	"math"
	"sort"

	"tfc/lang"
)

// MaxSoftmaxTerms is the most softmax weights, each at most 2^ExpBits,
// whose sum fits 32 bits: attention over at most that many positions sums
// in 32 bits (the loop code generator), over more in 64 (as the simulator
// always does).
const MaxSoftmaxTerms = 1<<(32-ExpBits) - 1

// Rng is llama2.c's sampler generator (xorshift64*), so that a seed gives
// the same draws as `run -s SEED`.
type Rng uint64

// U32 is llama2.c's random_u32.
func (r *Rng) U32() uint32 {
	*r ^= *r >> 12
	*r ^= *r << 25
	*r ^= *r >> 27
	return uint32((uint64(*r) * 0x2545F4914F6CDD1D) >> 32)
}

// F32 is llama2.c's random_f32: 24 random bits in [0, 1).
func (r *Rng) F32() float32 { return float32(r.U32()>>8) / 16777216.0 }

// draw draws the next token from integer logits (spec.md section 6,
// "Sampling"): softmax weights by the exp table at the sampler's
// temperature; with top-p, the nucleus is every token whose better-ranked
// tokens (larger weight, or equal weight and lower index) weigh at most
// top_p of the total; a 24-bit coin picks a token by scanning the nucleus
// in index order. The ranking needs no sort, which keeps the image's code
// short.
func (s *Sim) draw(logits []int32, o *Op) int {
	invT := s.Sampling.InvT
	if invT == 0 {
		return argmax(logits) // a typed line's /t 0: greedy, no draw
	}
	z := make([]int32, len(logits))
	best := int32(math.MinInt32)
	for i, v := range logits {
		z[i] = s.fit(Rshr(int64(v)*invT, FracBits), o)
		best = max(best, z[i])
	}
	e := make([]uint64, len(z))
	var total uint64
	for i := range z {
		if d := int64(best) - int64(z[i]); d < ExpLimit {
			e[i] = uint64(ExpLookup(o.Table.Data, int32(d)))
		}
		total += e[i]
	}
	if s.Sampling.TopP < One {
		e = Nucleus(e, uint64(s.Sampling.TopP)*total>>FracBits)
	}
	var nucleus uint64
	for _, v := range e {
		nucleus += v
	}
	threshold := uint64(s.rng.U32()>>8) * nucleus >> 24
	var cdf uint64
	for i, v := range e {
		cdf += v
		if threshold < cdf {
			return i
		}
	}
	panic("BUG: sample: the coin passed the nucleus")
}

// Sampling is the sampler's parameters as the image holds them: InvT =
// round(2^16/temperature), 0 for a temperature of 0 (greedy: the argmax);
// TopP = round(top_p·2^16) when top_p < 1, else One (no nucleus: with
// TopP = One the nucleus would be every token).
type Sampling struct{ InvT, TopP int64 }

// SamplingOf is the generate block's sampler as a Sampling.
func SamplingOf(g lang.Generate) Sampling {
	s := Sampling{TopP: One}
	if !g.Greedy && g.Temperature > 0 {
		s.InvT = int64(math.Round(One / g.Temperature))
	}
	if g.TopP > 0 && g.TopP < 1 {
		s.TopP = int64(math.Round(g.TopP * One))
	}
	return s
}

// ParseSamplingLine reads a typed parameter line (spec.md section 3,
// "Typed prompts"): "/t X" sets the temperature, "/p X" top-p, X one to
// three digits, then optionally a point and one to four digits, nothing
// else. With N the digits of X and d those after the point (X = N/10^d):
// /t makes InvT = (2^17·10^d + N) / (2N), round(2^16/X) with halves up, or
// 0 for X = 0; /p makes TopP = (2^17·N + 10^d) / (2·10^d), round(X·2^16),
// or One when X is 0 or at least 1. ok is false when line is no parameter
// line (a prompt).
func ParseSamplingLine(line []byte, s Sampling) (Sampling, bool) {
	if len(line) < 4 || line[0] != '/' || (line[1] != 't' && line[1] != 'p') || line[2] != ' ' {
		return s, false
	}
	num := line[3:]
	ip, fp, point := num, []byte(nil), false
	if i := bytes.IndexByte(num, '.'); i >= 0 {
		ip, fp, point = num[:i], num[i+1:], true
	}
	digits := func(b []byte, lo, hi int) bool {
		if len(b) < lo || len(b) > hi {
			return false
		}
		for _, c := range b {
			if c < '0' || c > '9' {
				return false
			}
		}
		return true
	}
	if !digits(ip, 1, 3) || (point && !digits(fp, 1, 4)) {
		return s, false
	}
	n, scale := int64(0), int64(1)
	for _, c := range ip {
		n = 10*n + int64(c-'0')
	}
	for _, c := range fp {
		n, scale = 10*n+int64(c-'0'), 10*scale
	}
	switch {
	case line[1] == 't' && n == 0:
		s.InvT = 0
	case line[1] == 't':
		s.InvT = (2*One*scale + n) / (2 * n)
	case n == 0 || n >= scale:
		s.TopP = One
	default:
		s.TopP = (2*One*n + scale) / (2 * scale)
	}
	return s, true
}

// Nucleus returns the weights e (each at most 2^ExpBits) with every token
// outside the nucleus at 0: token i is in when its better-ranked tokens
// (larger weight, or equal weight and a lower index) weigh at most limit.
//
// Without a sort, in O(n·ExpBits): the nucleus is a prefix of the ranking,
// so it is every token of weight above a threshold u, and of weight u those
// that the tokens before them leave room for. With G(v) the weight of the
// tokens heavier than v, u is the least v with G(v) <= limit (G falls with
// v, G(2^ExpBits) = 0), found by bisection; a token of weight u is in when
// G(u) plus the weight of the earlier tokens of weight u is at most limit.
// (NucleusByRank is the definition, one token against every other.)
func Nucleus(e []uint64, limit uint64) []uint64 {
	heavier := func(v uint64) uint64 {
		var g uint64
		for _, w := range e {
			if w > v {
				g += w
			}
		}
		return g
	}
	lo, hi := uint64(0), uint64(1)<<ExpBits
	for k := 0; k < NucleusSteps; k++ {
		mid := (lo + hi) / 2
		if heavier(mid) <= limit {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	u := hi
	before := heavier(u)
	in := make([]uint64, len(e))
	for i, w := range e {
		switch {
		case w > u:
			in[i] = w
		case w == u:
			if before <= limit {
				in[i] = w
			}
			before += w
		}
	}
	return in
}

// NucleusSteps is the bisection's steps: enough for 2^ExpBits+1 values.
const NucleusSteps = ExpBits + 1

// NucleusByRank is Nucleus by its definition, in O(n²): for tests.
func NucleusByRank(e []uint64, limit uint64) []uint64 {
	in := make([]uint64, len(e))
	for i := range e {
		var before uint64
		for j := range e {
			if e[j] > e[i] || (e[j] == e[i] && j < i) {
				before += e[j]
			}
		}
		if before <= limit {
			in[i] = e[i]
		}
	}
	return in
}

// sampleFloat is llama2.c's sample() with temperature > 0.
func sampleFloat(logits []float32, temp, topp float32, rng *Rng) int {
	for i := range logits {
		logits[i] /= temp
	}
	softmaxF(logits)
	coin := rng.F32()
	if topp <= 0 || topp >= 1 {
		var cdf float32
		for i, p := range logits {
			cdf += p
			if coin < cdf {
				return i
			}
		}
		return len(logits) - 1
	}
	cutoff := (1 - topp) / float32(len(logits)-1)
	var idx []int
	for i, p := range logits {
		if p >= cutoff {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return logits[idx[a]] > logits[idx[b]] })
	last := len(idx) - 1
	var cum float32
	for k, i := range idx {
		cum += logits[i]
		if cum > topp {
			last = k
			break
		}
	}
	r := coin * cum
	var cdf float32
	for _, i := range idx[:last+1] {
		cdf += logits[i]
		if r < cdf {
			return i
		}
	}
	return idx[last]
}

func softmaxF(x []float32) {
	m := x[0]
	for _, v := range x[1:] {
		m = max(m, v)
	}
	var sum float32
	for i := range x {
		x[i] = float32(math.Exp(float64(x[i] - m)))
		sum += x[i]
	}
	for i := range x {
		x[i] /= sum
	}
}
