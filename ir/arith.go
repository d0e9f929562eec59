package ir

import "math"

// The integer arithmetic that the simulator and the generated code share.
// Every constant here is used by both; spec.md section 6 explains each one.
// The values were chosen by measurement: with them the stories260K model in
// int16 reproduces llama2.c's float greedy output token for token.

const (
	// FracBits: activations are Q16.16 in 32 bits.
	FracBits = 16
	// One is 1.0 in Q16.16.
	One = 1 << FracBits

	// RMSEps is rmsnorm's epsilon 1e-5 in Q32.32, the format of mean(x²).
	RMSEps = 42950
	// RMSInvBits: 1/rms is computed in Q10.22, so that 2^(16+22)/r fits 31 bits
	// for every r >= isqrt(RMSEps).
	RMSInvBits = 22

	// RopeBits: cos and sin of the RoPE table are Q1.30.
	RopeBits = 30
	// RopeTheta is the default RoPE base frequency (rope's theta option).
	RopeTheta = 10000.0

	// AttnScaleBits: 1/sqrt(head_dim) is a Q1.30 constant.
	AttnScaleBits = 30

	// The exp table holds exp(-d) for d in [0, 16) in steps of 1/32: 512
	// entries and one more at d = 16 for the interpolation, in Q0.22 (so that
	// a sum over up to 1023 positions fits 32 bits unsigned; the code divides
	// magnitudes by it with an unsigned div). d is Q16.16, so the
	// index is d >> ExpStepBits and the low ExpStepBits bits interpolate.
	ExpEntries  = 512
	ExpStepBits = FracBits - 5
	ExpBits     = 22
	ExpLimit    = ExpEntries << ExpStepBits // d at or past this gives 0

	// Gate tables (silu's sigmoid, gelu's Phi) cover [-16, 16) in steps of
	// 1/32 (1024 entries, one more at +16) in Q1.30; below the range the gate
	// is 0, at or above it 1.
	GateEntries  = 1024
	GateStepBits = FracBits - 5
	GateBits     = 30
	GateLow      = -16 << FracBits
	GateHigh     = 16 << FracBits

	// Matmul: acc = sum w*x in 64 bits; t = rshr(acc, MatmulPreShift) must fit
	// 32 bits; y = rshr(t*m, B) with a multiplier m per scale group and one
	// shift B per weight tensor.
	MatmulPreShift = FracBits
)

// Rshr shifts right by n with rounding to nearest (halves round up), the
// only rounding the scheme uses: add 2^(n-1), then an arithmetic shift.
func Rshr(x int64, n uint) int64 {
	if n == 0 {
		return x
	}
	return (x + 1<<(n-1)) >> n
}

// Isqrt is floor(sqrt(v)) for v < 2^62, bit by bit from the top as the
// generated code computes it.
func Isqrt(v uint64) uint64 {
	var r uint64
	for bit := uint64(1) << 31; bit > 0; bit >>= 1 {
		if t := r | bit; t*t <= v {
			r = t
		}
	}
	return r
}

// DivRound divides with rounding half away from zero (d > 0), as the code
// does with idiv after adding or subtracting d/2.
func DivRound(n, d int64) int64 {
	if n >= 0 {
		return (n + d/2) / d
	}
	return (n - d/2) / d
}

// RMSInv returns 1/sqrt(mean(x²)+eps) in Q10.22 for a sum of squares ss
// (Q32.32) over n elements, with the default eps.
func RMSInv(ss uint64, n int) uint64 {
	return NormInv(ss, n, RMSEps, RMSInvBits)
}

// EpsQ is a norm's epsilon in Q32.32 (the checks keep it at least 1).
func EpsQ(eps float64) uint64 { return uint64(math.Round(math.Ldexp(eps, 32))) }

