package regalloc

import (
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	x86 "tfc/codegen/x86_16"
)

// size is the bytes of k's code with as's registers (MaxInt where it does
// not assemble).
func size(t *testing.T, k *Kernel, as map[int]x86.Reg) int {
	t.Helper()
	var p x86.Program
	require.NoError(t, Rewrite(k, as, &p))
	n, err := p.Size(0)
	require.NoError(t, err, "size\n%s", p.Listing())
	return n
}

// Two offsets added in one address take the 16-bit form only as bx or
// bp with si or di; an assignment that gives both si and di pays the
// 32-bit form's prefix and SIB byte. Recolor finds the swap that pairs
// them (the chain of v1 with ebx, which the other pointer, v2, holds).
func TestRecolorPairsAnAddress(t *testing.T) {
	k := &Kernel{Name: "pair"}
	k.I(x86.MOV, v0, x86.Imm(0))
	k.I(x86.MOV, v1, x86.Imm(0x100))
	k.I(x86.MOV, v2, x86.Imm(0x200))
	k.Label("top")
	k.I(x86.MOV, v3, x86.D(x86.Ptr32(v0, v1, 1, 0)))
	k.I(x86.ADD, x86.D(x86.Ptr32(v2, x86.NoReg, 1, 0)), v3)
	k.I(x86.ADD, v0, x86.Imm(4))
	k.I(x86.ADD, v2, x86.Imm(4))
	k.I(x86.CMP, v0, x86.Imm(0x40))
	k.I(x86.JB, x86.Label("top"))
	o := Options{}
	bad := map[int]x86.Reg{0: x86.ESI, 1: x86.EDI, 2: x86.EBX, 3: x86.EAX}
	require.NoError(t, verify(k, o, bad), "the starting assignment is valid")
	cost := func(as map[int]x86.Reg) int { return size16(t, k, as) }
	as, err := Recolor(k, o, bad, cost)
	require.NoError(t, err)
	require.NoError(t, verify(k, o, as), "assignment %v", as)
	assert.Less(t, cost(as), cost(bad), "recoloured %v against %v", as, bad)
	pair := []x86.Reg{as[0], as[1]}
	slices.Sort(pair)
	assert.Contains(t, [][]x86.Reg{{x86.EBX, x86.ESI}, {x86.EBX, x86.EDI}, {x86.EBP, x86.ESI}, {x86.EBP, x86.EDI}}, pair,
		"v0 and v1 address memory together: %v", as)
}

// argmaxLoop is argmax's loop: the running maximum v0, from 0x100, the
// element v1 loaded through v2, up to 0x200.
func argmaxLoop() *Kernel {
	k := &Kernel{Name: "argmax"}
	k.I(x86.MOV, v0, x86.D(x86.Abs16(0x100)))
	k.I(x86.MOV, v2, x86.Imm(0x104))
	k.Label("top")
	k.I(x86.MOV, v1, x86.D(x86.Ptr32(v2, x86.NoReg, 1, 0)))
	k.I(x86.ADD, v2, x86.Imm(4))
	k.I(x86.CMP, v1, v0)
	k.I(x86.JLE, x86.Label("less"))
	k.I(x86.MOV, v0, v1)
	k.Label("less")
	k.I(x86.CMP, v2, x86.Imm(0x200))
	k.I(x86.JB, x86.Label("top"))
	return k
}

// Argmax: the running maximum v0, the element v1 loaded through v2. A
// cost that only the element in eax with its pointer in esi lowers (lods)
// needs two swaps at once, each alone no cheaper, which Recolor's single
// Kempe swaps never keep; the hint reaches it by renaming the families.
func TestRecolorHint(t *testing.T) {
	k := argmaxLoop()
	k.I(x86.MOV, x86.D(x86.Abs16(0x100)), v0)
	start := map[int]x86.Reg{0: x86.EAX, 1: x86.ESI, 2: x86.EDI}
	o := Options{}
	require.NoError(t, verify(k, o, start))
	lods := func(as map[int]x86.Reg) int {
		if as[1] == x86.EAX && as[2] == x86.ESI {
			return 0
		}
		return 1
	}
	as, err := Recolor(k, o, start, lods)
	require.NoError(t, err)
	assert.Equal(t, 1, lods(as), "no single swap lowers the cost: %v", as)
	o.Hints = []map[int]x86.Reg{{1: x86.EAX, 2: x86.ESI}}
	as, err = Recolor(k, o, start, lods)
	require.NoError(t, err)
	require.NoError(t, verify(k, o, as), "assignment %v", as)
	assert.Equal(t, 0, lods(as), "hinted: %v", as)
	// A renaming must not give a family the register of a pinned virtual
	// that one of its virtuals meets (v3, pinned to ebx, is live with
	// v0), nor two interfering virtuals one register (a hint of v0 and
	// v1 both to eax), though the cost prefers either.
	k.I(x86.MOV, x86.D(x86.Abs16(0x104)), v3)
	k.Items = append(k.Items[:1:1], append([]Item{{Inst: x86.Inst{Op: x86.MOV, Args: []x86.Operand{v3, x86.Imm(1)}}}}, k.Items[1:]...)...)
	o.Pinned = map[int]x86.Reg{3: x86.EBX}
	start[3] = x86.EBX
	require.NoError(t, verify(k, o, start))
	inEBX := func(as map[int]x86.Reg) int {
		if as[0] == x86.EBX {
			return lods(as)
		}
		return lods(as) + 2
	}
	as, err = Recolor(k, o, start, inEBX)
	require.NoError(t, err)
	require.NoError(t, verify(k, o, as), "assignment %v", as)
	assert.Equal(t, 0, lods(as), "hinted: %v", as)
	o.Hints = []map[int]x86.Reg{{0: x86.EAX, 1: x86.EAX}}
	same := func(as map[int]x86.Reg) int {
		if as[0] == as[1] {
			return 0
		}
		return 1
	}
	as, err = Recolor(k, o, start, same)
	require.NoError(t, err)
	require.NoError(t, verify(k, o, as), "assignment %v", as)
}

