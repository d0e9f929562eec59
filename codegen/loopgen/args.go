package loopgen

import (
	"encoding/binary"
	"fmt"
	"slices"

	x86 "tfc/codegen/x86_16"
	"tfc/lir"
	"tfc/regalloc"
)

// A proc's arguments arrive in registers (eax, ecx, edx, ebx, esi, edi,
// ebp, the first seven 32-bit ones), else in low-memory slots. An
// argument that every call passes as a constant may instead follow the
// call as data, a byte, a word or a dword, which the proc reads through its
// return address and steps over: "call proc; dw 64, 172" where the
// register form takes six bytes a value. The size policy's procs are
// called from several places with different constants (a matmul's rows,
// columns, vectors), so this is where their calls' bytes go.

// passing is how a proc's calls pass its arguments.
type passing struct {
	args []argLoc // by param
	data int      // bytes after each call
	// order is the inline params' indices as their data follows a call
	// (readRank).
	order []int
	// offsets: by call, the offsets of its params with a base.
	offsets map[*lir.Node][]int64
	// values: by call, each argument's value where it is a constant
	// (an offset where the param has a base).
	values map[*lir.Node][]int64
	// peeks: some params lie in the next proc's data (peekArgs).
	peeks bool
}

// argLoc is where one argument goes: a register, else its slot (by the
// param's index), or the data after the call (inline).
type argLoc struct {
	reg    x86.Reg
	inline bool
	width  int // inline: 1 or 2 (zero-extended), or 4
	// below: every call passes a constant in [0, below) (0: not known).
	below int64
	// aligned (inline, no base): every call passes a multiple of 4, which
	// the proc's read of it tells Aligned (regalloc.Item.Aligned), so
	// that a dword string instruction may step it (stepStrings).
	aligned bool
	// slot: a segment that every call leaves in this low-memory word
	// (the layer's, in the layer loop, or its value after the loop),
	// which the proc reads itself (layerSlotArgs): the call passes
	// nothing.
	slot uint16
	// word: a register's, every call a constant below 0x10000, which
	// the call passes as the register's low word (mov ax, imm16: 3 bytes,
	// where mov eax, imm32 takes 6) and the proc zero-extends (a movzx,
	// which narrow makes a mov where the upper half is not read).
	word bool
	// base: the layer slot that the proc adds to the offset each call
	// passes as data (layerOffsetArgs; passing.offsets holds them).
	base uint16
	// peek (inline): the call passes nothing; the proc reads the value
	// at offset at of the data of the proc it falls into (peekArgs).
	peek bool
	at   int
}

// inlineRegs pass the register arguments of a proc with inline ones: esi
// holds the data's address while the proc reads it.
var inlineRegs = []x86.Reg{x86.EAX, x86.ECX, x86.EDX, x86.EBX, x86.EDI, x86.EBP}

// argRegs are the registers that pass a proc's first 32-bit arguments.
var argRegs = []x86.Reg{x86.EAX, x86.ECX, x86.EDX, x86.EBX, x86.ESI, x86.EDI, x86.EBP}

