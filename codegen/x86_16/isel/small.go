package isel

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"

	x86 "tfc/codegen/x86_16"
	"tfc/ir"
	"tfc/runtime"
)

// The small code generator (-Os). Its kernels are subroutines shared by
// every op of one shape, written for 16-bit addresses: the vars, scratch
// buffers and tables sit in the first 64 KiB (vars in low memory, tables
// right after the code), so string instructions (lodsd, stosd) walk them
// through si and di. Weights and caches stay where the memory model puts
// them: through FS:BX and GS (segmented) or EBX and 32-bit addresses in
// unreal mode (flat). ES stays 0, where stosd writes.
//
// Rounding shifts go through one subroutine, rshr (ir.Rshr). Loops that
// call it count in ch, bp or memory, since rshr takes its count in cl.
//
// This file drives it: the plan, forward, the subroutines' schedule, rshr
// and the generation loop. The kernels are by concern in small_matmul.go
// (matmul, with embed and rmsnorm, which share its weights loads and its
// rms entry), small_rope_store.go, small_attention.go and
// small_elementwise.go (gate, mul, add, argmax), small_sample.go (sample);
// small_memory.go reaches weights and caches in either memory model.

// SmallSupports says why the small code generator cannot compile p, or "".
func SmallSupports(p *ir.Program, steps int) string {
	why := templateSupports(p, steps)
	p.Ops(func(_ int, op *ir.Op) {
		switch {
		case why != "":
		case op.Kind == ir.Sample && ir.SamplingOf(p.Gen).InvT > math.MaxInt32:
			why = fmt.Sprintf("temperature %g (the small sampler's 2^16/temperature is a signed dword)", p.Gen.Temperature)
		case op.Kind == ir.RMSNorm && op.Args[0].Len > 255:
			why = fmt.Sprintf("rmsnorm over %d elements (the small kernel counts to 255)", op.Args[0].Len)
		case (op.Kind == ir.RoPE || op.Kind == ir.Attention || op.Kind == ir.Store) && op.HeadDim > 255:
			why = fmt.Sprintf("head size %d (the small kernels count to 255)", op.HeadDim)
		case op.Kind == ir.Store && op.Cache.HeadDim > 255:
			why = "head size over 255"
		}
	})
	return why
}

type small struct {
	*emitter
	p    *ir.Program
	l    *Layout
	subs map[string]func() // subroutines used, emitted after the code
	// fsLayer: FS holds this layer's weights segment (segmented).
	fsLayer bool
	// mmVariants: per weight size, which matmul entries are used: 1 the
	// plain one, 2 the one that adds into its destination.
	mmVariants map[int]int
	// rshrUses counts the rounding shifts by count; rshrEntries lists the
	// counts that get an entry point (rshr.N: mov cl, N), the first falling
	// through into rshr.
	rshrUses    map[uint]int
	rshrEntries []uint
	trace       bool
	selftest    bool
	// typed: a typed prompt's image, whose sampler reads its parameters
	// from low memory.
	typed bool
	block int // the block being selected
	// ropeDims: the RoPE tables stored with a third column, the negated
	// sines (data, for fewer code bytes), mapped to their head size: those
	// whose ropes all run in place with a power-of-two head size.
	ropeDims map[*ir.Table]int
	// rmsIn is the input of every rmsnorm that runs in the matmul's rms
	// entry (rmsMatmul), 0 if none can; rmsLen[eb] the norm's length, for
	// the matmul of eb-byte weights whose rms entry is used.
	rmsIn  uint32
	rmsLen map[int]int
}

// SelectSmall appends the small code of p: the generation loop, forward,
// the subroutines it calls, then the tables (data, not code: marked so).
func SelectSmall(prog *x86.Program, p *ir.Program, l *Layout, o SelectOptions) error {
	// A first pass into a scratch program counts the rounding shifts, so
	// that the second can give the frequent counts entry points of their own.
	dry := newSmall(&x86.Program{}, p, l, nil)
	dry.trace, dry.selftest, dry.typed = o.Trace, o.SelfTest, o.Typed
	if err := dry.selectAll(o); err != nil {
		return err
	}
	s := newSmall(prog, p, l, dry.rshrUses)
	s.trace, s.selftest, s.typed = o.Trace, o.SelfTest, o.Typed
	return s.selectAll(o)
}

