package golden_test

import (
	"github.com/stretchr/testify/require"

	"tfc/checkpoint"

	"tfc/ir"
)

// The kernels compared, with their inputs and, in the simulator's
// arithmetic (ir/sim.go), what they must compute.
var kernels = []kernel{
	{name: "embed", asm: "embed.asm", op: firstOp(ir.Embed), prep: prepEmbed},
	{name: "rmsnorm + matmul q+k+v", asm: "rms_matmul.asm", op: rmsnormOf("rms_att"), prep: prepRMSMatmul},
	{name: "matmul wo + add", asm: "matmul.asm", op: matmulOf("wo"), prep: prepMatmul},
	{name: "rmsnorm + matmul logits", asm: "rms_matmul.asm", op: rmsnormOf("rms_final"), prep: prepRMSMatmul},
	{name: "rope q + rope k", asm: "rope.asm", op: firstOp(ir.RoPE), prep: prepRoPE},
	{name: "store", asm: "store.asm", op: firstOp(ir.Store), prep: prepStore},
	{name: "attention", asm: "attention.asm", op: firstOp(ir.Attention), prep: prepAttention},
	{name: "gate (silu) + mul", asm: "gate.asm", op: firstOp(ir.Gate), prep: prepGate},
	{name: "argmax", asm: "argmax.asm", op: firstOp(ir.Argmax), prep: prepArgmax},
	{name: "print_piece", asm: "print_piece.asm", prep: prepPrintPiece, sub: true},
}

// firstOp picks the first op of a kind.
func firstOp(k ir.Kind) func(p *ir.Program) *ir.Op {
	return func(p *ir.Program) *ir.Op {
		var found *ir.Op
		p.Ops(func(_ int, op *ir.Op) {
			if found == nil && op.Kind == k {
				found = op
			}
		})
		return found
	}
}

func opWith(k ir.Kind, param string) func(p *ir.Program) *ir.Op {
	return func(p *ir.Program) *ir.Op {
		var found *ir.Op
		p.Ops(func(_ int, op *ir.Op) {
			if found == nil && op.Kind == k && op.Params[0].Name == param {
				found = op
			}
		})
		return found
	}
}

func matmulOf(param string) func(p *ir.Program) *ir.Op  { return opWith(ir.MatMul, param) }
func rmsnormOf(param string) func(p *ir.Program) *ir.Op { return opWith(ir.RMSNorm, param) }

// q16 draws n Q16.16 values uniform in ±lim.
func (r *run) q16(n int, lim float64) []int32 {
	x := make([]int32, n)
	for i := range x {
		x[i] = int32((r.rng.Float64()*2 - 1) * lim * ir.One)
	}
	return x
}

// fit is the simulator's check that a value stays in 32 bits: the inputs
// are chosen so that nothing overflows.
func (r *run) fit(v int64) int32 {
	require.Equal(r.t, int64(int32(v)), v, "BUG: the test's inputs overflow 32 bits")
	return int32(v)
}

// sentinel fills v with 0xCC before the call, unless an input is there.
func (r *run) sentinel(v *ir.Var) {
	a := r.cfg.l.VarAddr(v)
	for _, c := range r.in {
		if a < c.addr+uint32(len(c.data)) && c.addr < a+uint32(4*v.Len) {
			return
		}
	}
	r.fill = append(r.fill, chunk{a, make([]byte, 4*v.Len)})
}

func (r *run) addr(name string, v *ir.Var) { r.def(name, int64(r.cfg.l.VarAddr(v))) }

// weights defines where param q is: PERLAYER, WOFF (the offset in the
// layer's weights, or the linear address; segmented, the offset in WSEG).
func (r *run) weights(q *ir.Param) { r.weightsAs(q, "PERLAYER", "WOFF", "WSEG") }

