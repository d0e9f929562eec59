package loopgen

import (
	"fmt"

	x86 "tfc/codegen/x86_16"
	"tfc/lir"
	"tfc/regalloc"
)

// kernel selects the instructions of one tensor op (an lir NOp) with
// virtual registers: each lir register is one virtual (an i64 two, low
// and high dword), a constant written once is an immediate wherever the
// instruction takes one. The x86 forms that fix their registers (imul and
// div in edx:eax, shifts by cl) name them, and the allocator works around.
type kernel struct {
	f     *lir.Func
	l     *Layout
	k     regalloc.Kernel
	name  string
	nv    int
	lo    map[lir.Reg]x86.Reg
	hi    map[lir.Reg]x86.Reg
	konst map[lir.Reg]int64
	// undefs are the virtuals of lir.OpUndef's registers
	// (regalloc.Options.Undef): live at the kernel's entry, holding
	// whatever their registers hold there.
	undefs []int
	// zeroHi are i64 registers written once, by OpExtU: their high dword
	// is the immediate 0 wherever it is read, and no register holds it.
	zeroHi map[lir.Reg]bool
	// inMem are registers that stay in memory, read where they are used:
	// a proc's params, in their argument slots (a proc never writes them).
	inMem map[lir.Reg]x86.Mem
	// seg16 are segments that calls pass as a register's low word
	// (passedSegments).
	seg16 map[lir.Reg]bool
	// below: a proc's params that every call passes a constant in
	// [0, below) (a loop counting to one may count in 16 bits).
	below map[lir.Reg]int64
	// words are the indexes of short loops (shortLoop): their low words
	// are their values, which a compare with a constant below 0x8000 reads
	// alone.
	words map[lir.Reg]bool
	// foldable loads are not selected where they are but deferred to
	// their one reader, which reads the memory operand itself.
	foldable map[lir.Reg]bool
	deferred map[lir.Reg]lir.Mem
	readers  map[lir.Reg]int
	// returns: the store that ends forward (returnsNext), which this
	// kernel ends with its value in ax and forward's ret instead.
	returns *lir.Inst
	// proc is the proc the kernel is (nil: an op's); calls are the procs
	// it calls.
	proc  *lir.Proc
	calls []*lir.Proc
	// fallsInto: the proc ends falling into the proc laid out after it
	// (chainCalls), where it returned.
	fallsInto bool
	// variant: how it selects what finish tries two ways; rshrShifts:
	// the counts whose entries of rshrRoutine it calls (0: the routine
	// itself, by cl).
	variant
	rshrShifts map[int64]bool
	// lookups and mac2s: the lookup and mac2 routines it calls.
	lookups map[lookupRoutine]bool
	mac2s   map[mac2Routine]bool
	// loReaders: of readers, the lo instructions (which read the low
	// dword of an i64 alone).
	loReaders map[lir.Reg]int
	// rmw: a load and the op on it that a store puts back where the load
	// read (acc[i] += p) run as one instruction on memory: rmw marks the
	// load and the op, rmwStore gives the store its op.
	rmw      map[*lir.Inst]*lir.Inst
	rmwStore map[*lir.Inst]*lir.Inst
	nd       []int
	// region is the virtual holding a layer region's pointer (by its
	// low-memory slot), loaded at the kernel's entry when it is used.
	region map[uint16]x86.Reg
	// segs: segmented, the segment register of each group the kernel
	// reaches (a Group), or segment a proc is passed (its lir.Reg, or the
	// word it reads it from), loaded at its entry.
	segs map[any]x86.Reg
	// held: an op's kernel, the segment registers that hold a group's
	// segment at its entry (gen's held), which it takes with no load.
	held map[x86.Reg]uint16
	// pins: the layer slots whose segments a register holds where this
	// kernel runs (gen's pins), which no kernel loads or takes.
	pins map[uint16]x86.Reg
	// pass: how each proc is passed its arguments (Select's plan).
	pass  map[*lir.Proc]*passing
	err   error  // what the kernel cannot do
	note  string // the op, for messages
	entry []regalloc.Item
	// prologue: a proc's first instructions, before entry and before
	// anything it pushes (it pops its return address).
	prologue []regalloc.Item
	nlabels  int
	// short: the size policy's build, where a loop counts in 16 bits
	// when its index stays below 0x8000 (shortLoop).
	short bool
	// cache: allocations that an earlier Select made (Options.Cache).
	cache *Cache
	// bias: the indexes of loops that count up to 0 (countToZero), each
	// what its register is below the lir index.
	bias map[lir.Reg]int64
}

