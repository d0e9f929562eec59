package loopgen

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	x86 "tfc/codegen/x86_16"
	"tfc/regalloc"
)

// recolored is k allocated with o again, its registers then traded
// where that makes its code smaller (regalloc.Recolor).
func recolored(k *kernel, o regalloc.Options, spill int, last bool) (allocation, error) {
	o.Cost = func(out *regalloc.Kernel, as map[int]x86.Reg, slots int) int {
		p, err := physical(k, out, as, spill, slots, last)
		if err != nil {
			return math.MaxInt
		}
		return allocation{k: p, as: as}.bytes()
	}
	o.Hints = stringHints(k.k.Items)
	return allocateLast(k, o, spill, last)
}

// allocateKernel ends k and allocates it.
func (g *gen) allocateKernel(k *kernel, name, mark string, spill int, ret bool) (allocation, error) {
	if k.err != nil {
		return allocation{}, k.err
	}
	if len(k.segRegs()) > 0 {
		for _, p := range k.calls {
			g.keeps[p] = true
		}
	}
	if ret {
		// A proc keeps its caller's segment registers where a caller
		// holds one across the call: it loaded its own at its entry.
		var saved []x86.Reg
		held := k.segRegs()
		if !g.keeps[k.proc] {
			held = nil
		}
		for _, r := range segRegs {
			if held[r] {
				saved = append(saved, r)
			}
		}
		for i, r := range saved {
			k.entry = slices.Insert(k.entry, i, regalloc.Item{Inst: x86.Inst{Op: x86.PUSH, Args: []x86.Operand{r}}})
		}
		for _, r := range slices.Backward(saved) {
			k.i(x86.POP, r)
		}
		if !k.fallsInto {
			k.i(x86.RET)
		}
		if len(saved) == 0 {
			k.segmentsFirst()
		}
	}
	k.k.Items = append(append(k.prologue, k.entry...), k.k.Items...)
	if k.variant.rebase {
		rebase(&k.k)
	}
	deadCode(&k.k)
	peephole(k.k.Items, g.o.Size)
	o := allocOptions()
	o.Undef = k.undefs
	o.RegisterShifts = g.o.Size
	a, err := allocate(k, o, spill)
	if err != nil {
		return allocation{}, fmt.Errorf("BUG: loopgen: %s (%s): %v", name, mark, err)
	}
	if g.o.Size {
		// Splitting values around loops makes some kernels smaller and
		// others larger: the size policy allocates both ways and keeps
		// the smaller. At -O2 it ran more instructions a token.
		o.Split = true
		if b, err := allocate(k, o, spill); err == nil && b.bytes() < a.bytes() {
			a = b
		}
		a = residents(k, a, spill)
		// And with splits weighed as the push and pop they mostly become
		// (where the allocation spilled or split anything).
		if a.slots > 0 {
			o.SplitsCheap = true
			if b, err := allocate(k, o, spill); err == nil {
				if b = residents(k, b, spill); b.bytes() < a.bytes() {
					a = b
				}
			}
		}
	}
	return a, nil
}

// maxResidents: kernels that spill more gained nothing from trying
// (`tfc size --gen loop` of every example: 8 and 12 alike, where 8 took 4
// bytes off attention in each against 5) and took most of the time
// (stories15M built in 7.2 s with no limit, 0.9 s with 5; mha-random 1.1
// s with 8 against 0.47 with 5, llama2-int8.tf 0.40 against 0.32).
const maxResidents = 8

// residents tries a's allocation again with each value it spilled whole
// kept in a register where anything else can go instead (the allocator
// spills greedily: a value spilled early may have a register free after
// later spills and splits), and keeps each that makes it smaller.
func residents(k *kernel, a allocation, spill int) allocation {
	if len(a.spilled) > maxResidents {
		return a
	}
	for _, v := range a.spilled {
		o := a.o
		o.Resident = maps.Clone(o.Resident)
		if o.Resident == nil {
			o.Resident = map[int]bool{}
		}
		o.Resident[v] = true
		if b, err := allocate(k, o, spill); err == nil && b.bytes() < a.bytes() {
			a = b
		}
	}
	return a
}

// allocation is a kernel allocated: its instructions, their registers
// and its spill slots.
type allocation struct {
	k     *regalloc.Kernel
	as    map[int]x86.Reg
	slots int
	// o allocated it; spilled are the values it spilled whole.
	o       regalloc.Options
	spilled []int
}

// allocate allocates k with o, its spill slots from spill.
func allocate(k *kernel, o regalloc.Options, spill int) (allocation, error) {
	return allocateLast(k, o, spill, false)
}

// allocateLast is allocate, with physical's last.
func allocateLast(k *kernel, o regalloc.Options, spill int, last bool) (allocation, error) {
	o.Addr16 = k.l.Segmented || k.l.Low
	key := cacheKey(k, o, spill, last)
	if a, ok := k.cache.get(key); ok {
		return a, nil
	}
	a, err := allocateAnew(k, o, spill, last)
	if err == nil {
		k.cache.put(key, a)
	}
	return a, err
}

// allocateAnew is allocate, not from the cache.
func allocateAnew(k *kernel, o regalloc.Options, spill int, last bool) (allocation, error) {
	out, as, slots, err := regalloc.AllocateSpilling(&k.k, o, func(i int) x86.Mem {
		return x86.D(x86.Abs16(uint16(spill + 4*i)))
	})
	if err != nil {
		return allocation{}, err
	}
	phys, err := physical(k, out, as, spill, slots, last)
	if err != nil {
		return allocation{}, err
	}
	return allocation{phys, as, slots, o, regalloc.Spilled(&k.k, out)}, nil
}