// weightsAs is weights under other names.
func (r *run) weightsAs(q *ir.Param, perLayer, off, seg string) {
	loc := r.cfg.l.Params[q]
	switch {
	case loc.PerLayer:
		r.def(perLayer, 1)
		r.def(off, int64(loc.Addr))
		r.def(seg, 0)
	case r.cfg.seg():
		r.def(perLayer, 0)
		r.def(off, int64(loc.Addr&15))
		r.def(seg, int64(loc.Addr>>4))
	default:
		r.def(perLayer, 0)
		r.def(off, int64(loc.Addr))
		r.def(seg, 0)
	}
	r.def("WBITS", int64(q.Q.Bits))
	r.def("B", int64(q.Q.Shift))
}

// slice is layer l's part of q's integers (the only one if q is global).
func slice(q *ir.Param, l int) []int32 {
	if !q.PerLayer {
		l = 0
	}
	return q.Q.W[l*q.Rows*q.Cols : (l+1)*q.Rows*q.Cols]
}

func (r *run) paramLayer(q *ir.Param) int {
	if q.PerLayer {
		return r.layer
	}
	return 0
}

func prepEmbed(r *run) {
	op := r.ops[0]
	q := op.Params[0]
	r.tok = 3 + r.rng.IntN(q.Rows-3)
	m := int64(q.Mult(0, r.tok))
	y := make([]int32, q.Cols)
	for i := range y {
		y[i] = r.fit(ir.Rshr(int64(q.Q.W[r.tok*q.Cols+i])*m, q.Q.Shift))
	}
	r.sentinel(op.Dst)
	r.output(op.Dst, y)
	r.weights(q)
	r.addr("Y", op.Dst)
	r.def("COLS", int64(q.Cols))
	r.def("ROWBYTES", int64(r.cfg.l.Params[q].RowBytes))
}

// rmsNorm gives rmsnorm op x as its input and returns what it computes.
func (r *run) rmsNorm(op *ir.Op, x []int32) []int32 {
	g := slice(op.Params[0], r.layer)
	var ss uint64
	for _, v := range x {
		ss += uint64(int64(v) * int64(v))
	}
	inv := int64(ir.RMSInv(ss, len(x)))
	y := make([]int32, len(x))
	for i := range x {
		t := ir.Rshr(int64(x[i])*inv, ir.RMSInvBits)
		y[i] = r.fit(ir.Rshr(t*int64(g[i]), ir.FracBits))
	}
	return y
}

// matmul returns what matmul op computes from x.
func (r *run) matmul(op *ir.Op, x []int32) []int32 {
	var y []int32
	for _, q := range op.Params {
		l := r.paramLayer(q)
		w := slice(q, l)
		for row := 0; row < q.Rows; row++ {
			var acc int64
			for c, v := range w[row*q.Cols : (row+1)*q.Cols] {
				acc += int64(v) * int64(x[c])
			}
			t := int64(r.fit(ir.Rshr(acc, ir.MatmulPreShift)))
			y = append(y, r.fit(ir.Rshr(t*int64(q.Mult(l, row)), q.Q.Shift)))
		}
	}
	return y
}

// prepRMSMatmul: an rmsnorm and the matmul of its output, run as one.
func prepRMSMatmul(r *run) {
	norm, mm := r.ops[0], r.ops[1]
	x := r.q16(norm.Args[0].Len, 6)
	r.input(norm.Args[0], x)
	h := r.rmsNorm(norm, x)
	y := r.matmul(mm, h)
	r.sentinel(norm.Dst)
	r.sentinel(mm.Dst)
	r.output(norm.Dst, h)
	r.output(mm.Dst, y)
	r.weightsAs(norm.Params[0], "GPERLAYER", "GOFF", "GSEG")
	r.weightsAs(mm.Params[0], "MPERLAYER", "MWOFF", "MWSEG")
	r.addr("NX", norm.Args[0])
	r.addr("NY", norm.Dst)
	r.def("N", int64(len(x)))
	r.addr("MY", mm.Dst)
	r.def("ROWS", int64(len(y)))
	r.def("COLS", int64(mm.Params[0].Cols))
	r.def("ACC", 0)
}