func newSmall(prog *x86.Program, p *ir.Program, l *Layout, plan map[uint]int) *small {
	s := &small{emitter: &emitter{p: prog, seg: l.Segmented, dataSeg: x86.FS, tok: p.Tokenizer}, p: p, l: l, subs: map[string]func(){},
		mmVariants: map[int]int{}, rmsLen: map[int]int{}, rshrUses: map[uint]int{}, rshrEntries: rshrEntries(plan), ropeDims: inlineRopes(p)}
	s.planRMSMatmuls()
	return s
}

// planRMSMatmuls decides which rmsnorms run in the matmul's rms entry: each
// one that only feeds the matmul right after it, when all such rmsnorms
// read the same input (which the entry then sets itself) and their matmuls
// with weights of one size agree on the norm's length.
func (s *small) planRMSMatmuls() {
	var pairs [][2]*ir.Op
	in := map[uint32]bool{}
	for _, ops := range s.p.Blocks {
		for i := 0; i+1 < len(ops); i++ {
			if s.rmsPairable(ops[i], ops[i+1]) {
				pairs = append(pairs, [2]*ir.Op{ops[i], ops[i+1]})
				in[s.l.VarAddr(ops[i].Args[0])] = true
			}
		}
	}
	if len(in) != 1 {
		return
	}
	for _, pr := range pairs {
		eb, n := elemBytes(pr[1].Params[0]), pr[0].Args[0].Len
		if m, ok := s.rmsLen[eb]; ok && m != n {
			s.rmsLen = map[int]int{}
			return
		}
		s.rmsLen[eb] = n
	}
	for a := range in {
		s.rmsIn = a
	}
}

// rmsPairable: rmsnorm a feeds matmul b, and (segmented) one FS reaches
// both their weights (rmsSeg).
func (s *small) rmsPairable(a, b *ir.Op) bool {
	if a.Kind != ir.RMSNorm || b.Kind != ir.MatMul || b.Args[0] != a.Dst {
		return false
	}
	_, ok := s.rmsSeg(a, b)
	return ok
}

// rmsSeg is, segmented, the FS value for rmsnorm a and matmul b together:
// 0 (the layer's) when both weights are per layer, else a segment from
// which both lie within 64 KiB; ok false when there is none. Flat, the
// two must agree on the layer base (withoutLayerBase).
func (s *small) rmsSeg(a, b *ir.Op) (seg uint32, ok bool) {
	g, w := s.l.Params[a.Params[0]], s.l.Params[b.Params[0]]
	switch {
	case !s.seg:
		return 0, g.PerLayer == w.PerLayer
	case g.PerLayer && w.PerLayer:
		return 0, true
	case g.PerLayer || w.PerLayer:
		return 0, false
	}
	base := min(g.Addr, w.Addr) &^ 15
	wEnd := w.Addr + uint32(b.Rows()*w.RowBytes)
	gEnd := g.Addr + uint32(4*a.Args[0].Len)
	return base >> 4, max(wEnd, gEnd)-base <= segmentSize
}