// After a hint's renaming, which moves whole families, swaps run again
// from it: argmax's result (v3, a copy of the running maximum v0 after
// the loop, in v0's family) belongs in eax, which the renaming gave the
// element (v1); neither the renaming nor the swaps before it reach both.
func TestRecolorSwapsAfterHint(t *testing.T) {
	k := argmaxLoop()
	k.I(x86.MOV, v3, v0)
	k.I(x86.MOV, x86.D(x86.Abs16(0x100)), v3)
	start := map[int]x86.Reg{0: x86.EAX, 1: x86.ESI, 2: x86.EDI, 3: x86.EAX}
	o := Options{Hints: []map[int]x86.Reg{{1: x86.EAX, 2: x86.ESI}}}
	require.NoError(t, verify(k, o, start))
	cost := func(as map[int]x86.Reg) int {
		c := 0
		if as[1] != x86.EAX || as[2] != x86.ESI {
			c += 2 // no lods
		}
		if as[3] != x86.EAX {
			c++ // the result moved into eax
		}
		return c
	}
	as, err := Recolor(k, o, start, cost)
	require.NoError(t, err)
	require.NoError(t, verify(k, o, as), "assignment %v", as)
	assert.Equal(t, 0, cost(as), "%v", as)
}

// size16 is size with every address whose registers allow it 16-bit, as
// the loop generator's addresses in a segment are.
func size16(t *testing.T, k *Kernel, as map[int]x86.Reg) int {
	t.Helper()
	base := map[x86.Reg]bool{x86.EBX: true, x86.EBP: true}
	index := map[x86.Reg]bool{x86.ESI: true, x86.EDI: true}
	n := size(t, k, as)
	for _, it := range k.Items {
		for _, a := range it.Inst.Args {
			m, ok := a.(x86.Mem)
			if !ok {
				continue
			}
			b, _ := Assigned(m.Base, as)
			i, _ := Assigned(m.Index, as)
			if m.Index == x86.NoReg && (base[b] || index[b]) || base[b] && index[i] || base[i] && index[b] {
				n -= 2 // no address-size prefix, no SIB byte
			}
		}
	}
	return n
}

// Random kernels, random costs: whatever Recolor keeps is valid along
// every path (verify), never costs more than it started with, and is the
// same each time.
func TestRecolorRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	changed := 0
	for i := range 1000 {
		k, o := randomKernel(r, i)
		as, err := Allocate(k, o)
		if err != nil {
			continue
		}
		seed := r.Uint64()
		cost := func(as map[int]x86.Reg) int {
			h := fnv.New64a()
			for v := range 64 {
				if reg, ok := as[v]; ok {
					h.Write([]byte{byte(v), byte(reg), byte(seed)})
				}
			}
			return int(h.Sum64() % 1000)
		}
		if i%2 == 1 { // and hints, at random
			h := map[int]x86.Reg{}
			for range 1 + r.IntN(3) {
				h[r.IntN(10)] = x86.EAX + x86.Reg(r.IntN(8))
			}
			o.Hints = append(o.Hints, h)
		}
		got, err := Recolor(k, o, as, cost)
		require.NoError(t, err)
		require.NoError(t, verify(k, o, got), "recoloured %v from %v (hints %v)\n%s", got, as, o.Hints, k)
		assert.LessOrEqual(t, cost(got), cost(as))
		again, _ := Recolor(k, o, as, cost)
		require.Equal(t, got, again, "not deterministic")
		for v, reg := range as {
			if got[v] != reg {
				changed++
				break
			}
		}
	}
	t.Logf("%d kernels recoloured", changed)
	assert.Greater(t, changed, 100, "kernels whose registers Recolor traded")
}