func prepMatmul(r *run) {
	op := r.ops[0]
	x := r.q16(op.Args[0].Len, 4)
	r.input(op.Args[0], x)
	y := r.matmul(op, x)
	dst, acc := op.Dst, 0
	if len(r.ops) == 2 { // fused with the residual add it feeds
		add := r.ops[1]
		dst, acc = add.Dst, 1
		base := r.q16(dst.Len, 8)
		r.input(dst, base)
		for i := range y {
			y[i] = r.fit(int64(y[i]) + int64(base[i]))
		}
	}
	r.sentinel(dst)
	r.output(dst, y)
	r.weights(op.Params[0])
	r.addr("X", op.Args[0])
	r.addr("Y", dst)
	r.def("ROWS", int64(len(y)))
	r.def("COLS", int64(op.Params[0].Cols))
	r.def("ACC", int64(acc))
}

func prepRoPE(r *run) {
	r.pos = r.rng.IntN(r.cfg.p.Context)
	pairs := 0
	for _, op := range r.ops {
		x := r.q16(op.Args[0].Len, 8)
		r.input(op.Args[0], x)
		d := op.HeadDim
		tab := op.Table.Data[r.pos*d:]
		y := make([]int32, len(x))
		for i := 0; i < len(x); i += 2 {
			j := (i % d) / 2
			c, s := int64(tab[j]), int64(tab[d/2+j])
			a, b := int64(x[i]), int64(x[i+1])
			y[i] = r.fit(ir.Rshr(a*c-b*s, ir.RopeBits))
			y[i+1] = r.fit(ir.Rshr(a*s+b*c, ir.RopeBits))
		}
		r.sentinel(op.Dst)
		r.output(op.Dst, y)
		pairs += len(x) / 2
	}
	r.table = r.ops[0].Table
	r.addr("X", r.ops[0].Args[0])
	r.addr("Y", r.ops[0].Dst)
	r.def("NPAIRS", int64(pairs))
	r.def("D", int64(r.ops[0].HeadDim))
}

// quantize is Sim.store for one head: the shift and the integers.
func quantize(x []int32, bits int) (uint8, []int32) {
	qmax := int64(1)<<(bits-1) - 1
	var m int64
	for _, v := range x {
		m = max(m, max(int64(v), -int64(v)))
	}
	k := ir.KVShift(m, qmax)
	q := make([]int32, len(x))
	for i, v := range x {
		q[i] = int32(ir.Rshr(int64(v), k))
	}
	return uint8(k), q
}

// record builds a position's cache record from its keys and values; it
// returns the integers and shifts too.
func record(c *ir.Cache, loc *CacheLoc, k, v []int32) (rec []byte, q [2][]int32, sh [2][]uint8) {
	rec = make([]byte, loc.Rec)
	qb := c.Bits / 8
	for part, x := range [][]int32{k, v} {
		at := 0
		if part == 1 {
			at = int(loc.V)
		}
		for h := 0; h < c.Heads(); h++ {
			s, hq := quantize(x[h*c.HeadDim:(h+1)*c.HeadDim], c.Bits)
			sh[part] = append(sh[part], s)
			q[part] = append(q[part], hq...)
			rec[at] = s
			at++
			for _, v := range hq {
				rec[at] = byte(v)
				if qb == 2 {
					rec[at+1] = byte(v >> 8)
				}
				at += qb
			}
		}
	}
	return rec, q, sh
}

// cacheAt is the linear address of this layer's cache region.
func (r *run) cacheAt() uint32 {
	_, c := r.cfg.l.LayerPointers(r.layer)
	if r.cfg.seg() {
		return c << 4
	}
	return c
}

func (r *run) cacheDefs(c *ir.Cache) *CacheLoc {
	loc := r.cfg.l.Caches[c]
	r.def("HD", int64(c.HeadDim))
	r.def("QB", int64(c.Bits/8))
	r.def("REC", int64(loc.Rec))
	r.def("KOFF", int64(loc.K))
	r.def("VOFF", int64(loc.V))
	return loc
}