// newKernel starts the kernel of nodes: its constants are the registers
// OpConst writes once, its zeroHi those OpExtU writes once.
func newKernel(f *lir.Func, l *Layout, name string, nodes []*lir.Node) *kernel {
	nd := defs(nodes, len(f.Types))
	konst, zeroHi := constants(f, l, nodes), map[lir.Reg]bool{}
	lir.Walk(nodes, func(x *lir.Node) {
		if x.Kind == lir.NInst && x.Inst.Op == lir.OpExtU && nd[x.Inst.Dst] == 1 {
			zeroHi[x.Inst.Dst] = true
		}
	})
	return &kernel{f: f, l: l, k: regalloc.Kernel{Name: name}, name: name, lo: map[lir.Reg]x86.Reg{},
		hi: map[lir.Reg]x86.Reg{}, konst: konst, zeroHi: zeroHi, inMem: map[lir.Reg]x86.Mem{}, seg16: map[lir.Reg]bool{}, below: map[lir.Reg]int64{}, words: map[lir.Reg]bool{}, nd: nd, region: map[uint16]x86.Reg{}, segs: map[any]x86.Reg{},
		foldable: map[lir.Reg]bool{}, deferred: map[lir.Reg]lir.Mem{},
		rmw: map[*lir.Inst]*lir.Inst{}, rmwStore: map[*lir.Inst]*lir.Inst{}, bias: map[lir.Reg]int64{}, rshrShifts: map[int64]bool{}, lookups: map[lookupRoutine]bool{}, mac2s: map[mac2Routine]bool{}}
}

func (k *kernel) v() x86.Reg {
	k.nv++
	if k.nv > regalloc.MaxVirtual {
		panic(fmt.Sprintf("BUG: loopgen: kernel %s needs more than %d virtual registers", k.name, regalloc.MaxVirtual))
	}
	return regalloc.V(k.nv - 1)
}

func (k *kernel) i(op x86.Op, args ...x86.Operand) { k.k.I(op, args...) }
func (k *kernel) label(name string)                { k.k.Label(name) }

func (k *kernel) fresh(what string) string {
	k.nlabels++
	return fmt.Sprintf("%s.%s%d", k.name, what, k.nlabels)
}

// vnum is the number of the virtual that r, of any width, stands for.
func vnum(r x86.Reg) int {
	n, ok := regalloc.Number(r)
	if !ok {
		panic(fmt.Sprintf("BUG: loopgen: %s is no virtual register", r))
	}
	return n
}

func v8(r x86.Reg) x86.Reg  { return regalloc.V8(vnum(r)) }
func v16(r x86.Reg) x86.Reg { return regalloc.V16(vnum(r)) }

func (k *kernel) is64(r lir.Reg) bool { return k.f.Types[r] == lir.I64 }

// reg is r in a register (the low dword of an i64): a known constant or
// a register kept in memory is loaded into a fresh virtual first.
func (k *kernel) reg(r lir.Reg) x86.Reg {
	if op, ok := k.operand(r, false); ok {
		t := k.v()
		k.i(x86.MOV, t, op)
		return t
	}
	return k.dst(r)
}

// hiReg is the high dword of an i64 r in a register.
func (k *kernel) hiReg(r lir.Reg) x86.Reg {
	if op, ok := k.operand(r, true); ok {
		t := k.v()
		k.i(x86.MOV, t, op)
		return t
	}
	k.dst(r)
	return k.hi[r]
}

// src is r as a source operand: an immediate when it is a known
// constant, memory when it stays there.
func (k *kernel) src(r lir.Reg) x86.Operand {
	if op, ok := k.operand(r, false); ok {
		return op
	}
	return k.dst(r)
}

func (k *kernel) srcHi(r lir.Reg) x86.Operand {
	if op, ok := k.operand(r, true); ok {
		return op
	}
	k.dst(r)
	return k.hi[r]
}

