package ir

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
	// RopeTheta is the RoPE base frequency.
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
// (Q32.32) over n elements.
func RMSInv(ss uint64, n int) uint64 {
	r := Isqrt(ss/uint64(n) + RMSEps)
	return (uint64(1)<<(FracBits+RMSInvBits) + r/2) / r
}

// ExpLookup is exp(-d) in Q0.22 for d >= 0 in Q16.16, by linear
// interpolation in table t (ExpEntries+1 entries).
func ExpLookup(t []int32, d int32) int32 {
	if d >= ExpLimit {
		return 0
	}
	j, f := d>>ExpStepBits, d&(1<<ExpStepBits-1)
	return t[j] + int32(Rshr(int64(t[j+1]-t[j])*int64(f), ExpStepBits))
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
	return t[j] + int32(Rshr(int64(t[j+1]-t[j])*f, GateStepBits))
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