// kv draws keys or values for one position: every head at its own scale,
// from 0 to near the int32 limit.
func (r *run) kv(c *ir.Cache) []int32 {
	x := make([]int32, 0, c.Width)
	scales := []float64{0, 0.01, 0.5, 3, 60, 2000, 30000}
	for h := 0; h < c.Heads(); h++ {
		x = append(x, r.q16(c.HeadDim, scales[r.rng.IntN(len(scales))])...)
	}
	return x
}

func prepStore(r *run) {
	op := r.ops[0]
	c := op.Cache
	loc := r.cacheDefs(c)
	r.pos = r.rng.IntN(c.Context)
	k, v := r.kv(c), r.kv(c)
	k[1], v[2] = -1<<31, 1<<31-1 // the extremes
	r.input(op.Args[0], k)
	r.input(op.Args[1], v)
	rec, _, _ := record(c, loc, k, v)
	r.cache = make([]byte, r.cfg.l.CacheStride)
	for i := range r.cache {
		r.cache[i] = 0xCC
	}
	r.out = append(r.out, chunk{r.cacheAt() + loc.K + uint32(r.pos)*loc.Rec, rec})
	r.addr("K", op.Args[0])
	r.addr("V", op.Args[1])
	r.def("HEADS", int64(c.Heads()))
}

func prepAttention(r *run) {
	op := r.ops[0]
	c, d := op.Cache, op.HeadDim
	loc := r.cacheDefs(c)
	r.pos = c.Context/2 + r.rng.IntN(c.Context/2)
	r.cache = make([]byte, r.cfg.l.CacheStride)
	var kq, vq [][]int32
	var ks, vs [][]uint8
	for t := 0; t <= r.pos; t++ {
		k, v := r.q16(c.Width, 2+6*r.rng.Float64()), r.q16(c.Width, 4)
		rec, q, sh := record(c, loc, k, v)
		copy(r.cache[loc.K+uint32(t)*loc.Rec:], rec)
		kq, vq, ks, vs = append(kq, q[0]), append(vq, q[1]), append(ks, sh[0]), append(vs, sh[1])
	}
	q := r.q16(op.Args[0].Len, 3)
	r.input(op.Args[0], q)
	heads := len(q) / d
	group := heads / c.Heads()
	scale := ir.AttnScale(d)
	y := make([]int32, len(q))
	scores := make([]int32, r.pos+1)
	es := make([]int64, r.pos+1)
	for h := 0; h < heads; h++ {
		kh := h / group
		best := int32(-1 << 31)
		for t := 0; t <= r.pos; t++ {
			var dot int64
			for i := 0; i < d; i++ {
				dot += int64(q[h*d+i]) * int64(kq[t][kh*d+i])
			}
			sc := int64(r.fit(ir.Rshr(dot<<ks[t][kh], ir.FracBits)))
			scores[t] = r.fit(ir.Rshr(sc*scale, ir.AttnScaleBits))
			best = max(best, scores[t])
		}
		var sum int64
		for t := 0; t <= r.pos; t++ {
			es[t] = 0
			if dd := int64(best) - int64(scores[t]); dd < ir.ExpLimit {
				es[t] = int64(ir.ExpLookup(op.Table.Data, int32(dd)))
			}
			sum += es[t]
		}
		for i := 0; i < d; i++ {
			var num int64
			for t := 0; t <= r.pos; t++ {
				num += es[t] * (int64(vq[t][kh*d+i]) << vs[t][kh])
			}
			y[h*d+i] = r.fit(ir.DivRound(num, sum))
		}
	}
	r.sentinel(op.Dst)
	r.output(op.Dst, y)
	r.table = op.Table
	r.addr("Q", op.Args[0])
	r.addr("OUT", op.Dst)
	r.def("HEADS", int64(heads))
	r.def("GROUP", int64(group))
	r.def("SCALE", scale)
	r.def("ATT", int64(r.cfg.l.Att))
	r.def("ACCB", int64(r.cfg.l.Acc))
}