// planPassing decides, for each proc of f, which arguments follow its
// calls as data: those every call passes as a constant, where the bytes
// the calls save pay for the proc's reads (lodsw or lodsd, and a move
// from eax) and its entry's pop, push and clearing of eax.
func planPassing(f *lir.Func, l *Layout, layers int) map[*lir.Proc]*passing {
	slots := layerSlotArgs(f, l, layers)
	offs := layerOffsetArgs(f, l, layers)
	vals := map[*lir.Proc][][]int64{} // by param, each call's value
	movs := map[*lir.Proc][][]int{}   // by param, each call's bytes to pass it in a register
	konst := map[*lir.Proc][]bool{}   // by param: constant in every call
	values := map[*lir.Node][]int64{} // by call, each argument's
	for _, op := range ops(f) {
		c := constants(f, l, op.Body)
		lir.Walk(op.Body, func(n *lir.Node) {
			if n.Kind != lir.NCall {
				return
			}
			if vals[n.Proc] == nil {
				vals[n.Proc] = make([][]int64, len(n.Args))
				movs[n.Proc] = make([][]int, len(n.Args))
				konst[n.Proc] = make([]bool, len(n.Args))
				for i := range konst[n.Proc] {
					konst[n.Proc][i] = true
				}
			}
			for i, a := range n.Args {
				v, ok := c[a]
				if offs.of(n.Proc, i) != 0 {
					v, ok = offs.off[n][i], true
				}
				konst[n.Proc][i] = konst[n.Proc][i] && ok && f.Types[a] == lir.I32
				vals[n.Proc][i] = append(vals[n.Proc][i], v)
				values[n] = append(values[n], v)
				mov := 6 // mov r32, imm32
				switch {
				case offs.of(n.Proc, i) != 0:
					mov = offs.movBytes(n, i, l.Segmented)
				case v == 0:
					mov = 3 // xor r32, r32
				}
				movs[n.Proc][i] = append(movs[n.Proc][i], mov)
			}
		})
	}
	plan := map[*lir.Proc]*passing{}
	for _, pr := range f.Procs {
		pass := &passing{args: make([]argLoc, len(pr.Params)), offsets: offs.off, values: values}
		saved := -5 // pop si, push si, xor eax, eax
		below := make([]int64, len(pr.Params))
		for i := range pr.Params {
			if konst[pr] == nil || !konst[pr][i] || slots.of(pr, i) != 0 {
				continue
			}
			base := offs.of(pr, i)
			width, net := 1, -4 // lodsb, mov r, eax
			// An offset's add (its move from eax, which a register
			// argument arriving in eax takes too, left out).
			switch {
			case base != 0 && l.Segmented:
				width, net = 2, -1-4 // lodsw, add ax, [slot]
			case base != 0:
				width, net = 4, -2-5 // lodsd, add eax, [slot]
			default:
				below[i] = bound(vals[pr][i])
				for _, v := range vals[pr][i] {
					switch {
					case v < 0 || v > 0xFFFF:
						width, net = 4, -5 // lodsd, mov r, eax
					case v > 0xFF && width == 1:
						width = 2 // lodsw
					}
				}
			}
			for _, mov := range movs[pr][i] {
				net += mov - width
			}
			if net > 0 {
				pass.args[i] = argLoc{inline: true, width: width, base: base, aligned: base == 0 && allAligned(vals[pr][i])}
				pass.data += width
				pass.order = append(pass.order, i)
				saved += net
			}
		}
		if saved <= 0 || pass.data > 127 {
			pass = &passing{args: make([]argLoc, len(pr.Params))}
		}
		slices.SortStableFunc(pass.order, func(a, b int) int { return readRank(pass.args[a].width) - readRank(pass.args[b].width) })
		j := 0 // with inline arguments: the next of inlineRegs
		for i, r := range pr.Params {
			a := &pass.args[i]
			a.reg, a.below, a.slot = x86.NoReg, below[i], slots.of(pr, i)
			switch {
			case a.inline || a.slot != 0 || f.Types[r] == lir.I64:
			case pass.data == 0 && i < len(argRegs):
				a.reg = argRegs[i]
			case pass.data > 0 && j < len(inlineRegs):
				a.reg = inlineRegs[j]
				j++
			}
			a.word = a.reg != x86.NoReg && konst[pr] != nil && konst[pr][i] && below[i] > 0 && below[i] <= 0x10000
		}
		plan[pr] = pass
	}
	return plan
}

// allAligned: every value is a multiple of 4.
func allAligned(vals []int64) bool {
	for _, v := range vals {
		if v%4 != 0 {
			return false
		}
	}
	return true
}

// layerSlotArgs are, by proc and param, the layer slots (addrLayerW,
// addrLayerC) that hold a segment param's value at every call: each call
// in the layer loop passes the layer's group in that slot, and each
// after it a constant (or a global group's segment, stored once) equal
// to the slot's value after the last layer (the segmented layout puts
// what follows the layers' regions there: the activations', with
// llama2-int8.tf's final norm and logits; untied-random's classifier,
// a group of its own). The proc
// reads the slot (mov fs, [0x1004]: 4 bytes, where its entry's mov fs,
// ax took 2 and each call's mov ax took 3). Not where a call comes
// before the loop (the slot is set at its start), nor where the proc
// uses the param other than as a segment.
func layerSlotArgs(f *lir.Func, l *Layout, layers int) slotArgs {
	out := slotArgs{}
	if !l.Segmented {
		return out
	}
	after := l.slotsAfter(layers)
	bad := map[*lir.Proc][]bool{}
	note := func(pr *lir.Proc, i int, slot uint16) {
		if out[pr] == nil {
			out[pr], bad[pr] = make([]uint16, len(pr.Params)), make([]bool, len(pr.Params))
		}
		switch {
		case slot == 0 || out[pr][i] != 0 && out[pr][i] != slot:
			bad[pr][i] = true
		default:
			out[pr][i] = slot
		}
	}
	scan := func(op *lir.Node, where place) {
		c := constants(f, l, op.Body)
		seg := map[lir.Reg]uint16{} // the layer slots' groups' segments
		lir.Walk(op.Body, func(n *lir.Node) {
			if n.Kind != lir.NInst || n.Inst.Op != lir.OpSeg {
				return
			}
			gr := l.Group[n.Inst.Mem.Buf]
			if gr.Add == 0 && (gr.Slot == addrLayerW || gr.Slot == addrLayerC) {
				seg[n.Inst.Dst] = gr.Slot
			}
			if seg, ok := l.globalSeg(n.Inst.Mem.Buf); ok && gr.Add == 0 {
				c[n.Inst.Dst] = int64(seg) // a global group's, stored once
			}
		})
		lir.Walk(op.Body, func(n *lir.Node) {
			if n.Kind != lir.NCall {
				return
			}
			for i, a := range n.Args {
				slot := uint16(0)
				switch v, known := c[a]; {
				case where == inLayers:
					slot = seg[a]
				case where == afterLayers && known:
					for s, end := range after {
						if uint16(end) == uint16(v) && v >= 0 && v < 0x10000 {
							slot = s
						}
					}
				}
				note(n.Proc, i, slot)
			}
		})
	}
	forOps(f, scan)
	for pr, ss := range out {
		other := usedOtherwise(pr.Body)
		for i, r := range pr.Params {
			if bad[pr][i] || other[r] {
				ss[i] = 0
			}
		}
	}
	return out
}