// operand is r (or its high dword) as an immediate or memory operand,
// when it has no register.
func (k *kernel) operand(r lir.Reg, hi bool) (x86.Operand, bool) {
	if c, ok := k.konst[r]; ok {
		if hi {
			c >>= 32
		}
		return x86.Imm(int64(int32(c))), true
	}
	if hi && k.zeroHi[r] {
		return x86.Imm(0), true
	}
	if m, ok := k.inMem[r]; ok {
		if s, pinned := k.pinnedWord(m); pinned && !hi {
			return s, true
		}
		if hi {
			m.Disp += 4
		}
		return m, true
	}
	if m, ok := k.deferred[r]; ok && !hi {
		a := k.addr(m)
		a.Size = 32
		return a, true
	}
	return nil, false
}

// dst is the virtual r lives in (made at its first mention): r's
// register for writing, or reading where it has one.
func (k *kernel) dst(r lir.Reg) x86.Reg {
	if _, ok := k.inMem[r]; ok {
		panic(fmt.Sprintf("BUG: loopgen: %v stays in memory, but an instruction writes it", r))
	}
	v, ok := k.lo[r]
	if !ok {
		v = k.v()
		k.lo[r] = v
		if k.is64(r) {
			k.hi[r] = k.v()
		}
	}
	return v
}

func (k *kernel) dstHi(r lir.Reg) x86.Reg {
	k.dst(r)
	return k.hi[r]
}

// known reports a constant written once.
func (k *kernel) known(r lir.Reg) (int64, bool) {
	c, ok := k.konst[r]
	return c, ok
}

// nodes selects a list of nodes.
func (k *kernel) nodes(ns []*lir.Node) {
	k.findFoldable(ns)
	var flags *lir.Inst // a comparison whose flags the next node jumps on
	skip := 0
	for i, n := range ns {
		if skip > 0 {
			skip--
			continue
		}
		if flags == nil && k.absAt(ns, i) {
			k.abs(ns[i+2].Inst.Dst, ns[i].Inst.A)
			skip = 2
			continue
		}
		if flags == nil && k.leaAt(ns, i) {
			k.lea(&ns[i].Inst, &ns[i+1].Inst)
			skip = 1
			continue
		}
		if flags != nil && k.silent(n) {
			continue // no code: the flags wait
		}
		if c2, _, at, ok := k.orAt(ns, i); ok && flags == nil {
			k.orJump(ns, i, c2, at)
			skip = at - i
			continue
		}
		if n.Kind == lir.NInst && n.Inst.Op == lir.OpCmp {
			j := i + 1
			for j < len(ns) && k.silent(ns[j]) {
				j++
			}
			if j < len(ns) && k.jumpsOn(&n.Inst, ns[j]) {
				flags = &n.Inst
				continue
			}
		}
		cmp := flags
		flags = nil
		switch n.Kind {
		case lir.NInst:
			if in := &n.Inst; in.Op == lir.OpSelect && cmp != nil {
				k.sel(in, cmp)
				continue
			}
			if in := &n.Inst; in.Op == lir.OpAdd && cmp != nil {
				k.addFlag(in, cmp)
				continue
			}
			if in := &n.Inst; in.Op == lir.OpLoad && k.foldable[in.Dst] {
				k.deferred[in.Dst] = in.Mem // read where it is used
				continue
			}
			if in := &n.Inst; k.rmw[in] != nil {
				continue // done in memory by the store that ends it
			}
			if in := &n.Inst; in.Op == lir.OpStore && k.rmwStore[in] != nil {
				k.memOp(in, k.rmwStore[in])
				continue
			}
			k.inst(&n.Inst)
		case lir.NLoop:
			k.loop(n, ns[:i])
		case lir.NIf:
			k.iff(n, cmp)
		case lir.NCall:
			k.call(n)
		default:
			panic(fmt.Sprintf("BUG: loopgen: node kind %d inside an op", n.Kind))
		}
	}
}

