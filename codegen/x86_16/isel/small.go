package isel

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"sort"

	x86 "tfc/codegen/x86_16"
	"tfc/ir"
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

// SmallSupports says why the small code generator cannot compile p, or "".
func SmallSupports(p *ir.Program) string {
	why := ""
	p.Ops(func(_ int, op *ir.Op) {
		switch {
		case why != "":
		case op.Kind == ir.Sample:
			why = "sample() has no small kernel yet"
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
	block       int // the block being selected
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
	dry.trace = o.Trace
	if err := dry.selectAll(o.Steps, o.Bench); err != nil {
		return err
	}
	s := newSmall(prog, p, l, dry.rshrUses)
	s.trace = o.Trace
	return s.selectAll(o.Steps, o.Bench)
}

func newSmall(prog *x86.Program, p *ir.Program, l *Layout, plan map[uint]int) *small {
	s := &small{emitter: &emitter{p: prog, seg: l.Segmented, dataSeg: x86.FS}, p: p, l: l, subs: map[string]func(){},
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

func (s *small) selectAll(steps int, bench bool) error {
	prog, p, l := s.emitter.p, s.p, s.l
	s.generateSmall(steps, bench)
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

// The weights pointer: BX in FS (segmented), EBX (flat).
func (s *small) w() x86.Reg {
	if s.seg {
		return x86.BX
	}
	return x86.EBX
}

func (s *small) wmem(disp int32) x86.Mem {
	if s.seg {
		return x86.Mem{Base: x86.BX, Disp: disp, Seg: x86.FS}
	}
	return x86.Mem{Base: x86.EBX, Disp: disp, Addr32: true}
}

// cmem is cache memory through ptr: GS:[bx] (segmented), [ebx] (flat).
func (s *small) cmem(ptr x86.Reg, disp int32) x86.Mem {
	if s.seg {
		return x86.Mem{Base: ptr, Disp: disp, Seg: x86.GS}
	}
	return x86.Mem{Base: ptr + (x86.EAX - x86.AX), Disp: disp, Addr32: true}
}

// creg is a cache pointer register: 16-bit (segmented) or 32-bit (flat).
func (s *small) creg(r x86.Reg) x86.Reg {
	if s.seg {
		return r
	}
	return r + (x86.EAX - x86.AX)
}

// useFS points FS at the weights: this layer's (per-layer params, from
// low memory, once per layer block) or the segment seg.
func (s *small) useFS(perLayer bool, seg uint32) {
	if perLayer {
		if !s.fsLayer {
			s.i(x86.MOV, x86.FS, low16(addrLayerW))
			s.fsLayer = true
		}
		return
	}
	s.setSeg(x86.FS, x86.Imm(int64(seg)))
	s.fsLayer = false
}

// pointW sets the weights pointer to param q's first row.
func (s *small) pointW(q *ir.Param) {
	loc := s.l.Params[q]
	switch {
	case s.seg && loc.PerLayer:
		s.useFS(true, 0)
		s.movImm(x86.BX, loc.Addr)
	case s.seg:
		s.useFS(false, loc.Addr>>4)
		s.movImm(x86.BX, loc.Addr&15)
	case loc.PerLayer:
		s.i(x86.MOV, x86.EBX, low32(addrLayerW))
		if loc.Addr != 0 {
			s.i(x86.ADD, x86.EBX, x86.Imm(int64(loc.Addr)))
		}
	default:
		s.i(x86.MOV, x86.EBX, x86.Imm(int64(loc.Addr)))
	}
}

// pointWRel sets the weights pointer for the matmul and rmsnorm
// subroutines: as pointW (segmented), or (flat) relative to the layer base
// in low memory, which the subroutine adds: the layer base itself before and
// inside the layer loop, its value after the last layer after it.
func (s *small) pointWRel(q *ir.Param) {
	if s.seg {
		s.pointW(q)
		return
	}
	off := s.relW(q)
	if off == 0 {
		s.i(x86.XOR, x86.EBX, x86.EBX)
		return
	}
	s.i(x86.MOV, x86.EBX, x86.Imm(off))
}

// relW is param q's address relative to the layer base the flat code keeps
// in low memory at this point of forward.
func (s *small) relW(q *ir.Param) int64 {
	loc := s.l.Params[q]
	if loc.PerLayer || s.sharedInLoop(q) {
		return int64(loc.Addr)
	}
	base, step := s.l.layerW()
	if s.block == ir.PostBlock {
		base += uint32(s.p.Layers) * step
	}
	return int64(int32(loc.Addr - base))
}

// sharedInLoop: flat code in the layer loop reads q, a param that every
// layer shares. The subroutines add the layer base to every weights
// address, and the base moves with each layer, so q's address is absolute
// and the call runs with the base 0 (withoutLayerBase).
func (s *small) sharedInLoop(q *ir.Param) bool {
	return !s.seg && s.block == ir.LayerBlock && !s.l.Params[q].PerLayer
}

// withoutLayerBase runs call, a call of a subroutine that reads q, with
// the flat layer base 0 when q is sharedInLoop: saved on the stack, cleared,
// restored after.
func (s *small) withoutLayerBase(q *ir.Param, call func()) {
	if !s.sharedInLoop(q) {
		call()
		return
	}
	s.i(x86.PUSH, low32(addrLayerW))
	s.i(x86.AND, low32(addrLayerW), x86.Imm(0))
	call()
	s.i(x86.POP, low32(addrLayerW))
}

// addLayerBase is the subroutines' half of pointWRel.
func (s *small) addLayerBase() {
	if !s.seg {
		s.i(x86.ADD, x86.EBX, low32(addrLayerW))
	}
}

// advanceW moves the weights pointer by n bytes.
func (s *small) advanceW(n int) {
	if n == 1 || (n == 2 && s.seg) {
		for ; n > 0; n-- {
			s.i(x86.INC, s.w())
		}
		return
	}
	s.i(x86.ADD, s.w(), x86.Imm(int64(n)))
}

// wlods is a string load from the weights: FS:SI (segmented), [ESI]
// (flat, a32).
func (s *small) wlods(o x86.Op) {
	if s.seg {
		s.i(x86.SegOverride(x86.FS) | o)
	} else {
		s.i(x86.A32 | o)
	}
}

// loadWeight loads the next weight of eb bytes by wlods, sign-extended
// into eax.
func (s *small) loadWeight(eb int) {
	if eb == 1 {
		s.wlods(x86.LODSB)
		s.i(x86.CBW)
	} else {
		s.wlods(x86.LODSW)
	}
	s.i(x86.CWDE)
}

func v16(a uint32) x86.Imm { return x86.Imm(int64(a)) }

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
	default:
		return fmt.Errorf("%s: %s has no small kernel", op.Pos, op.Kind)
	}
	return nil
}

// matmul calls the matmul subroutine for op, writing into dst or, with
// acc, adding into it.
func (s *small) matmul(op *ir.Op, dst *ir.Var, acc bool) {
	q := op.Params[0]
	eb := elemBytes(q)
	name := s.matmulSub(eb)
	if acc {
		s.mmVariants[eb] |= 2
	} else {
		s.mmVariants[eb] |= 1
	}
	if s.rmsLen[eb] > 0 {
		name += ".st" // the rms entry comes first
	}
	loc := s.l.Params[q]
	var w uint32
	switch {
	case s.seg && loc.PerLayer:
		s.useFS(true, 0)
		w = loc.Addr
	case s.seg:
		s.useFS(false, loc.Addr>>4)
		w = loc.Addr & 15
	default:
		w = uint32(s.relW(q))
	}
	s.withoutLayerBase(q, func() {
		s.i(x86.CALL, x86.Label(name))
		s.matmulArgs(op, dst, w, acc)
	})
}

// matmulArgs emits the arguments that follow a matmul call: x, cols and
// the end of y (copied to addrMM), y, then the weights w (a word: an
// offset in FS; flat, a dword relative to the layer base). Fewer bytes than
// setting registers at every call. With acc (add into y), the end is that
// of y's last row but one, plus 1: y (a multiple of 4) stays below it as
// long as below the true end, and its bit 0 tells the subroutine to add.
func (s *small) matmulArgs(op *ir.Op, dst *ir.Var, w uint32, acc bool) {
	x, y := s.l.VarAddr(op.Args[0]), s.l.VarAddr(dst)
	end := y + 4*uint32(op.Rows())
	if acc {
		end = end - 4 + 1
	}
	s.emitter.p.DW(uint16(x), uint16(op.Params[0].Cols), uint16(end), uint16(y))
	s.weightArg(w)
}

// weightArg emits a weights address argument: a word (segmented), a dword
// (flat).
func (s *small) weightArg(w uint32) {
	if s.seg {
		s.emitter.p.DW(uint16(w))
	} else {
		s.emitter.p.DD(w)
	}
}

// rmsMatmul runs rmsnorm a and the matmul b it feeds through the matmul's
// rms entry: its arguments are the norm's weights, then the matmul's (the
// norm's output is the matmul's x; its input is rmsIn).
func (s *small) rmsMatmul(a, b *ir.Op) {
	eb := elemBytes(b.Params[0])
	name := s.matmulSub(eb)
	s.mmVariants[eb] |= 1
	g, w := s.l.Params[a.Params[0]], s.l.Params[b.Params[0]]
	var ga, wa uint32
	switch seg, _ := s.rmsSeg(a, b); {
	case s.seg:
		s.useFS(g.PerLayer, seg) // both per layer, or neither (rmsSeg)
		ga, wa = g.Addr-seg<<4, w.Addr-seg<<4
	default:
		ga, wa = uint32(s.relW(a.Params[0])), uint32(s.relW(b.Params[0]))
	}
	s.withoutLayerBase(b.Params[0], func() { // a's agrees (rmsSeg)
		s.i(x86.CALL, x86.Label(name))
		s.weightArg(ga)
		s.matmulArgs(b, b.Dst, wa, false)
	})
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

// matmulSub reads its arguments after the call (see matmul) and returns
// after them. The weights (a row's multiplier, then its cols weights) go
// by lods through FS:SI (flat: ESI), x by [di] and scasd. Per row the sum
// Σ w·x builds in 48 bits, ebp and bx, from 2^15: t = rshr(sum, 16) needs
// only bits 15-47, and the bias makes it one shrd. Then y = rshr(t·m, B),
// stored or, when bit 0 of the end of y is set (matmulArgs), added to the
// destination. y's pointer and the row's multiplier wait on the stack; x,
// cols and the end of y in addrMM. With rmsnorms that feed matmuls
// (planRMSMatmuls), the rms entry comes first: NAME runs the norm, NAME.st
// is the plain entry.
func (s *small) matmulSub(eb int) string {
	name := fmt.Sprintf("matmul%d", eb*8)
	return s.use(name, func() {
		if n := s.rmsLen[eb]; n > 0 {
			// The rms entry: rmsnorm(rmsIn, g) into x, then on as a
			// store.
			s.i(x86.POP, x86.SI)
			if s.seg {
				s.i(x86.LODSW)
				s.i(x86.XCHG, x86.AX, x86.BX)
			} else {
				s.i(x86.LODSD)
				s.i(x86.XCHG, x86.EAX, x86.EBX)
			}
			s.i(x86.PUSH, x86.SI)
			s.i(x86.MOV, x86.DI, x86.W(x86.Mem{Base: x86.SI}))
			s.i(x86.MOV, x86.SI, v16(s.rmsIn))
			if norm := fmt.Sprintf("rmsnorm%d", n); s.subs[norm] != nil {
				s.i(x86.CALL, x86.Label(norm))
			} else {
				s.rmsnormBody(name+".rms", n, false)
			}
			s.label(name + ".st")
		}
		s.i(x86.POP, x86.SI)
		s.i(x86.MOV, x86.DI, x86.Imm(addrMM))
		for i := 0; i < 3; i++ {
			s.i(x86.MOVSW)
		}
		s.i(x86.LODSW)
		s.i(x86.XCHG, x86.AX, x86.DI)
		if s.seg {
			s.i(x86.LODSW)
			s.i(x86.PUSH, x86.SI)
			s.i(x86.XCHG, x86.AX, x86.SI)
		} else {
			s.i(x86.LODSD)
			s.i(x86.PUSH, x86.SI)
			s.i(x86.XCHG, x86.EAX, x86.ESI)
			s.i(x86.ADD, x86.ESI, low32(addrLayerW))
		}
		s.label(name + ".row")
		s.i(x86.PUSH, x86.DI)
		s.wlods(x86.LODSD)
		s.i(x86.PUSH, x86.EAX)
		s.i(x86.MOV, x86.DI, low16(addrMM))
		s.i(x86.MOV, x86.EBP, x86.Imm(1<<(ir.MatmulPreShift-1)))
		s.i(x86.XOR, x86.BX, x86.BX)
		s.i(x86.MOV, x86.CX, low16(addrMM+2))
		s.label(name + ".col")
		s.loadWeight(eb)
		s.i(x86.IMUL, x86.D(x86.Mem{Base: x86.DI}))
		s.i(x86.SCASD)
		s.i(x86.ADD, x86.EBP, x86.EAX)
		s.i(x86.ADC, x86.BX, x86.DX)
		s.i(x86.LOOP, x86.Label(name+".col"))
		s.i(x86.SHRD, x86.EBP, x86.EBX, x86.Imm(ir.MatmulPreShift))
		s.i(x86.POP, x86.EAX)
		s.i(x86.IMUL, x86.EBP)
		s.rshr(s.shift())
		s.i(x86.POP, x86.DI)
		switch s.mmVariants[eb] {
		case 2:
			s.i(x86.ADD, x86.EAX, x86.D(x86.Mem{Base: x86.DI}))
		case 3:
			s.i(x86.TEST, x86.B(x86.Abs16(addrMM+4)), x86.Imm(1)) // the end's bit 0: add
			s.i(x86.JZ, x86.Label(name+".store"))
			s.i(x86.ADD, x86.EAX, x86.D(x86.Mem{Base: x86.DI}))
			s.label(name + ".store")
		}
		s.i(x86.STOSD)
		s.i(x86.CMP, x86.DI, low16(addrMM+4))
		s.i(x86.JB, x86.Label(name+".row"))
		s.i(x86.RET)
	})
}

// shift is the model's matmul shift B.
func (s *small) shift() uint {
	for _, q := range s.p.Params {
		if q.Q != nil && q.Q.M != nil {
			return q.Q.Shift
		}
	}
	return 0
}

// embed: row token of the table, each weight times the row's multiplier,
// rshr B (inline, so that loop keeps its count in cx), into dst. The
// weights go through FS:SI (segmented) or ESI (flat) by lods.
func (s *small) embed(op *ir.Op) {
	q := op.Params[0]
	loc := s.l.Params[q]
	eb := elemBytes(q)
	switch {
	case s.seg:
		off := loc.Addr // in this layer's weights segment
		if loc.PerLayer {
			s.useFS(true, 0)
		} else {
			s.useFS(false, loc.Addr>>4)
			off &= 15
		}
		s.i(x86.IMUL, x86.SI, low16(addrTok), x86.Imm(int64(loc.RowBytes)))
		if off != 0 {
			s.i(x86.ADD, x86.SI, x86.Imm(int64(off)))
		}
	default:
		s.i(x86.MOVZX, x86.ESI, low16(addrTok))
		s.i(x86.IMUL, x86.ESI, x86.ESI, x86.Imm(int64(loc.RowBytes)))
		s.i(x86.ADD, x86.ESI, x86.Imm(int64(loc.Addr)))
		if loc.PerLayer {
			s.i(x86.ADD, x86.ESI, low32(addrLayerW))
		}
	}
	s.wlods(x86.LODSD)
	s.i(x86.XCHG, x86.EAX, x86.EBP)
	s.i(x86.MOV, x86.DI, v16(s.l.VarAddr(op.Dst)))
	s.i(x86.MOV, x86.CX, x86.Imm(int64(q.Cols)))
	top := s.fresh("emb")
	s.label(top)
	s.loadWeight(eb)
	s.i(x86.IMUL, x86.EBP)
	s.i(x86.SHRD, x86.EAX, x86.EDX, x86.Imm(int64(s.shift())))
	s.i(x86.ADC, x86.EAX, x86.Imm(0))
	s.i(x86.STOSD)
	s.i(x86.LOOP, x86.Label(top))
}

// rmsnormSub (ir.RMSInv): si = x, di = dst, the weights pointer at g; n
// is fixed per subroutine. ss = Σ x² in edi:ebp; r = isqrt(ss/n + eps)
// bit by bit in esi; inv = (2^38 + r/2)/r in ebp; y = rshr(rshr(x·inv,
// 22)·g, 16), counted in ch.
func (s *small) rmsnormSub(n int) string {
	name := fmt.Sprintf("rmsnorm%d", n)
	return s.use(name, func() { s.rmsnormBody(name, n, true) })
}

// rmsnormBody is rmsnormSub's code, its labels under name; without ret, it
// falls through (inline in the matmul's rms entry).
func (s *small) rmsnormBody(name string, n int, ret bool) {
	s.addLayerBase()
	s.i(x86.PUSH, x86.SI)
	s.i(x86.PUSH, x86.DI)
	s.i(x86.MOV, x86.CX, x86.Imm(int64(n)))
	// The sum starts at n·(eps+1): ss/n below is then v+1, exactly
	// (floor((ss + n·k)/n) = floor(ss/n) + k).
	s.i(x86.MOV, x86.EBP, x86.Imm(int64(n)*(ir.RMSEps+1)))
	s.i(x86.XOR, x86.EDI, x86.EDI)
	s.label(name + ".ss")
	s.i(x86.LODSD)
	s.i(x86.IMUL, x86.EAX)
	s.i(x86.ADD, x86.EBP, x86.EAX)
	s.i(x86.ADC, x86.EDI, x86.EDX)
	s.i(x86.LOOP, x86.Label(name+".ss"))
	// v+1 = ss/n + eps + 1 in edi:ebp, by a shift when n is a power
	// of two, else two divisions (the quotient can pass 32 bits).
	if k := bits.TrailingZeros(uint(n)); n == 1<<k {
		s.i(x86.SHRD, x86.EBP, x86.EDI, x86.Imm(int64(k)))
		s.i(x86.SHR, x86.EDI, x86.Imm(int64(k)))
	} else {
		// All of ecx: its top half may hold a caller's leftovers.
		s.i(x86.MOV, x86.ECX, x86.Imm(int64(n)))
		s.i(x86.XCHG, x86.EAX, x86.EDI)
		s.i(x86.XOR, x86.EDX, x86.EDX)
		s.i(x86.DIV, x86.ECX)
		s.i(x86.XCHG, x86.EAX, x86.EBP)
		s.i(x86.DIV, x86.ECX)
		s.i(x86.MOV, x86.EDI, x86.EBP)
		s.i(x86.XCHG, x86.EAX, x86.EBP)
	}
	// r = isqrt(v) in esi, bit by bit from bit 31 (cl): t = r|bit
	// stays when t² < v+1.
	s.i(x86.XOR, x86.ESI, x86.ESI)
	s.i(x86.MOV, x86.CL, x86.Imm(31))
	s.label(name + ".bit")
	s.i(x86.BTS, x86.ESI, x86.ECX) // the bit is cl mod 32
	s.i(x86.MOV, x86.EAX, x86.ESI)
	s.i(x86.MUL, x86.EAX)
	s.i(x86.SUB, x86.EAX, x86.EBP)
	s.i(x86.SBB, x86.EDX, x86.EDI)
	s.i(x86.JB, x86.Label(name+".keep"))
	s.i(x86.BTR, x86.ESI, x86.ECX)
	s.label(name + ".keep")
	s.i(x86.DEC, x86.CL)
	s.i(x86.JNS, x86.Label(name+".bit"))
	s.i(x86.MOV, x86.EAX, x86.ESI)
	s.i(x86.SHR, x86.EAX, x86.Imm(1))
	s.i(x86.CDQ) // eax < 2^31: edx = 0
	s.i(x86.MOV, x86.DL, x86.Imm(1<<(ir.FracBits+ir.RMSInvBits-32)))
	s.i(x86.DIV, x86.ESI)
	s.i(x86.XCHG, x86.EAX, x86.EBP)
	s.i(x86.POP, x86.DI)
	s.i(x86.POP, x86.SI)
	s.i(x86.MOV, x86.CH, x86.Imm(int64(n)))
	s.label(name + ".out")
	s.i(x86.LODSD)
	s.i(x86.IMUL, x86.EBP)
	s.rshr(ir.RMSInvBits)
	s.i(x86.IMUL, x86.D(s.wmem(0)))
	s.advanceW(4)
	s.rshr(ir.FracBits)
	s.i(x86.STOSD)
	s.i(x86.DEC, x86.CH)
	s.i(x86.JNE, x86.Label(name+".out"))
	if ret {
		s.i(x86.RET)
	}
}

// ropeSub: si = x, di = dst, bp = pairs; head size fixed per subroutine.
// bx walks the table row of pos (cosines, then sines at +D*2), ch counts
// the pairs of a head; 64-bit partial products wait in low memory.
func (s *small) ropeSub(op *ir.Op) string {
	d := op.HeadDim
	tab := "tab." + op.Table.Name
	name := fmt.Sprintf("rope%d", d)
	return s.use(name, func() {
		s.i(x86.MOV, x86.AX, low16(addrPos))
		s.i(x86.IMUL, x86.BX, x86.AX, x86.Imm(int64(d*4)))
		s.i(x86.MOV, x86.CH, x86.Imm(int64(d/2)))
		c := func() x86.Mem { return x86.D(x86.Mem{Base: x86.BX, Label: tab}) }
		sn := func() x86.Mem { return x86.D(x86.Mem{Base: x86.BX, Label: tab, Disp: int32(d * 2)}) }
		a, b := x86.D(x86.Mem{Base: x86.SI}), x86.D(x86.Mem{Base: x86.SI, Disp: 4})
		t0, t1 := low32(addrTmp), low32(addrTmp+4)
		s.label(name + ".pair")
		s.i(x86.MOV, x86.EAX, b)
		s.i(x86.IMUL, sn())
		s.i(x86.MOV, t0, x86.EAX)
		s.i(x86.MOV, t1, x86.EDX)
		s.i(x86.MOV, x86.EAX, a)
		s.i(x86.IMUL, c())
		s.i(x86.SUB, x86.EAX, t0)
		s.i(x86.SBB, x86.EDX, t1)
		s.rshr(ir.RopeBits)
		s.i(x86.PUSH, x86.EAX)
		s.i(x86.MOV, x86.EAX, a)
		s.i(x86.IMUL, sn())
		s.i(x86.MOV, t0, x86.EAX)
		s.i(x86.MOV, t1, x86.EDX)
		s.i(x86.MOV, x86.EAX, b)
		s.i(x86.IMUL, c())
		s.i(x86.ADD, x86.EAX, t0)
		s.i(x86.ADC, x86.EDX, t1)
		s.rshr(ir.RopeBits)
		s.i(x86.MOV, x86.D(x86.Mem{Base: x86.DI, Disp: 4}), x86.EAX)
		s.i(x86.POP, x86.EAX)
		s.i(x86.MOV, x86.D(x86.Mem{Base: x86.DI}), x86.EAX)
		s.i(x86.ADD, x86.SI, x86.Imm(8))
		s.i(x86.ADD, x86.DI, x86.Imm(8))
		s.i(x86.ADD, x86.BX, x86.Imm(4))
		s.i(x86.DEC, x86.CH)
		s.i(x86.JNE, x86.Label(name+".same"))
		s.i(x86.SUB, x86.BX, x86.Imm(int64(d*2)))
		s.i(x86.MOV, x86.CH, x86.Imm(int64(d/2)))
		s.label(name + ".same")
		s.i(x86.DEC, x86.BP)
		s.i(x86.JNE, x86.Label(name+".pair"))
		s.i(x86.RET)
	})
}

// store quantizes k and v into this position's cache record (ir.Sim.store),
// head by head: its largest magnitude in edx, the shift s in cl (found by
// trying rshr), the shift byte, then each value rshr(x, s). ES points at
// the cache for stosb/stosw (flat: ES is 0 with a 4 GiB limit; segmented:
// the cache's segment, and ES goes back to 0 after). When v follows k in
// memory (a fused q+k+v), one loop runs over the heads of both.
func (s *small) store(op *ir.Op) {
	c := op.Cache
	loc := s.l.Caches[c]
	qb, heads, hd := c.Bits/8, c.Heads(), c.HeadDim
	str := func(op x86.Op) x86.Op {
		if s.seg {
			return op
		}
		return x86.A32 | op
	}
	if s.seg {
		s.i(x86.PUSH, x86.GS)
		s.i(x86.POP, x86.ES)
		s.i(x86.IMUL, x86.DI, low16(addrPos), x86.Imm(int64(loc.Rec)))
		if loc.K != 0 {
			s.i(x86.ADD, x86.DI, x86.Imm(int64(loc.K)))
		}
	} else {
		s.i(x86.MOVZX, x86.EAX, low16(addrPos))
		s.i(x86.IMUL, x86.EDI, x86.EAX, x86.Imm(int64(loc.Rec)))
		s.i(x86.ADD, x86.EDI, low32(addrLayerC))
		if loc.K != 0 {
			s.i(x86.ADD, x86.EDI, x86.Imm(int64(loc.K)))
		}
	}
	k, v := s.l.VarAddr(op.Args[0]), s.l.VarAddr(op.Args[1])
	together := v == k+uint32(4*c.Width)
	for i, src := range []uint32{k, v} {
		if i == 1 && together {
			break
		}
		s.i(x86.MOV, x86.SI, v16(src))
		n := heads
		if together {
			n *= 2
		}
		s.i(x86.MOV, x86.BP, x86.Imm(int64(n)))
		head, mx, pos, keep, try, done, quant := s.fresh("sh"), s.fresh("smax"), s.fresh("spos"), s.fresh("skeep"),
			s.fresh("stry"), s.fresh("sdone"), s.fresh("sq")
		s.label(head)
		s.i(x86.PUSH, x86.SI)
		s.i(x86.XOR, x86.EDX, x86.EDX)
		s.i(x86.MOV, x86.CX, x86.Imm(int64(hd)))
		s.label(mx)
		s.i(x86.LODSD)
		s.i(x86.TEST, x86.EAX, x86.EAX)
		s.i(x86.JNS, x86.Label(pos))
		s.i(x86.NEG, x86.EAX)
		s.label(pos)
		s.i(x86.CMP, x86.EAX, x86.EDX)
		s.i(x86.JBE, x86.Label(keep))
		s.i(x86.XCHG, x86.EAX, x86.EDX)
		s.label(keep)
		s.i(x86.LOOP, x86.Label(mx))
		s.i(x86.POP, x86.SI)
		// rshr(max, s) of an unsigned max: shr leaves bit s-1 in CF; with
		// s = 0 (cx after the loop) it changes no flag, hence the clc.
		s.i(x86.CLC)
		s.label(try)
		s.i(x86.MOV, x86.EAX, x86.EDX)
		s.i(x86.SHR, x86.EAX, x86.CL)
		s.i(x86.ADC, x86.EAX, x86.Imm(0))
		s.i(x86.CMP, x86.EAX, x86.Imm(int64(1)<<(c.Bits-1)-1))
		s.i(x86.JBE, x86.Label(done))
		s.i(x86.INC, x86.CX)
		s.i(x86.JMP, x86.Label(try))
		s.label(done)
		s.i(x86.XCHG, x86.AX, x86.CX)
		s.i(str(x86.STOSB))
		s.i(x86.XCHG, x86.AX, x86.CX)
		s.i(x86.MOV, x86.CH, x86.Imm(int64(hd)))
		// rshr(x, s) inline: shrd leaves bit s-1 in CF; with s = 0 it
		// changes no flag, and CF stays 0 from here (adc of 0 with CF 0,
		// dec and the string stores keep it).
		s.i(x86.CLC)
		s.label(quant)
		s.i(x86.LODSD)
		s.i(x86.CDQ)
		s.i(x86.SHRD, x86.EAX, x86.EDX, x86.CL)
		s.i(x86.ADC, x86.EAX, x86.Imm(0))
		if qb == 2 {
			s.i(str(x86.STOSW))
		} else {
			s.i(str(x86.STOSB))
		}
		s.i(x86.DEC, x86.CH)
		s.i(x86.JNE, x86.Label(quant))
		s.i(x86.DEC, x86.BP)
		s.i(x86.JNE, x86.Label(head))
	}
	if s.seg {
		s.i(x86.PUSH, x86.DS)
		s.i(x86.POP, x86.ES)
	}
}

// attention, head by head (ir.Sim.attention): the scores into Att and
// their maximum; then one pass computing each exponential, their sum and
// the 64-bit sums of e_t·(v_t << shift_t); then each of those divided by
// the sum, halves away from zero. A pointer walks the cache records (a
// head's shift byte, its values, on to the same head of the next
// position). The dot product keeps 48 bits (di:ebp): a score that fits 32
// bits needs no more.
func (s *small) attention(op *ir.Op) {
	c, hd := op.Cache, op.HeadDim
	loc := s.l.Caches[c]
	qb := c.Bits / 8
	heads := op.Args[0].Len / hd
	group := heads / c.Heads()
	att, acc := s.l.Att, s.l.Acc
	q, out := s.l.VarAddr(op.Args[0]), s.l.VarAddr(op.Dst)
	tab := "tab." + op.Table.Name
	bx := s.creg(x86.BX)
	headBytes := 1 + hd*qb
	next := int64(int(loc.Rec) - headBytes)
	loadC := func(r x86.Reg) {
		m := s.cmem(x86.BX, 0)
		if qb == 1 {
			m.Size = 8
		} else {
			m.Size = 16
		}
		s.i(x86.MOVSX, r, m)
		for k := 0; k < qb; k++ {
			s.i(x86.INC, bx)
		}
	}
	shiftC := func() {
		s.i(x86.MOV, x86.CL, x86.B(s.cmem(x86.BX, 0)))
		s.i(x86.INC, bx)
	}
	s.i(x86.IMUL, x86.AX, low16(addrPos), x86.Imm(4))
	s.i(x86.ADD, x86.AX, v16(att+4))
	s.i(x86.MOV, low16(addrAttAux), x86.AX)
	s.i(x86.MOV, x86.DI, v16(out))
	head := s.fresh("ahead")
	s.label(head)
	// A head's query and output advance together (4·hd bytes a head):
	// the query's pointer and the kv head follow from the output's.
	s.i(x86.LEA, x86.SI, x86.Mem{Base: x86.DI, Disp: int32(q) - int32(out)})
	s.i(x86.PUSH, x86.DI)
	// The kv head: the output's offset / (4·hd·group).
	s.i(x86.LEA, x86.AX, x86.Mem{Base: x86.DI, Disp: -int32(out)})
	if span := 4 * hd * group; span&(span-1) == 0 {
		s.i(x86.SHR, x86.AX, x86.Imm(int64(bits.TrailingZeros(uint(span)))))
	} else {
		s.i(x86.XOR, x86.DX, x86.DX)
		s.i(x86.MOV, x86.CX, x86.Imm(int64(span)))
		s.i(x86.DIV, x86.CX)
	}
	if s.seg {
		s.i(x86.IMUL, x86.BX, x86.AX, x86.Imm(int64(headBytes)))
	} else {
		s.i(x86.MOVZX, x86.EAX, x86.AX)
		s.i(x86.IMUL, x86.EBX, x86.EAX, x86.Imm(int64(headBytes)))
		s.i(x86.ADD, x86.EBX, low32(addrLayerC))
	}
	if loc.K != 0 {
		s.i(x86.ADD, bx, x86.Imm(int64(loc.K)))
	}
	// The stack: the output, the kv head's cache pointer at t = 0, the
	// query.
	s.i(x86.PUSH, bx)
	s.i(x86.PUSH, x86.SI)

	// Scores into Att, their maximum in low memory (the first score sets
	// it).
	s.i(x86.MOV, x86.DI, v16(att))
	score, dot, setmax, nomax := s.fresh("ascore"), s.fresh("adot"), s.fresh("asetmax"), s.fresh("anomax")
	s.label(score)
	s.i(x86.POP, x86.SI)
	s.i(x86.PUSH, x86.SI)
	s.i(x86.PUSH, x86.DI)
	s.i(x86.XOR, x86.EBP, x86.EBP)
	s.i(x86.XOR, x86.DI, x86.DI)
	shiftC()
	s.i(x86.MOV, x86.CH, x86.Imm(int64(hd)))
	s.label(dot)
	s.i(x86.LODSD)
	loadC(x86.EDX)
	s.i(x86.IMUL, x86.EDX)
	s.i(x86.ADD, x86.EBP, x86.EAX)
	s.i(x86.ADC, x86.DI, x86.DX)
	s.i(x86.DEC, x86.CH)
	s.i(x86.JNE, x86.Label(dot))
	s.i(x86.ADD, bx, x86.Imm(next))
	// rshr(dot << shift, 16) inline: shrd leaves the rounding bit in CF.
	s.i(x86.SHLD, x86.EDI, x86.EBP, x86.CL)
	s.i(x86.SHL, x86.EBP, x86.CL)
	s.i(x86.SHRD, x86.EBP, x86.EDI, x86.Imm(ir.FracBits))
	s.i(x86.ADC, x86.EBP, x86.Imm(0))
	s.i(x86.MOV, x86.EAX, x86.Imm(ir.AttnScale(hd)))
	s.i(x86.IMUL, x86.EBP)
	s.rshr(ir.AttnScaleBits)
	s.i(x86.POP, x86.DI)
	s.i(x86.STOSD)
	s.i(x86.CMP, x86.DI, v16(att+4))
	s.i(x86.JE, x86.Label(setmax))
	s.i(x86.CMP, x86.EAX, low32(addrBest))
	s.i(x86.JLE, x86.Label(nomax))
	s.label(setmax)
	s.i(x86.MOV, low32(addrBest), x86.EAX)
	s.label(nomax)
	s.i(x86.CMP, x86.DI, low16(addrAttAux))
	s.i(x86.JB, x86.Label(score))
	s.i(x86.POP, x86.AX) // the query

	// e_t = exp(best − score_t), added to the sum and, times v_t <<
	// shift_t, to acc. The exp table falls: with m = T[j] − T[j+1] >= 0
	// and f in the top bits of eax, mul gives m·f / 2^11 in edx, and
	// T[j] + rshr(−m·f, 11) = T[j] − (m·f + 1023) >> 11: the add carries.
	// The sum of the exps follows the 64-bit sums, so that one rep stosd
	// clears both and the v_t loop's pointer ends at it.
	s.i(x86.MOV, x86.DI, v16(acc))
	if n := 2*hd + 1; n <= 0xFF {
		s.i(x86.MOV, x86.CL, x86.Imm(int64(n))) // ch = 0: the dot product's count
	} else {
		s.i(x86.MOV, x86.CX, x86.Imm(int64(n)))
	}
	s.i(x86.XOR, x86.EAX, x86.EAX)
	s.i(x86.REP | x86.STOSD)
	s.i(x86.POP, bx)
	s.i(x86.ADD, bx, x86.Imm(int64(loc.V-loc.K)))
	s.i(x86.MOV, x86.SI, v16(att))
	vt, vi, zero := s.fresh("avt"), s.fresh("avi"), s.fresh("azero")
	s.label(vt)
	s.i(x86.LODSD)
	s.i(x86.NEG, x86.EAX)
	s.i(x86.ADD, x86.EAX, low32(addrBest))
	s.i(x86.XOR, x86.EBP, x86.EBP)
	s.i(x86.CMP, x86.EAX, x86.Imm(ir.ExpLimit))
	s.i(x86.JAE, x86.Label(zero))
	// u < 2^20: rotated, the step j lands in ax and the fraction on top.
	if ir.ExpLimit > 1<<(16+ir.ExpStepBits) {
		panic("BUG: the exp table's steps do not fit ax")
	}
	s.i(x86.ROL, x86.EAX, x86.Imm(32-ir.ExpStepBits))
	s.i(x86.IMUL, x86.DI, x86.AX, x86.Imm(4))
	s.i(x86.XOR, x86.AX, x86.AX)
	s.i(x86.MOV, x86.EDX, x86.D(x86.Mem{Base: x86.DI, Label: tab}))
	s.i(x86.MOV, x86.EBP, x86.EDX)
	s.i(x86.SUB, x86.EDX, x86.D(x86.Mem{Base: x86.DI, Label: tab, Disp: 4}))
	s.i(x86.MUL, x86.EDX)
	bias := uint32(1<<(ir.ExpStepBits-1)-1) << (32 - ir.ExpStepBits)
	s.i(x86.ADD, x86.EAX, x86.Imm(int64(int32(bias))))
	s.i(x86.SBB, x86.EBP, x86.EDX)
	s.label(zero)
	shiftC()
	s.i(x86.MOV, x86.DI, v16(acc))
	s.i(x86.MOV, x86.CH, x86.Imm(int64(hd)))
	s.label(vi)
	loadC(x86.EAX)
	s.i(x86.IMUL, x86.EBP)
	s.i(x86.SHLD, x86.EDX, x86.EAX, x86.CL)
	s.i(x86.SHL, x86.EAX, x86.CL)
	// Each sum high dword first, for the division's loads.
	s.i(x86.ADD, x86.D(x86.Mem{Base: x86.DI, Disp: 4}), x86.EAX)
	s.i(x86.ADC, x86.D(x86.Mem{Base: x86.DI}), x86.EDX)
	s.i(x86.ADD, x86.DI, x86.Imm(8))
	s.i(x86.DEC, x86.CH)
	s.i(x86.JNE, x86.Label(vi))
	s.i(x86.ADD, x86.D(x86.Mem{Base: x86.DI}), x86.EBP) // di has reached the sum
	s.i(x86.ADD, bx, x86.Imm(next))
	s.i(x86.CMP, x86.SI, low16(addrAttAux))
	s.i(x86.JB, x86.Label(vt))

	// out_i = acc_i / sum, halves away from zero: sum/2 added to a
	// positive acc, taken from a negative one, then idiv, which truncates
	// toward zero. The quotient fits 32 bits: it is a weighted mean of the
	// v_t << shift_t.
	s.i(x86.MOV, x86.EBX, x86.D(x86.Mem{Base: x86.DI})) // the sum, where di stopped
	s.i(x86.MOV, x86.SI, v16(acc))
	s.i(x86.POP, x86.DI)
	s.i(x86.MOV, x86.EBP, x86.EBX)
	s.i(x86.SHR, x86.EBP, x86.Imm(1))
	s.i(x86.MOV, x86.CL, x86.Imm(int64(hd))) // ch = 0: the last v_t's count
	div, neg, quot := s.fresh("adiv"), s.fresh("aneg"), s.fresh("aquot")
	s.label(div)
	s.i(x86.LODSD)
	s.i(x86.XCHG, x86.EAX, x86.EDX)
	s.i(x86.LODSD)
	s.i(x86.TEST, x86.EDX, x86.EDX)
	s.i(x86.JS, x86.Label(neg))
	s.i(x86.ADD, x86.EAX, x86.EBP)
	s.i(x86.ADC, x86.EDX, x86.Imm(0))
	s.i(x86.JMP, x86.Label(quot))
	s.label(neg)
	s.i(x86.SUB, x86.EAX, x86.EBP)
	s.i(x86.SBB, x86.EDX, x86.Imm(0))
	s.label(quot)
	s.i(x86.IDIV, x86.EBX)
	s.i(x86.STOSD)
	s.i(x86.LOOP, x86.Label(div))
	s.i(x86.CMP, x86.DI, v16(out+uint32(4*hd*heads)))
	s.i(x86.JB, x86.Label(head))
}

// gate: y = rshr(x·g(x), 30) with g interpolated in the table (which
// rises: m = T[j+1] − T[j] >= 0): with the fraction f in the top bits of
// eax, mul gives m·f / 2^11 in edx and its rounding bit on top of eax, so
// g = T[j] + rshr(m·f, 11) is add eax, eax then adc. Below the table g is
// 0, at or above its end 1. With mul (an ir.Mul of the gate's result and
// another var, which overwrites that result), y goes on to rshr(y·o, 16)
// in the same loop.
func (s *small) gate(op, mul *ir.Op) {
	tab := "tab." + op.Table.Name
	x := s.l.VarAddr(op.Args[0])
	dst := op.Dst
	if mul != nil {
		dst = mul.Dst
	}
	s.i(x86.MOV, x86.SI, v16(x))
	if y := s.l.VarAddr(dst); y == x {
		s.i(x86.MOV, x86.DI, x86.SI)
	} else {
		s.i(x86.MOV, x86.DI, v16(y))
	}
	top, in, st := s.fresh("gate"), s.fresh("gin"), s.fresh("gst")
	s.label(top)
	s.i(x86.LODSD)
	s.i(x86.MOV, x86.EBP, x86.EAX)
	s.i(x86.ADD, x86.EAX, x86.Imm(-ir.GateLow)) // u = x − low: in the table when below its span
	s.i(x86.CMP, x86.EAX, x86.Imm(ir.GateHigh-ir.GateLow))
	s.i(x86.JB, x86.Label(in))
	s.i(x86.XOR, x86.EAX, x86.EAX)
	s.i(x86.TEST, x86.EBP, x86.EBP)
	s.i(x86.JS, x86.Label(st))
	s.i(x86.XCHG, x86.EAX, x86.EBP)
	s.i(x86.JMP, x86.Label(st))
	s.label(in)
	// u < 2^21: rotated, the step j lands in ax and the fraction on top.
	if ir.GateHigh-ir.GateLow > 1<<(16+ir.GateStepBits) {
		panic("BUG: the gate table's steps do not fit ax")
	}
	s.i(x86.ROL, x86.EAX, x86.Imm(32-ir.GateStepBits))
	s.i(x86.IMUL, x86.BX, x86.AX, x86.Imm(4))
	s.i(x86.XOR, x86.AX, x86.AX)
	s.i(x86.MOV, x86.EDX, x86.D(x86.Mem{Base: x86.BX, Label: tab, Disp: 4}))
	s.i(x86.SUB, x86.EDX, x86.D(x86.Mem{Base: x86.BX, Label: tab}))
	s.i(x86.MUL, x86.EDX)
	s.i(x86.ADD, x86.EAX, x86.EAX)
	s.i(x86.ADC, x86.EDX, x86.D(x86.Mem{Base: x86.BX, Label: tab}))
	s.i(x86.XCHG, x86.EAX, x86.EDX)
	s.i(x86.IMUL, x86.EBP)
	s.rshr(ir.GateBits)
	s.label(st)
	if mul != nil {
		// si has passed x[i].
		o := s.l.VarAddr(mulOther(op, mul))
		s.i(x86.IMUL, x86.D(x86.Mem{Base: x86.SI, Disp: int32(o) - int32(x) - 4}))
		s.rshr(ir.FracBits)
	}
	s.i(x86.STOSD)
	s.i(x86.CMP, x86.SI, v16(x+uint32(4*op.Args[0].Len)))
	s.i(x86.JB, x86.Label(top))
}

func (s *small) mul(op *ir.Op) {
	s.i(x86.MOV, x86.SI, v16(s.l.VarAddr(op.Args[0])))
	s.i(x86.MOV, x86.BX, v16(s.l.VarAddr(op.Args[1])))
	s.i(x86.MOV, x86.DI, v16(s.l.VarAddr(op.Dst)))
	s.i(x86.MOV, x86.BP, x86.Imm(int64(op.Dst.Len)))
	top := s.fresh("mul")
	s.label(top)
	s.i(x86.LODSD)
	s.i(x86.IMUL, x86.D(x86.Mem{Base: x86.BX}))
	s.i(x86.ADD, x86.BX, x86.Imm(4))
	s.rshr(ir.FracBits)
	s.i(x86.STOSD)
	s.i(x86.DEC, x86.BP)
	s.i(x86.JNE, x86.Label(top))
}

func (s *small) add(op *ir.Op) {
	s.i(x86.MOV, x86.SI, v16(s.l.VarAddr(op.Args[0])))
	s.i(x86.MOV, x86.BX, v16(s.l.VarAddr(op.Args[1])))
	s.i(x86.MOV, x86.DI, v16(s.l.VarAddr(op.Dst)))
	s.i(x86.MOV, x86.CX, x86.Imm(int64(op.Dst.Len)))
	top := s.fresh("add")
	s.label(top)
	s.i(x86.LODSD)
	s.i(x86.ADD, x86.EAX, x86.D(x86.Mem{Base: x86.BX}))
	s.i(x86.ADD, x86.BX, x86.Imm(4))
	s.i(x86.STOSD)
	s.i(x86.LOOP, x86.Label(top))
}

// argmax: the first index of the largest, scanning down (std) from the
// last element: an equal element takes over, so the lowest index wins; the
// first compare, of the last element with itself, sets the index.
func (s *small) argmax(op *ir.Op) {
	x, n := s.l.VarAddr(op.Args[0]), op.Args[0].Len
	s.i(x86.STD)
	s.i(x86.MOV, x86.SI, v16(x+uint32(4*(n-1))))
	s.i(x86.MOV, x86.CX, x86.Imm(int64(n)))
	s.i(x86.MOV, x86.EDX, x86.D(x86.Mem{Base: x86.SI}))
	top, less := s.fresh("amax"), s.fresh("aless")
	s.label(top)
	s.i(x86.LODSD)
	s.i(x86.CMP, x86.EAX, x86.EDX)
	s.i(x86.JL, x86.Label(less))
	s.i(x86.XCHG, x86.EAX, x86.EDX)
	s.i(x86.MOV, x86.BX, x86.CX) // index + 1
	s.label(less)
	s.i(x86.LOOP, x86.Label(top))
	s.i(x86.CLD)
	// The token in AX, for the generation loop: no store.
	s.i(x86.XCHG, x86.AX, x86.BX)
	s.i(x86.DEC, x86.AX)
}

// layerPtr is the layer loop's weights or cache pointer: a segment (word)
// in the segmented model, a linear address (dword) in the flat one.
func (s *small) layerPtr(a uint16) x86.Mem {
	if s.seg {
		return low16(a)
	}
	return low32(a)
}

// generateSmall is llama2.c's loop (ir.Generate) in few bytes: tok = BOS,
// pos = 0; forward; the prompt's next token forced while there is one (no
// code at all without a prompt); stop at BOS or EOS; print; advance.
func (s *small) generateSmall(steps int, bench bool) {
	l := s.l
	s.emitter.p.Mark("generate")
	s.emitter.p.Label("generate")
	s.i(x86.XOR, x86.AX, x86.AX)
	s.i(x86.MOV, low16(addrPos), x86.AX)
	s.i(x86.INC, x86.AX)
	s.i(x86.MOV, low16(addrTok), x86.AX)
	s.emitter.step(bench)
	if l.NPrompt > 1 {
		s.i(x86.MOV, x86.BX, low16(addrPos))
		s.i(x86.INC, x86.BX)
		s.i(x86.CMP, x86.BX, x86.Imm(int64(l.NPrompt)))
		s.i(x86.JAE, x86.Label("chosen"))
		s.i(x86.ADD, x86.BX, x86.BX)
		s.i(x86.MOV, x86.AX, x86.W(x86.Mem{Base: x86.BX, Label: "prompt"}))
		s.label("chosen")
	}
	s.emitter.advance(steps, bench, true)
}

// inlineRopes finds the RoPE tables whose ropes all run in place with a
// power-of-two head size: those ropes run inline, each pair's table slot
// found from its offset in the vector.
func inlineRopes(p *ir.Program) map[*ir.Table]int {
	m, bad := map[*ir.Table]int{}, map[*ir.Table]bool{}
	p.Ops(func(_ int, op *ir.Op) {
		if op.Kind != ir.RoPE {
			return
		}
		d := op.HeadDim
		if op.Dst != op.Args[0] || d&(d-1) != 0 {
			bad[op.Table] = true
		}
		m[op.Table] = d
	})
	for t := range bad {
		delete(m, t)
	}
	return m
}

// withNegatedSines turns a RoPE table (per position d/2 cosines, d/2
// sines) into rows of d/2 sines, d/2 cosines, d/2 negated sines: for the
// pair j, (s, c) at slot j and (c, −s) at slot j + d/2, each pair of
// coefficients 2d bytes apart.
func withNegatedSines(t []int32, d int) []int32 {
	half := d / 2
	out := make([]int32, 0, len(t)/2*3)
	for row := 0; row < len(t); row += d {
		cos, sin := t[row:row+half], t[row+half:row+d]
		out = append(out, sin...)
		out = append(out, cos...)
		for _, v := range sin {
			out = append(out, -v)
		}
	}
	return out
}

// ropeInline rotates pairs (a, b) in place from the op's vector (ir.Sim
// RoPE): b' = rshr(a·s + b·c, 30) and a' = rshr(a·c + b·(−s), 30), both
// by one helper rot = rshr(a·T[bx] + b·T[bx+2d], 30) over a table row of
// sines, cosines, negated sines (withNegatedSines), bx at the pair's sine,
// then at its cosine. The pair's slot in the table row of pos comes from
// its offset in the vector (head size a power of two).
func (s *small) ropeInline(op *ir.Op, pairs int) {
	d := op.HeadDim
	tab := "tab." + op.Table.Name
	x := s.l.VarAddr(op.Args[0])
	rot := s.use(fmt.Sprintf("rot%d", d), func() {
		s.i(x86.MOV, x86.EAX, x86.D(x86.Mem{Base: x86.SI}))
		s.i(x86.IMUL, x86.D(x86.Mem{Base: x86.BX, Label: tab}))
		s.i(x86.XCHG, x86.EAX, x86.ECX)
		s.i(x86.MOV, x86.EBP, x86.EDX)
		s.i(x86.MOV, x86.EAX, x86.D(x86.Mem{Base: x86.SI, Disp: 4}))
		s.i(x86.IMUL, x86.D(x86.Mem{Base: x86.BX, Label: tab, Disp: int32(2 * d)}))
		s.i(x86.ADD, x86.EAX, x86.ECX)
		s.i(x86.ADC, x86.EDX, x86.EBP)
		s.rshrTail(ir.RopeBits)
	})
	s.i(x86.MOV, x86.SI, v16(x))
	top := s.fresh("rope")
	s.label(top)
	s.i(x86.IMUL, x86.BX, low16(addrPos), x86.Imm(int64(6*d)))
	if x%uint32(4*d) == 0 {
		s.i(x86.MOV, x86.AX, x86.SI)
	} else {
		s.i(x86.LEA, x86.AX, x86.Mem{Base: x86.SI, Disp: -int32(x)})
	}
	s.i(x86.AND, x86.AX, x86.Imm(int64(4*d-1)))
	s.i(x86.SHR, x86.AX, x86.Imm(1))
	s.i(x86.ADD, x86.BX, x86.AX)
	s.i(x86.CALL, x86.Label(rot)) // b'
	s.i(x86.PUSH, x86.EAX)
	s.i(x86.ADD, x86.BX, x86.Imm(int64(2*d)))
	s.i(x86.CALL, x86.Label(rot)) // a'
	s.i(x86.MOV, x86.D(x86.Mem{Base: x86.SI}), x86.EAX)
	s.i(x86.POP, x86.D(x86.Mem{Base: x86.SI, Disp: 4}))
	s.i(x86.ADD, x86.SI, x86.Imm(8))
	s.i(x86.CMP, x86.SI, v16(x+uint32(8*pairs)))
	s.i(x86.JB, x86.Label(top))
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