func (s *small) selectAll(o SelectOptions) error {
	prog, p, l := s.emitter.p, s.p, s.l
	s.generateSmall(o)
	prog.Mark("forward")
	prog.Label("forward")
	if !s.seg {
		// Flat: the layer base from the start, since the matmul and
		// rmsnorm subroutines add it to every weights address.
		w, _ := l.layerW()
		s.i(x86.MOV, low32(addrLayerW), x86.Imm(int64(w)))
	}
	for b, ops := range p.Blocks {
		s.block = b
		// Segmented, with only per-layer params in the layer block, FS and
		// GS themselves are the loop's weights and cache pointers.
		// (The cache pointer counts the layers: there must be a cache.)
		segLoop := s.seg && layerParamsOnly(ops) && l.CacheStride > 0
		if b == ir.LayerBlock {
			prog.Mark("layer loop")
			w, _ := l.layerW()
			c, _ := l.layerC()
			if segLoop {
				s.setSeg(x86.FS, x86.Imm(int64(w)))
				s.setSeg(x86.GS, x86.Imm(int64(c)))
			} else {
				if s.seg {
					s.i(x86.MOV, s.layerPtr(addrLayerW), x86.Imm(int64(w)))
				}
				s.i(x86.MOV, s.layerPtr(addrLayerC), x86.Imm(int64(c)))
				s.i(x86.MOV, x86.B(x86.Abs16(addrLayerN)), x86.Imm(int64(p.Layers)))
			}
			s.label("layer")
			if s.seg && !segLoop {
				s.i(x86.MOV, x86.FS, low16(addrLayerW))
				s.i(x86.MOV, x86.GS, low16(addrLayerC))
			}
			s.fsLayer = true
		}
		for i := 0; i < len(ops); i++ {
			op := ops[i]
			if i+1 < len(ops) && s.fused(op, ops[i+1], false) {
				prog.Mark(RegionName(op) + " + " + RegionName(ops[i+1]))
				s.fused(op, ops[i+1], true)
				i++
				continue
			}
			if s.selftest && op == finalOp(p) {
				s.i(x86.CALL, x86.Label(runtime.SelfTestCheck))
			}
			final := s.trace && op == finalOp(p)
			if final {
				s.traceLogits(l.VarAddr(op.Args[0]), op.Args[0].Len)
			}
			prog.Mark(RegionName(op))
			if err := s.op(op); err != nil {
				return err
			}
			if final {
				s.traceToken(true, RegionName(op))
			}
		}
		if b == ir.LayerBlock {
			prog.Mark("layer loop")
			_, w := l.layerW()
			c0, c := l.layerC()
			if segLoop {
				s.i(x86.MOV, x86.AX, x86.FS)
				s.i(x86.ADD, x86.AX, x86.Imm(int64(w)))
				s.i(x86.MOV, x86.FS, x86.AX)
				s.i(x86.MOV, x86.AX, x86.GS)
				s.i(x86.ADD, x86.AX, x86.Imm(int64(c)))
				s.i(x86.MOV, x86.GS, x86.AX)
				s.i(x86.CMP, x86.AX, x86.Imm(int64(c0+uint32(p.Layers)*c)))
				s.i(x86.JB, x86.Label("layer"))
			} else {
				s.i(x86.ADD, s.layerPtr(addrLayerW), x86.Imm(int64(w)))
				s.i(x86.ADD, s.layerPtr(addrLayerC), x86.Imm(int64(c)))
				s.i(x86.DEC, x86.B(x86.Abs16(addrLayerN)))
				s.i(x86.JNE, x86.Label("layer"))
			}
			s.fsLayer = false
		}
	}
	s.i(x86.RET)
	// A subroutine may use another (the matmul's rounding shift): emit
	// until every one used is there.
	done := map[string]bool{}
	for len(done) < len(s.subs) {
		for _, name := range sortedKeys(s.subs) {
			if done[name] {
				continue
			}
			done[name] = true
			prog.Mark(name)
			prog.Label(name)
			s.subs[name]()
		}
	}
	// The prompt and the tables, after the code: data, reached with 16-bit
	// addresses.
	if l.NPrompt > 1 {
		prog.Mark("data: prompt")
		prog.Label("prompt")
		for _, t := range l.PromptTokens {
			prog.DW(uint16(t))
		}
	}
	for _, t := range p.Tables {
		prog.Mark("data: table " + t.Name)
		prog.Align(4, 0)
		prog.Label("tab." + t.Name)
		prog.DB(tableBytes(t, s.ropeDims)...)
	}
	return nil
}

func sortedKeys(m map[string]func()) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	for i := range k {
		for j := i + 1; j < len(k); j++ {
			if k[j] < k[i] {
				k[i], k[j] = k[j], k[i]
			}
		}
	}
	return k
}