// physical is out with as's registers, and the peepholes that they allow;
// last (recolored's: for the kernel finish chose), a lone index the base
// first (indexBase).
func physical(k *kernel, out *regalloc.Kernel, as map[int]x86.Reg, spill, slots int, last bool) (*regalloc.Kernel, error) {
	out = &regalloc.Kernel{Name: out.Name, Items: slices.Clone(out.Items)}
	allocated(out.Items, as)
	phys, err := regalloc.Physical(out, as)
	if err != nil {
		return nil, err
	}
	ownSlots := func(m x86.Mem) bool { _, own := ownSlot(m, uint16(spill), uint16(spill+4*slots)); return own }
	if err := regalloc.HoistLoads(phys, allocOptions(), ownSlots, k.keepsSlots(spill)); err != nil {
		return nil, err
	}
	narrow(phys, uint16(spill), uint16(spill+4*slots))
	pushPairs(phys, uint16(spill), uint16(spill+4*slots))
	storeEarly(phys)
	// What narrowing left unread (a clear of eax whose upper half no
	// argument stored as a dword reads any more, before lodsw).
	deadCode(phys)
	movAdd(phys)
	storeLast(phys)
	zeroStore(phys)
	loadFold(phys)
	if k.short {
		if last {
			indexBase(phys)
		}
		countBase(phys, k.l.lowInZero())
		pointerBase(phys, k.l.lowInZero())
		loadAtPointer(phys)
		leaStep(phys)
		lodsLoads(phys)
		lodsDown(phys)
		stosStores(phys, k.l.lowInZero())
		fillWords(phys)
		stepStrings(phys, !k.l.Segmented)
		cdqByte(phys)
		// A clear of eax that the lodsb it copies needed goes; before
		// xchgMoves, whose exchanges read the registers they write.
		if copyParams(phys, uint16(spill), uint16(spill+4*slots), k.l.lowInZero()) {
			deadCode(phys)
		}
		xchgMoves(phys)
		incTwice(phys)
		byteLoads(phys)
		bitIndex(phys)
		stepTest(phys)
		loopCX(phys)
		cmpHigh(phys)
	}
	// Last, DS named for segment 0's activations (lowReg: so that the
	// steps before took their addresses as offsets in a segment) goes.
	for i := range phys.Items {
		phys.Items[i].Inst = withoutDS(phys.Items[i].Inst)
	}
	return phys, nil
}

// bytes is the allocation's code (what it calls or jumps to outside it at
// address 0); what does not assemble counts as endless.
func (a allocation) bytes() int {
	var p x86.Program
	if err := regalloc.Rewrite(a.k, a.as, &p); err != nil {
		return math.MaxInt
	}
	own := map[string]bool{}
	for _, it := range a.k.Items {
		own[it.Label] = true
	}
	outside := map[string]bool{}
	for _, it := range a.k.Items {
		for _, l := range it.Inst.LabelRefs() {
			if !own[l] && !outside[l] {
				outside[l] = true
				p.Equ(l, 0)
			}
		}
	}
	n, err := p.Size(0)
	if err != nil {
		return math.MaxInt
	}
	return n
}

// allocOptions are the allocator's options for every kernel: the
// registers it may give are its defaults, and the low-memory scalars no
// kernel writes are loaded again rather than spilled.
func allocOptions() regalloc.Options {
	o := regalloc.Options{}
	o.Invariant.From, o.Invariant.To = invariantFrom, invariantTo
	return o
}

// A Cache holds the kernels that one Select allocated, for another: the
// size policy builds a model twice (its elementwise ops fused, and not),
// and most of its kernels come out the same, instruction for instruction.
// An allocation is a function of the kernel's instructions and the
// allocator's options alone, so that one made before serves again.
type Cache struct {
	m map[string]allocation
}

// NewCache is an empty cache.
func NewCache() *Cache { return &Cache{m: map[string]allocation{}} }

func (c *Cache) get(key string) (allocation, bool) {
	if c == nil {
		return allocation{}, false
	}
	a, ok := c.m[key]
	return a, ok
}

func (c *Cache) put(key string, a allocation) {
	if c != nil {
		c.m[key] = a
	}
}

// cacheKey is what allocate's result depends on: the kernel's
// instructions, the options that vary between its calls, the spill slots'
// base, whether the size policy's peepholes run, and physical's last.
func cacheKey(k *kernel, o regalloc.Options, spill int, last bool) string {
	var sb strings.Builder
	for _, it := range k.k.Items {
		fmt.Fprintf(&sb, "%s|%s|%v|%v|%x\n", it.Label, regalloc.InstString(it.Inst), it.Reads, it.Clobbers, it.Data)
	}
	fmt.Fprint(&sb, spill, k.short, o.Addr16, o.Split, o.SplitsCheap, o.RegisterShifts, o.Cost != nil, slices.Sorted(maps.Keys(o.Resident)), o.Undef, last)
	return sb.String()
}

// keepsSlots: a call leaves the spill slots from spill as they were. An
// op's slots lie below every proc's, and the routines (rshr, lookup,
// mac2, the runtime's) spill nothing; a proc's calls of procs may spill
// into its own.
func (k *kernel) keepsSlots(spill int) func(in x86.Inst) bool {
	return func(in x86.Inst) bool {
		if spill < procSpillBase {
			return true
		}
		for _, l := range in.LabelRefs() {
			for _, p := range k.f.Procs {
				if p.Name == l {
					return false
				}
			}
		}
		return true
	}
}