// place is where forward runs an op: before the layer loop, in it, after.
type place uint8

const (
	beforeLayers place = iota
	inLayers
	afterLayers
)

// forOps calls fn with each of forward's ops and its place.
func forOps(f *lir.Func, fn func(op *lir.Node, where place)) {
	where := beforeLayers
	for _, n := range f.Body {
		switch n.Kind {
		case lir.NLayers:
			for _, op := range n.Body {
				fn(op, inLayers)
			}
			where = afterLayers
		case lir.NOp:
			fn(n, where)
		}
	}
}

// slotArgs are layerSlotArgs' slots, by proc and param (0: none).
type slotArgs map[*lir.Proc][]uint16

func (s slotArgs) of(pr *lir.Proc, i int) uint16 {
	if s[pr] == nil {
		return 0
	}
	return s[pr][i]
}

// bound is one more than the largest of vals, where none is negative
// (else 0: no bound).
func bound(vals []int64) int64 {
	b := int64(0)
	for _, v := range vals {
		if v < 0 {
			return 0
		}
		b = max(b, v+1)
	}
	return b
}

// ops lists f's op nodes (the layer block's too).
func ops(f *lir.Func) []*lir.Node {
	var out []*lir.Node
	lir.Walk(f.Body, func(n *lir.Node) {
		if n.Kind == lir.NOp {
			out = append(out, n)
		}
	})
	return out
}

// constants are the registers of nodes written once with a value known
// when compiling: by OpConst, by OpSeg of the activations (segmented:
// activationsSeg), or by OpAddr of a buffer's place that does not move
// (segmented, any buffer's offset; flat, a global buffer's address, or
// an activation's offset in ES's segment: esOffsets).
func constants(f *lir.Func, l *Layout, nodes []*lir.Node) map[lir.Reg]int64 {
	nd := defs(nodes, len(f.Types))
	c := map[lir.Reg]int64{}
	lir.Walk(nodes, func(x *lir.Node) {
		if x.Kind != lir.NInst || x.Inst.Dst == lir.NoReg || nd[x.Inst.Dst] != 1 {
			return
		}
		switch in := &x.Inst; in.Op {
		case lir.OpConst:
			c[in.Dst] = in.Imm
		case lir.OpSeg:
			if l.Segmented && l.Group[in.Mem.Buf] == activations {
				c[in.Dst] = int64(l.activationsSeg())
			} else if l.Segmented && l.Group[in.Mem.Buf] == zeroGroup {
				c[in.Dst] = 0
			}
		case lir.OpAddr:
			m := in.Mem
			if m.Buf == nil || m.Base != lir.NoReg || m.Index != lir.NoReg {
				return
			}
			if a, region := l.base(m.Buf); l.esOffsets[in.Dst] {
				c[in.Dst] = int64(a) - int64(l.LowBase) + m.Disp
			} else if region == 0 {
				c[in.Dst] = int64(int32(int64(a) + m.Disp))
			}
		}
	})
	return c
}