// NormInvBits is the number of fraction bits of a norm's 1/sqrt(v + eps)
// for eps epsQ in Q32.32: RMSInvBits, or fewer when eps is so small that
// 2^(16+bits)/isqrt(epsQ) would not fit 31 bits.
func NormInvBits(epsQ uint64) uint {
	r := Isqrt(epsQ)
	b := uint(RMSInvBits)
	for b > 0 && (uint64(1)<<(FracBits+b)+r/2)/r >= 1<<31 {
		b--
	}
	return b
}

// NormInv returns 1/sqrt(ss/n + epsQ) in Q(32−bits).bits for a sum of
// squares ss (Q32.32) over n elements: rmsnorm's 1/RMS, layernorm's
// 1/sd. The code generators start the sum at n·(epsQ+1), so that the
// sum over n is ss/n + epsQ + 1 (floor division), and take the largest
// root whose square is below that (IsqrtBelow): isqrt(ss/n + epsQ), with
// no add after the division and a compare that needs no copy. Where the
// 64-bit sum wraps, theirs does too; the root is 0 only there
// (NormFaults), where their division by it faults: NormInv divides by 1.
func NormInv(ss uint64, n int, epsQ uint64, bits uint) uint64 {
	r := max(normRoot(ss, n, epsQ), 1)
	return (uint64(1)<<(FracBits+bits) + r/2) / r
}

func normRoot(ss uint64, n int, epsQ uint64) uint64 {
	return IsqrtBelow((ss + uint64(n)*(epsQ+1)) / uint64(n))
}

// NormFaults: the generated code's division by a norm's root faults for
// the sum of squares ss (the sum wrapped past 2^64 to below 2n: the root
// is 0).
func NormFaults(ss uint64, n int, epsQ uint64) bool { return normRoot(ss, n, epsQ) == 0 }

// IsqrtBelow is the largest r below 2^32 whose square is below v (0 for
// v = 0: Isqrt(v−1) otherwise), bit by bit from the top as the generated
// code computes it.
func IsqrtBelow(v uint64) uint64 {
	var r uint64
	for bit := uint64(1) << 31; bit > 0; bit >>= 1 {
		if t := r | bit; t*t < v {
			r = t
		}
	}
	return r
}

// ScaleQ is mul(x, c)'s constant in Q16.16.
func ScaleQ(c float64) int32 { return int32(math.Round(c * One)) }

// ExpLookup is exp(-d) in Q0.22 for d >= 0 in Q16.16, by linear
// interpolation in table t (ExpEntries+1 entries).
func ExpLookup(t []int32, d int32) int32 {
	if d >= ExpLimit {
		return 0
	}
	j, f := d>>ExpStepBits, d&(1<<ExpStepBits-1)
	return Lerp(t[j], t[j+1], int64(f), ExpStepBits)
}

// Lerp is t0 moved toward t1 by f/2^bits, 0 <= f < 2^bits: t0 +
// rshr((t1 − t0)·f, bits) in 32 bits (a table's entries interpolated;
// lir's OpLookup).
func Lerp(t0, t1 int32, f int64, bits uint) int32 {
	return t0 + int32(Rshr(int64(t1-t0)*f, bits))
}

// GateLookup is g(x) in Q1.30 from table t (GateEntries+1 entries) for x in
// Q16.16: 0 below the table, 1 at or above its end.
func GateLookup(t []int32, x int32) int32 {
	u := int64(x) - GateLow
	if u < 0 {
		return 0
	}
	if u >= GateHigh-GateLow {
		return 1 << GateBits
	}
	j, f := u>>GateStepBits, u&(1<<GateStepBits-1)
	return Lerp(t[j], t[j+1], f, GateStepBits)
}

// KVShift is the power-of-two scale of one cache head: the smallest shift s
// with rshr(maxAbs, s) <= qmax.
func KVShift(maxAbs int64, qmax int64) uint {
	s := uint(0)
	for s < 31 && Rshr(maxAbs, s) > qmax {
		s++
	}
	return s
}