// use schedules a subroutine and returns its label.
func (s *small) use(name string, body func()) string {
	if s.subs[name] == nil {
		s.subs[name] = body
	}
	return name
}

// rshrCall: eax = rshr(edx:eax, n), 1 <= n <= 31; keeps cl.
func (s *small) rshr(n uint) {
	s.rshrUses[n]++
	for _, e := range s.rshrEntries {
		if e == n {
			s.rshrSub()
			s.i(x86.CALL, x86.Label(fmt.Sprintf("rshr.%d", n)))
			return
		}
	}
	s.i(x86.MOV, x86.CL, x86.Imm(int64(n)))
	s.rshrCL()
}

// rshrTail ends a subroutine with rshr(edx:eax, n): a jump, whose ret
// returns for both.
func (s *small) rshrTail(n uint) {
	s.rshrUses[n]++
	s.rshrSub()
	for _, e := range s.rshrEntries {
		if e == n {
			s.i(x86.JMP, x86.Label(fmt.Sprintf("rshr.%d", n)))
			return
		}
	}
	s.i(x86.MOV, x86.CL, x86.Imm(int64(n)))
	s.i(x86.JMP, x86.Label("rshr.body"))
}

// rshrEntries picks the counts worth an entry point: a call then takes 3
// bytes instead of 5. An entry is `mov cl, n`, then (but for the last,
// which falls into rshr) one byte that steps over the next entries' `mov`s
// (3 bytes): worth it from 2 calls.
func rshrEntries(uses map[uint]int) []uint {
	var ns []uint
	for n := range uses {
		ns = append(ns, n)
	}
	sort.Slice(ns, func(i, j int) bool {
		if uses[ns[i]] != uses[ns[j]] {
			return uses[ns[i]] > uses[ns[j]]
		}
		return ns[i] < ns[j]
	})
	var out []uint
	for _, n := range ns {
		if uses[n] >= 2 {
			out = append(out, n)
		}
	}
	return out
}

// rshrCL: eax = rshr(edx:eax, cl) for cl >= 1 (the low 32 bits, which
// is all the arithmetic keeps). Keeps every other register.
func (s *small) rshrCL() {
	s.rshrSub()
	s.i(x86.CALL, x86.Label("rshr.body"))
}

// rshrSub schedules the rounding-shift subroutine: its entry points, then
// the body.
func (s *small) rshrSub() {
	s.use("rshr", func() {
		for i, n := range s.rshrEntries {
			s.label(fmt.Sprintf("rshr.%d", n))
			s.i(x86.MOV, x86.CL, x86.Imm(int64(n)))
			if i < len(s.rshrEntries)-1 {
				// cmp ax, imm16: its immediate is the next entry's mov
				// (rshr.body sets the flags anew).
				s.emitter.p.DB(0x3D)
			}
		}
		s.label("rshr.body")
		// shrd leaves the last bit shifted out, bit cl-1, in CF: adding it
		// rounds exactly as adding 2^(cl-1) before the shift would.
		s.i(x86.SHRD, x86.EAX, x86.EDX, x86.CL)
		s.i(x86.ADC, x86.EAX, x86.Imm(0))
		s.i(x86.RET)
	})
}

func (s *small) op(op *ir.Op) error {
	l := s.l
	switch op.Kind {
	case ir.MatMul:
		s.matmul(op, op.Dst, false)
	case ir.Embed:
		s.embed(op)
	case ir.RMSNorm:
		s.withoutLayerBase(op.Params[0], func() {
			s.pointWRel(op.Params[0])
			s.i(x86.MOV, x86.SI, v16(l.VarAddr(op.Args[0])))
			s.i(x86.MOV, x86.DI, v16(l.VarAddr(op.Dst)))
			s.i(x86.CALL, x86.Label(s.rmsnormSub(op.Args[0].Len)))
		})
	case ir.RoPE:
		if s.ropeDims[op.Table] > 0 {
			s.ropeInline(op, op.Dst.Len/2)
			break
		}
		s.i(x86.MOV, x86.SI, v16(l.VarAddr(op.Args[0])))
		s.i(x86.MOV, x86.DI, v16(l.VarAddr(op.Dst)))
		s.i(x86.MOV, x86.BP, x86.Imm(int64(op.Dst.Len/2)))
		s.i(x86.CALL, x86.Label(s.ropeSub(op)))
	case ir.Store:
		s.store(op)
	case ir.Attention:
		s.attention(op)
	case ir.Gate:
		s.gate(op, nil)
	case ir.Mul:
		s.mul(op)
	case ir.Add:
		s.add(op)
	case ir.Argmax:
		s.argmax(op)
	case ir.Sample:
		s.sample(op)
	default:
		return fmt.Errorf("%s: %s has no small kernel", op.Pos, op.Kind)
	}
	return nil
}