// call passes a proc's arguments, each in its register, its slots or
// the data after the call (passing), and calls it (a call clobbers every
// register, and reads those it passes: the allocator knows).
func (k *kernel) call(n *lir.Node) {
	pass := k.pass[n.Proc]
	k.calls = append(k.calls, n.Proc)
	// The register arguments' sources first: what a source needs (a
	// register for a value in memory, say) must not find the arguments'
	// registers taken.
	var reads []x86.Reg
	var srcs []x86.Operand
	var words []bool // a segment, passed as the register's low word
	var data []byte
	for _, i := range pass.order {
		v, ok := k.konst[n.Args[i]]
		if pass.args[i].base != 0 {
			v, ok = pass.offsets[n][i], true
		}
		if !ok {
			panic(fmt.Sprintf("BUG: loopgen: %s: argument %d of %s is no constant", k.name, i, n.Proc.Name))
		}
		switch pass.args[i].width {
		case 1:
			data = append(data, byte(v))
		case 2:
			data = binary.LittleEndian.AppendUint16(data, uint16(v))
		default:
			data = binary.LittleEndian.AppendUint32(data, uint32(v))
		}
	}
	for i, a := range n.Args {
		loc := pass.args[i]
		switch {
		case loc.inline || loc.slot != 0: // in data, above; in its slot
		case loc.reg != x86.NoReg:
			reads, srcs = append(reads, loc.reg), append(srcs, k.src(a))
			words = append(words, k.seg16[a] || loc.word)
		default:
			k.i(x86.MOV, argSlot(i, false), k.regOrImm(a, false))
			if k.is64(a) {
				k.i(x86.MOV, argSlot(i, true), k.regOrImm(a, true))
			}
		}
	}
	for i, r := range reads {
		if words[i] {
			// A segment: its low word (passedSegments), all the call
			// reads (ebx read would keep bx's upper half live above).
			reads[i] = sized(r, 16)
		}
		k.i(x86.MOV, reads[i], srcs[i])
	}
	k.i(x86.CALL, x86.Label(n.Proc.Name))
	k.k.Items[len(k.k.Items)-1].Reads = reads
	k.k.Items[len(k.k.Items)-1].Data = data
}

// params starts a proc's kernel with its params (the prologue, before
// anything the proc pushes): moved from their registers, left in their
// slots (inMem), or read from the data after its call, whose end then
// becomes its return address. The moves come first: the registers that
// arrive holding arguments are then free, and their values may spill.
func (k *kernel) params(pr *lir.Proc) {
	pass := k.pass[pr]
	item := func(op x86.Op, args ...x86.Operand) {
		k.prologue = append(k.prologue, regalloc.Item{Inst: x86.Inst{Op: op, Args: args}})
	}
	for i, r := range pr.Params {
		if b := pass.args[i].below; b > 0 {
			k.below[r] = b
		}
		switch loc := pass.args[i]; {
		case loc.slot != 0:
			k.inMem[r] = x86.W(x86.Abs16(loc.slot))
		case loc.word:
			item(x86.MOVZX, k.dst(r), sized(loc.reg, 16))
		case loc.reg != x86.NoReg:
			item(x86.MOV, k.dst(r), loc.reg)
		case !loc.inline:
			k.inMem[r] = argSlot(i, false)
		}
	}
	if pass.data == 0 && !pass.peeks {
		return
	}
	// lodsb, lodsw or lodsd reads each in turn into eax (the direction
	// flag is clear from the boot on): a byte or a word leaves the rest of
	// eax, cleared before the first (the dwords come first, bytes before
	// words: readRank).
	item(x86.POP, x86.SI)
	clean := false
	for _, i := range pass.order {
		op := x86.LODSD
		if w := pass.args[i].width; w < 4 {
			if !clean {
				item(x86.XOR, x86.EAX, x86.EAX)
				clean = true
			}
			op = x86.LODSW
			if w == 1 {
				op = x86.LODSB
			}
		}
		item(op)
		k.prologue[len(k.prologue)-1].Aligned = pass.args[i].aligned
		if b := pass.args[i].base; b != 0 {
			k.prologue = append(k.prologue, regalloc.Item{Inst: addSlot(b, k.l.Segmented)})
		}
		item(x86.MOV, k.dst(pr.Params[i]), x86.EAX)
	}
	for i, r := range pr.Params {
		if loc := pass.args[i]; loc.peek {
			k.peek(r, loc.width, loc.at)
		}
	}
	item(x86.PUSH, x86.SI)
}

// regOrImm is r (or its high dword) as a register or an immediate: what
// a store to memory takes.
func (k *kernel) regOrImm(r lir.Reg, hi bool) x86.Operand {
	if _, ok := k.konst[r]; ok {
		op, _ := k.operand(r, hi)
		return op
	}
	if hi {
		return k.hiReg(r)
	}
	return k.reg(r)
}