// findFoldable marks the loads of ns whose one reader comes later in ns,
// with no store, call or control between, and takes a memory operand
// where it reads the load's register: the reader reads memory instead.
// The load's address registers are written once or are loop indexes
// (lir's loads in kernels), so they still hold their values there.
func (k *kernel) findFoldable(ns []*lir.Node) {
	if k.readers == nil {
		k.readers, k.loReaders = map[lir.Reg]int{}, map[lir.Reg]int{}
		var count func(ns []*lir.Node)
		count = func(ns []*lir.Node) {
			lir.Walk(ns, func(n *lir.Node) {
				switch n.Kind {
				case lir.NInst:
					for _, r := range n.Inst.Reads() {
						k.readers[r]++
					}
					if n.Inst.Op == lir.OpLo {
						k.loReaders[n.Inst.A]++
					}
				case lir.NLoop:
					for _, r := range n.LoopReads() {
						k.readers[r]++
					}
				case lir.NIf:
					k.readers[n.Cond]++
				case lir.NCall:
					for _, r := range n.Args {
						k.readers[r]++
					}
				}
			})
		}
		count(ns)
	}
	k.findRMW(ns)
	// pending: the loads that may fold, by their register (narrow: a byte
	// or a word, which only a shift's count takes: loaded into cl after
	// the shifted value's moves, it leaves ecx free until then).
	pending := map[lir.Reg]*lir.Inst{}
	for _, n := range ns {
		if n.Kind != lir.NInst {
			pending = map[lir.Reg]*lir.Inst{}
			continue
		}
		in := &n.Inst
		for _, r := range []lir.Reg{in.A, in.B} {
			ld := pending[r]
			switch {
			case ld == nil || in.A == in.B:
			case ld.Mem.Width == 4 && takesMem(in, r == in.B):
				k.foldable[r] = true
			case ld.Mem.Width < 4 && r == in.B && shiftsBy(in) && in.Dst != ld.Mem.Base && in.Dst != ld.Mem.Index:
				k.foldable[r] = true
			}
		}
		if in.Op == lir.OpStore {
			pending = map[lir.Reg]*lir.Inst{}
		}
		if in.Op == lir.OpLoad && in.Mem.Width <= 4 && k.f.Types[in.Dst] == lir.I32 &&
			k.nd[in.Dst] == 1 && k.readers[in.Dst] == 1 {
			pending[in.Dst] = in
		}
	}
}

// shiftsBy: in shifts by a register count (shiftReg).
func shiftsBy(in *lir.Inst) bool {
	return in.Op == lir.OpShl || in.Op == lir.OpShr || in.Op == lir.OpSar
}

// findRMW finds, in ns, a load, an add/sub/and/or/xor of its value (its
// one reader) and a store of the result (its one reader) to the same
// place, no store between them: the op runs on memory.
func (k *kernel) findRMW(ns []*lir.Node) {
	for i, n := range ns {
		st := &n.Inst
		if n.Kind != lir.NInst || st.Op != lir.OpStore || k.readers[st.A] != 1 {
			continue
		}
		var op, ld *lir.Inst
		for j := i - 1; j >= 0 && op == nil || ld == nil && j >= 0; j-- {
			x := &ns[j].Inst
			if ns[j].Kind != lir.NInst || x.Op == lir.OpStore {
				break
			}
			if op == nil && x.Dst == st.A {
				op = x
			} else if op != nil && x.Dst == op.A && x.Op == lir.OpLoad {
				ld = x
			}
		}
		if op == nil || ld == nil || ld.Mem != st.Mem || k.readers[ld.Dst] != 1 || k.nd[ld.Dst] != 1 || k.nd[op.Dst] != 1 ||
			op.B == op.A || ld.Mem.Width != 4*len(k.regsOf(ld.Dst)) || !k.stableMem(ld.Mem) {
			continue
		}
		switch op.Op {
		case lir.OpAdd, lir.OpSub, lir.OpAnd, lir.OpOr, lir.OpXor:
			k.rmw[ld], k.rmw[op], k.rmwStore[st] = op, op, op
		}
	}
}

// stableMem: m's registers are written once (or are loop indexes), so
// that it names the same bytes wherever it is read.
func (k *kernel) stableMem(m lir.Mem) bool {
	for _, r := range []lir.Reg{m.Base, m.Index} {
		if r != lir.NoReg && k.nd[r] > 1 {
			return false
		}
	}
	return true
}