// fused says whether two ops run as one (and with emit, emits them) when
// that is smaller: a matmul whose result only feeds a residual add accumulates into
// the add's destination; two in-place ropes over adjacent vars run as one.
func (s *small) fused(a, b *ir.Op, emit bool) bool {
	switch {
	case a.Kind == ir.MatMul && b.Kind == ir.Add && len(a.Parts) == 1 && s.uses(a.Dst) == 1:
		other := b.Args[0]
		if other == a.Dst {
			other = b.Args[1]
		}
		if other != b.Dst || (b.Args[0] != a.Dst && b.Args[1] != a.Dst) || aliasVars(a.Args[0], b.Dst) {
			return false
		}
		if emit {
			s.matmul(a, b.Dst, true)
		}
		return true
	case a.Kind == ir.RoPE && b.Kind == ir.RoPE && a.HeadDim == b.HeadDim && a.Table == b.Table &&
		a.Dst == a.Args[0] && b.Dst == b.Args[0] &&
		s.l.VarAddr(b.Args[0]) == s.l.VarAddr(a.Args[0])+uint32(4*a.Args[0].Len):
		if !emit {
			return true
		}
		if s.ropeDims[a.Table] > 0 {
			s.ropeInline(a, (a.Dst.Len+b.Dst.Len)/2)
			return true
		}
		s.i(x86.MOV, x86.SI, v16(s.l.VarAddr(a.Args[0])))
		s.i(x86.MOV, x86.DI, x86.SI)
		s.i(x86.MOV, x86.BP, x86.Imm(int64((a.Dst.Len+b.Dst.Len)/2)))
		s.i(x86.CALL, x86.Label(s.ropeSub(a)))
		return true
	case s.rmsIn != 0 && s.rmsPairable(a, b) && s.l.VarAddr(a.Args[0]) == s.rmsIn:
		if emit {
			s.rmsMatmul(a, b)
		}
		return true
	case a.Kind == ir.Gate && b.Kind == ir.Mul && b.Dst == a.Dst &&
		(b.Args[0] == a.Dst || b.Args[1] == a.Dst) && !aliasVars(mulOther(a, b), a.Dst) &&
		stepwise(a.Args[0], mulOther(a, b), b.Dst):
		// The mul overwrites the gate's result, its only reader: the gate's
		// value never reaches memory.
		if emit {
			s.gate(a, b)
		}
		return true
	}
	return false
}

// stepwise says whether a loop that reads element i of some vars and then
// writes element i of others may run over vs: any two overlap exactly or
// not at all.
func stepwise(vs ...*ir.Var) bool {
	for i, a := range vs {
		for _, b := range vs[i+1:] {
			ra, oa := a.Root()
			rb, ob := b.Root()
			if aliasVars(a, b) && (ra != rb || oa != ob || a.Len != b.Len) {
				return false
			}
		}
	}
	return true
}

// uses counts the ops that read v.
func (s *small) uses(v *ir.Var) int {
	n := 0
	s.p.Ops(func(_ int, op *ir.Op) {
		for _, a := range op.Args {
			if aliasVars(a, v) {
				n++
			}
		}
	})
	return n
}

// mulOther is the arg of mul that is not gate's result.
func mulOther(gate, mul *ir.Op) *ir.Var {
	if mul.Args[0] == gate.Dst {
		return mul.Args[1]
	}
	return mul.Args[0]
}