// argSlot is where a proc's i-th argument waits (hi: its high dword).
func argSlot(i int, hi bool) x86.Mem {
	a := addrArgs + 8*i
	if hi {
		a += 4
	}
	if a+4 > addrArgsEnd {
		panic(fmt.Sprintf("BUG: loopgen: argument %d past the argument slots", i))
	}
	return x86.D(x86.Abs16(uint16(a)))
}

// passedSegments: a segment (OpSeg of a group with nothing added to its
// slot) that the kernel only passes to procs in registers, each proc
// using it only as a segment, stays in its slot: the call loads the
// register's low word (mov ax, [slot]: 3 bytes, where movzx eax is 5),
// its upper half left as it was, which a segment register never reads.
// The activations' segment, a constant, is the word's immediate (mov ax,
// imm16: 3 bytes, where mov eax, imm32 is 6).
func (k *kernel) passedSegments(nodes []*lir.Node) {
	slots := map[lir.Reg]uint16{}
	lir.Walk(nodes, func(n *lir.Node) {
		if n.Kind == lir.NInst && n.Inst.Op == lir.OpSeg && k.nd[n.Inst.Dst] == 1 {
			if gr := k.l.Group[n.Inst.Mem.Buf]; gr.Add == 0 {
				slots[n.Inst.Dst] = gr.Slot
			}
		}
	})
	other := usedOtherwise(nodes)
	inProc := map[*lir.Proc]map[lir.Reg]bool{}
	lir.Walk(nodes, func(n *lir.Node) {
		if n.Kind != lir.NCall {
			return
		}
		if inProc[n.Proc] == nil {
			inProc[n.Proc] = usedOtherwise(n.Proc.Body)
		}
		for i, a := range n.Args {
			if k.pass[n.Proc].args[i].reg == x86.NoReg || inProc[n.Proc][n.Proc.Params[i]] {
				other[a] = true
			}
		}
	})
	for r, slot := range slots {
		if other[r] {
			continue
		}
		k.seg16[r] = true
		if _, ok := k.konst[r]; !ok {
			k.inMem[r] = x86.W(x86.Abs16(slot))
		}
	}
}

// usedOtherwise are the registers that nodes use other than as a
// segment (a BufSegment's) or a call's argument: read by an instruction,
// a loop's count or an if's condition.
func usedOtherwise(nodes []*lir.Node) map[lir.Reg]bool {
	used := map[lir.Reg]bool{}
	lir.Walk(nodes, func(n *lir.Node) {
		switch n.Kind {
		case lir.NInst:
			for _, r := range n.Inst.Reads() {
				used[r] = true
			}
		case lir.NLoop:
			for _, r := range n.LoopReads() {
				used[r] = true
			}
		case lir.NIf:
			used[n.Cond] = true
		}
	})
	return used
}

// segmentsFirst loads a proc's segment registers from the arguments that
// arrive in registers before anything else (where it keeps none of its
// caller's, which it would push first): mov fs, ax, where the argument's
// copy, which lodsw's eax would need moved, then goes unread (deadCode).
func (k *kernel) segmentsFirst() {
	pass := k.pass[k.proc]
	var first []regalloc.Item
	for i, r := range k.proc.Params {
		in := pass.args[i].reg
		if in == x86.NoReg {
			continue
		}
		v := v16(k.dst(r))
		entry := k.entry[:0]
		for _, it := range k.entry {
			a := it.Inst.Args
			if it.Inst.Op == x86.MOV && len(a) == 2 && a[1] == x86.Operand(v) && slices.ContainsFunc(segRegs, func(r x86.Reg) bool { return a[0] == x86.Operand(r) }) {
				it.Inst = x86.Inst{Op: x86.MOV, Args: []x86.Operand{a[0], in - x86.EAX + x86.AX}}
				first = append(first, it)
				continue
			}
			entry = append(entry, it)
		}
		k.entry = entry
	}
	k.prologue = append(first, k.prologue...)
}

// readRank orders a proc's inline params by width: dwords, then bytes,
// then words, so that one xor eax, eax after the dwords clears what lodsb
// and lodsw leave. A param spilled across the proc goes to the stack in
// a byte where it is read last (prologuePair: push ax, where its bytes in
// the data take 3), and the size policy's procs have their destinations
// among the narrow ones (tfc size --gen loop: llama2.tf 1 byte fewer than
// with bytes, words, then dwords; the flat gpt2-random 2 more).
func readRank(width int) int { return (width + 1) % 5 }