// regsOf lists the dwords of r: one, or two for an i64.
func (k *kernel) regsOf(r lir.Reg) []bool {
	if k.is64(r) {
		return []bool{false, true}
	}
	return []bool{false}
}

// memOp stores in's op on memory: op [m], b (and its high dwords with the
// carry for an i64).
func (k *kernel) memOp(st, op *lir.Inst) {
	m := k.addr(st.Mem)
	m.Size = 32
	lo := map[lir.Opcode]x86.Op{lir.OpAdd: x86.ADD, lir.OpSub: x86.SUB, lir.OpAnd: x86.AND, lir.OpOr: x86.OR, lir.OpXor: x86.XOR}[op.Op]
	hi := map[lir.Opcode]x86.Op{lir.OpAdd: x86.ADC, lir.OpSub: x86.SBB, lir.OpAnd: x86.AND, lir.OpOr: x86.OR, lir.OpXor: x86.XOR}[op.Op]
	k.i(lo, m, k.regOrImm(op.B, false))
	if k.is64(op.Dst) {
		m.Disp += 4
		k.i(hi, m, k.regOrImm(op.B, true))
	}
}

// takesMem: in can read its A (or, with b, its B) operand from memory.
func takesMem(in *lir.Inst, b bool) bool {
	switch in.Op {
	case lir.OpMulWide, lir.OpMulWideU, lir.OpMac2:
		return true
	case lir.OpAdd, lir.OpSub, lir.OpAnd, lir.OpOr, lir.OpXor, lir.OpMul:
		return b && in.Dst != in.B
	case lir.OpCmp:
		return b
	}
	return false
}

// absAt: ns[i:i+3] are |v| of an i32 as lir writes it without a branch,
// s = v >> 31, (v ^ s) − s (lir's flip by v's own sign), with s and the
// xor read there alone.
func (k *kernel) absAt(ns []*lir.Node, i int) bool {
	if i+2 >= len(ns) || ns[i].Kind != lir.NInst || ns[i+1].Kind != lir.NInst || ns[i+2].Kind != lir.NInst {
		return false
	}
	sar, xor, sub := &ns[i].Inst, &ns[i+1].Inst, &ns[i+2].Inst
	s, v := sar.Dst, sar.A
	return sar.Op == lir.OpSarI && sar.Imm == 31 && !k.is64(s) && k.readers[s] == 2 && k.nd[s] == 1 &&
		xor.Op == lir.OpXor && (xor.A == v && xor.B == s || xor.A == s && xor.B == v) && k.readers[xor.Dst] == 1 && k.nd[xor.Dst] == 1 &&
		sub.Op == lir.OpSub && sub.A == xor.Dst && sub.B == s
}

// abs is dst = |v| with a branch: test, jns, neg (8 bytes where the sign
// mask, its xor and sub take 13, and a register).
func (k *kernel) abs(dst, v lir.Reg) {
	skip := k.fresh("abs")
	k.move(dst, v)
	d := k.dst(dst)
	k.i(x86.TEST, d, d)
	k.i(x86.JNS, x86.Label(skip))
	k.i(x86.NEG, d)
	k.label(skip)
}

// leaAt: ns[i] shifts an i32 left by 1 to 3 for ns[i+1] alone, which adds
// it to a register: one lea (lea).
func (k *kernel) leaAt(ns []*lir.Node, i int) bool {
	if i+1 >= len(ns) || ns[i].Kind != lir.NInst || ns[i+1].Kind != lir.NInst {
		return false
	}
	sh, add := &ns[i].Inst, &ns[i+1].Inst
	if sh.Op != lir.OpShlI || sh.Imm < 1 || sh.Imm > 3 || k.is64(sh.Dst) || k.readers[sh.Dst] != 1 || k.nd[sh.Dst] != 1 {
		return false
	}
	if add.Op != lir.OpAdd || k.is64(add.Dst) || (add.A == sh.Dst) == (add.B == sh.Dst) {
		return false
	}
	other := add.A
	if other == sh.Dst {
		other = add.B
	}
	_, known := k.known(other)
	_, deferred := k.deferred[other]
	return !known && !deferred
}

