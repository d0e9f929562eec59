package ir

import (
	"math"
	"sort"
)

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

// sample draws the next token from integer logits: softmax by the exp table
// at the sampler's temperature, then top-p, with a 24-bit coin
// (spec.md section 6, "Sampling").
func (s *Sim) sample(logits []int32) int {
	g := s.p.Gen
	invT := int64(math.Round(One / g.Temperature))
	z := make([]int64, len(logits))
	var best int64 = math.MinInt64
	for i, v := range logits {
		z[i] = Rshr(int64(v)*invT, FracBits)
		best = max(best, z[i])
	}
	tab := s.p.Table("exp").Data
	e := make([]uint64, len(z))
	for i := range z {
		d := best - z[i]
		if d < ExpLimit {
			e[i] = uint64(ExpLookup(tab, int32(d)))
		}
	}
	idx := make([]int, len(e))
	for i := range idx {
		idx[i] = i
	}
	n := len(idx)
	var total uint64
	for _, v := range e {
		total += v
	}
	if g.TopP > 0 && g.TopP < 1 {
		sort.SliceStable(idx, func(a, b int) bool { return e[idx[a]] > e[idx[b]] })
		topp := uint64(math.Round(g.TopP * One))
		var cum uint64
		for k, i := range idx {
			cum += e[i]
			if cum<<FracBits > topp*total {
				n = k + 1
				break
			}
		}
		total = cum
	}
	coin := uint64(s.rng.U32() >> 8)
	threshold := coin * total >> 24
	var cdf uint64
	for _, i := range idx[:n] {
		cdf += e[i]
		if threshold < cdf {
			return i
		}
	}
	return idx[n-1]
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