func aliasVars(a, b *ir.Var) bool {
	ra, oa := a.Root()
	rb, ob := b.Root()
	return ra == rb && oa < ob+b.Len && ob < oa+a.Len
}

// movImm sets a 16-bit register to v, by xor when v is 0.
func (s *small) movImm(r x86.Reg, v uint32) {
	if v == 0 {
		s.i(x86.XOR, r, r)
		return
	}
	s.i(x86.MOV, r, x86.Imm(int64(v)))
}

// generateSmall is llama2.c's loop (ir.Generate) in few bytes: tok = BOS,
// pos = 0; forward; the prompt's next token forced while there is one (no
// code at all without a prompt); stop at BOS or EOS; print; advance. A
// typed prompt comes from the runtime's read_prompt and prompt_next.
func (s *small) generateSmall(o SelectOptions) {
	l, steps, bench := s.l, o.Steps, o.Bench
	if o.SelfTest {
		// Its forward passes draw from a generator not yet seeded: the
		// tokens it feeds are the simulator's, and the generation seeds
		// it after.
		s.emitter.p.Mark("selftest")
		s.i(x86.CALL, x86.Label(runtime.SelfTestRun))
	}
	samples := s.p.Samples()
	if samples && o.Typed {
		// Once: parameter lines change them.
		s.emitter.p.Mark("sampling")
		g := ir.SamplingOf(s.p.Gen)
		s.i(x86.MOV, low32(addrInvT), x86.Imm(g.InvT))
		s.i(x86.MOV, low32(addrTopP), x86.Imm(g.TopP))
	}
	s.emitter.p.Mark("generate")
	s.emitter.p.Label("generate")
	if o.Typed {
		s.i(x86.CALL, x86.Label("read_prompt"))
	}
	if samples {
		s.seedSampler()
	}
	s.i(x86.XOR, x86.AX, x86.AX)
	s.i(x86.MOV, low16(addrPos), x86.AX)
	if eot := s.p.Tokenizer.EOT; eot != 0 {
		s.i(x86.MOV, x86.AX, x86.Imm(int64(eot)))
	} else {
		s.i(x86.INC, x86.AX) // BOS
	}
	s.i(x86.MOV, low16(addrTok), x86.AX)
	s.emitter.step(bench)
	if o.Typed {
		s.i(x86.MOV, x86.BX, low16(addrPos))
		s.i(x86.CALL, x86.Label("prompt_next"))
	}
	if l.NPrompt > 1 {
		s.i(x86.MOV, x86.BX, low16(addrPos))
		s.i(x86.INC, x86.BX)
		s.i(x86.CMP, x86.BX, x86.Imm(int64(l.NPrompt)))
		s.i(x86.JAE, x86.Label("chosen"))
		s.i(x86.ADD, x86.BX, x86.BX)
		s.i(x86.MOV, x86.AX, x86.W(x86.Mem{Base: x86.BX, Label: "prompt"}))
		s.label("chosen")
	}
	s.emitter.advance(steps, bench, true, o.Typed)
}

// tableBytes is a table as the small generator stores it after its code:
// RoPE tables of inline ropes (ropeDims) with their third column.
func tableBytes(t *ir.Table, ropeDims map[*ir.Table]int) []byte {
	data := t.Data
	if d := ropeDims[t]; d > 0 {
		data = withNegatedSines(data, d)
	}
	b := make([]byte, 0, 4*len(data))
	for _, v := range data {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	return b
}

// SmallDataBytes is the size of the tables the small generator places
// after its code (alignment included), to know before generating whether
// they fit below 64 KiB.
func SmallDataBytes(p *ir.Program) int {
	n, ropes := 0, inlineRopes(p)
	for _, t := range p.Tables {
		n += len(tableBytes(t, ropes)) + 3
	}
	return n
}

// layerParamsOnly says whether every param the ops read is per-layer.
func layerParamsOnly(ops []*ir.Op) bool {
	for _, op := range ops {
		for _, q := range op.Params {
			if !q.PerLayer {
				return false
			}
		}
	}
	return true
}