// lea is add's x + (b << n) as lea d, [x + b*2^n]: 5 bytes where a
// copy, the shift and the add take 10 (or the copy is a store and the
// add one on memory).
func (k *kernel) lea(sh, add *lir.Inst) {
	other := add.A
	if other == sh.Dst {
		other = add.B
	}
	m := x86.Mem{Size: 32, Base: k.reg(other), Index: k.reg(sh.A), Scale: 1 << sh.Imm, Addr32: true}
	k.i(x86.LEA, k.dst(add.Dst), m)
}

// jumpsOn: next reads cmp's result, its one reader, as its condition, and
// can take the flags instead (an if; a select whose destination is not
// an operand of the comparison, since it may be written before).
// silent: n is an instruction that selects to no code (its result a
// constant, an immediate where it is read).
func (k *kernel) silent(n *lir.Node) bool {
	if n.Kind != lir.NInst || n.Inst.Dst == lir.NoReg {
		return false
	}
	_, ok := k.konst[n.Inst.Dst]
	return ok
}

func (k *kernel) jumpsOn(cmp *lir.Inst, next *lir.Node) bool {
	if k.readers[cmp.Dst] != 1 || k.nd[cmp.Dst] != 1 {
		return false
	}
	switch {
	case next.Kind == lir.NIf:
		return next.Cond == cmp.Dst
	case next.Kind == lir.NInst && next.Inst.Op == lir.OpSelect:
		s := &next.Inst
		premove := s.Dst != s.A && s.Dst != s.B // written before the comparison
		return s.C == cmp.Dst && s.A != cmp.Dst && s.B != cmp.Dst && !(premove && (s.Dst == cmp.A || s.Dst == cmp.B))
	case next.Kind == lir.NInst && next.Inst.Op == lir.OpAdd:
		// A count of the passes where the comparison holds (addFlag).
		a := &next.Inst
		return !k.is64(a.Dst) && (a.A == cmp.Dst) != (a.B == cmp.Dst) && (a.Dst == a.A || a.Dst == a.B)
	}
	return false
}

// iff is an if: on cmp's flags when it is not nil, else on its register.
func (k *kernel) iff(n *lir.Node, cmp *lir.Inst) {
	els, end := k.fresh("else"), k.fresh("fi")
	if cmp != nil {
		k.i(jcc[negated[k.compare(cmp)]], x86.Label(els))
	} else {
		c := k.reg(n.Cond)
		if b, ok := k.below[n.Cond]; ok && b <= 0x100 {
			// A byte's test (a flag that a proc is passed: addflag's):
			// 1 byte fewer, and its register's low byte alone read.
			c = v8(c)
		}
		k.i(x86.CMP, c, x86.Imm(0))
		k.i(x86.JZ, x86.Label(els))
	}
	k.arms(n, els, end)
}

// arms are an if's then, which the code before it enters or jumps past
// to els, and its else, from els to end.
func (k *kernel) arms(n *lir.Node, els, end string) {
	k.nodes(n.Then)
	if len(n.Else) > 0 {
		k.i(x86.JMP, x86.Label(end))
	}
	k.label(els)
	k.nodes(n.Else)
	k.label(end)
}