func prepGate(r *run) {
	op := r.ops[0]
	x := r.q16(op.Args[0].Len, 20)
	copy(x[3:], []int32{ir.GateLow, ir.GateLow - 1, ir.GateHigh, ir.GateHigh - 1, 0, -1, 1 << 30, -1 << 30,
		1<<31 - 1, -1 << 31, 2047, -2048, ir.GateLow + 2048, ir.GateLow + 1024})
	r.input(op.Args[0], x)
	y := make([]int32, len(x))
	for i, v := range x {
		y[i] = r.fit(ir.Rshr(int64(v)*int64(ir.GateLookup(op.Table.Data, v)), ir.GateBits))
	}
	dst, mul := op.Dst, 0
	if len(r.ops) == 2 { // fused with the mul that overwrites its result
		m := r.ops[1]
		o := m.Args[0]
		if o == op.Dst {
			o = m.Args[1]
		}
		// Below 1 in magnitude, so that y·o >> 16 stays in 32 bits.
		b := r.q16(o.Len, 0.99)
		r.input(o, b)
		for i := range y {
			y[i] = r.fit(ir.Rshr(int64(y[i])*int64(b[i]), ir.FracBits))
		}
		dst, mul = m.Dst, 1
		r.addr("O", o)
	}
	r.sentinel(dst)
	r.output(dst, y)
	r.table = op.Table
	r.addr("X", op.Args[0])
	r.addr("Y", dst)
	r.def("N", int64(len(x)))
	r.def("MUL", int64(mul))
}

func prepArgmax(r *run) {
	op := r.ops[0]
	x := r.q16(op.Args[0].Len, 10)
	// The largest twice: the first one wins.
	i, j := 100+r.rng.IntN(100), 300+r.rng.IntN(100)
	x[i], x[j] = 11*ir.One, 11*ir.One
	r.input(op.Args[0], x)
	// The token comes in AX; the harness stores it at next.
	next := uint32(scalars().Next)
	r.axTo = next
	r.fill = append(r.fill, chunk{next, make([]byte, 2)})
	r.out = append(r.out, chunk{next, []byte{byte(i), byte(i >> 8)}})
	r.addr("X", op.Args[0])
	r.def("N", int64(len(x)))
}

// prepPrintPiece: tokens of every kind after BOS and after other tokens.
func prepPrintPiece(r *run) {
	tk := r.cfg.p.Tokenizer
	v := len(tk.Pieces)
	toks := []int{0, 1, 2, 3, 3 + '\n', 3 + ' ', 3 + 'A', 3 + 0x7F, 3 + 0x80, 3 + 0xFF, 259, 260, 261, 290, 300, v - 1}
	for n := 0; n < 8; n++ {
		toks = append(toks, 3+r.rng.IntN(v-3))
	}
	for _, tok := range toks {
		for _, prev := range []int{checkpoint.BOS, 5, 300} {
			r.pieces = append(r.pieces, prev, tok)
			if p := tk.Piece(prev, tok); checkpoint.Printable(p) {
				r.serial = append(r.serial, p...)
			}
			r.serial = append(r.serial, '|')
		}
	}
	r.def("PIECES", int64(r.cfg.l.Pieces))
}

// kernelOps are the ops a kernel computes: op, and the op after it in its
// block where the two make one kernel (a norm and the matmul it feeds, a
// matmul and the residual add after it, two ropes, a gate and the mul
// that reads it).
func kernelOps(p *ir.Program, op *ir.Op) []*ir.Op {
	pairs := map[ir.Kind]ir.Kind{ir.RMSNorm: ir.MatMul, ir.MatMul: ir.Add, ir.RoPE: ir.RoPE, ir.Gate: ir.Mul}
	for _, ops := range p.Blocks {
		for i, o := range ops {
			if next, ok := pairs[op.Kind]; ok && o == op && i+1 < len(ops) && ops[i+1].Kind == next {
				return []*ir.Op{op, ops[i+1]}
			}
		}
	}
	return []*ir.Op{op}
}