// addr is the x86 memory operand of m: the buffer's address (and its
// layer region's pointer), the base and the scaled index, with temporaries
// where the forms take fewer registers or no such scale.
func (k *kernel) addr(m lir.Mem) x86.Mem {
	var a uint32
	var region uint16
	if m.Buf != nil {
		a, region = k.l.base(m.Buf)
	}
	seg := x86.NoReg
	if k.lowActivation(m) {
		seg, a = k.l.lowReg(), a-k.l.LowBase
	}
	if k.esPointer(m) {
		seg = k.l.lowReg()
	}
	if k.l.Segmented {
		if m.Buf == nil {
			panic(fmt.Sprintf("BUG: loopgen: kernel %s: an address in a register in the segmented model", k.name))
		}
		if r, ok := m.Buf.Of.(lir.Reg); ok && m.Buf.Kind == lir.BufSegment {
			seg = k.segmentIn(r)
		} else {
			seg = k.segment(k.l.Group[m.Buf])
		}
	}
	disp := int64(a) + m.Disp
	var bases []x86.Reg
	if region != 0 {
		r, ok := k.region[region]
		if !ok {
			r = k.v()
			k.region[region] = r
			k.entry = append(k.entry, regalloc.Item{Inst: x86.Inst{Op: x86.MOV, Args: []x86.Operand{r, x86.D(x86.Abs16(region))}}})
		}
		bases = append(bases, r)
	}
	if m.Base != lir.NoReg {
		if c, ok := k.known(m.Base); ok {
			disp += int64(int32(c))
		} else {
			bases = append(bases, k.reg(m.Base))
		}
	}
	index, scale := x86.NoReg, 0
	if m.Index != lir.NoReg {
		if c, ok := k.known(m.Index); ok {
			disp += int64(int32(c)) * m.Scale
		} else {
			index, scale = k.reg(m.Index), int(m.Scale)
			switch scale {
			case 1, 2, 4, 8:
			default:
				t := k.v()
				k.i(x86.IMUL, t, index, x86.Imm(m.Scale))
				index, scale = t, 1
			}
		}
	}
	if index != x86.NoReg && len(bases) == 2 {
		t := k.v()
		k.i(x86.MOV, t, bases[0])
		k.i(x86.ADD, t, bases[1])
		bases = []x86.Reg{t}
	}
	if index == x86.NoReg && len(bases) == 2 {
		index, scale, bases = bases[1], 1, bases[:1]
	}
	base := x86.NoReg
	if len(bases) == 1 {
		base = bases[0]
	}
	if scale == 0 {
		scale = 1
	}
	if b, ok := k.biased(m); ok {
		// A loop's index counting up to 0 (countToZero): 16 bits.
		if seg == x86.NoReg || scale != 1 {
			panic(fmt.Sprintf("BUG: loopgen: kernel %s: a 16-bit address out of a segment or scaled", k.name))
		}
		if base != x86.NoReg {
			base = v16(base)
		}
		if index != x86.NoReg {
			index = v16(index)
		}
		return x86.Mem{Base: base, Index: index, Disp: int32(int16(disp + b)), Seg: seg}
	}
	return addr16(x86.Mem{Base: base, Index: index, Scale: scale, Disp: int32(uint32(disp)), Addr32: true, Seg: seg})
}

// biased is the displacement m's address adds for the indexes of loops
// that count up to 0 (countToZero) that it reads, if it reads one: both
// its registers may be (the store of k and v: a head's offset, the
// element's).
func (k *kernel) biased(m lir.Mem) (int64, bool) {
	sum, any := int64(0), false
	if b, ok := k.bias[m.Index]; ok && m.Index != lir.NoReg {
		sum, any = sum+b*m.Scale, true
	}
	if b, ok := k.bias[m.Base]; ok && m.Base != lir.NoReg && m.Base != m.Index {
		sum, any = sum+b, true
	}
	return sum, any
}

// inSegment: m's address is an offset in a segment (as addr selects it),
// where a 16-bit address reaches what a 32-bit one does.
func (k *kernel) inSegment(m lir.Mem) bool {
	return k.l.Segmented && m.Buf != nil || k.lowActivation(m) || k.esPointer(m)
}

// lowActivation: flat, m names an activation's buffer, an offset in the
// activations' segment (LowActivations); a base register adds an offset
// within the buffer.
func (k *kernel) lowActivation(m lir.Mem) bool {
	return k.l.Low && m.Buf != nil && k.l.Group[m.Buf] == activations
}

// esPointer: m's address is a proc's pointer to an activation, an offset
// in ES's segment (esOffsets).
func (k *kernel) esPointer(m lir.Mem) bool {
	return m.Buf == nil && (k.l.esOffsets[m.Base] || k.l.esOffsets[m.Index])
}

// addrRegs is the number of registers addr puts in m's address.
func (k *kernel) addrRegs(m lir.Mem) int {
	n := 0
	if m.Buf != nil {
		if _, region := k.l.base(m.Buf); region != 0 {
			n++
		}
	}
	for _, r := range []lir.Reg{m.Base, m.Index} {
		if _, known := k.known(r); r != lir.NoReg && !known {
			n++
		}
	}
	return n
}
