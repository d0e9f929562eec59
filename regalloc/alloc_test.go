package regalloc

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	x86 "tfc/codegen/x86_16"
)

// allocOK allocates, verifies the result along every path, rewrites and
// assembles it, and returns the assignment and the rewritten listing.
func allocOK(t *testing.T, k *Kernel, o Options) (map[int]x86.Reg, *x86.Program) {
	t.Helper()
	as, err := Allocate(k, o)
	require.NoError(t, err, "Allocate\n%s", k)
	require.NoError(t, verify(k, o, as), "verify\nassignment %v\n%s", as, k)
	var p x86.Program
	require.NoError(t, Rewrite(k, as, &p), "Rewrite")
	_, err = p.Assemble(0x1000)
	require.NoError(t, err, "Assemble\n%s", p.Listing())
	return as, &p
}

func allocErr(t *testing.T, k *Kernel, o Options, want ...string) {
	t.Helper()
	as, err := Allocate(k, o)
	require.Error(t, err, "assignment %v\n%s", as, k)
	for _, w := range want {
		assert.ErrorContains(t, err, w)
	}
}

var (
	v0, v1, v2, v3, v4, v5, v6, v7 = V(0), V(1), V(2), V(3), V(4), V(5), V(6), V(7)
	mx, my, mz                     = x86.D(x86.Abs32(0x2000)), x86.D(x86.Abs32(0x2004)), x86.D(x86.Abs32(0x2008))
)

func TestNothingLiveAcrossMulInEaxEdx(t *testing.T) {
	k := &Kernel{Name: "mul"}
	k.I(x86.MOV, v0, mx)
	k.I(x86.MOV, v1, my)
	k.I(x86.MOV, v2, x86.Imm(7))
	k.I(x86.MOV, v3, x86.Imm(9))
	k.I(x86.MOV, x86.EAX, v0)
	k.I(x86.MUL, v1)
	k.I(x86.ADD, v2, x86.EAX)
	k.I(x86.ADC, v3, x86.EDX)
	k.I(x86.MOV, mz, v2)
	k.I(x86.MOV, mz, v3)
	as, _ := allocOK(t, k, Options{})
	for _, n := range []int{2, 3} {
		assert.NotContains(t, []x86.Reg{x86.EAX, x86.EDX}, as[n], "v%d, live across mul, is in %s", n, as[n])
	}
	assert.NotEqual(t, x86.EAX, as[1], "v1: assignment %v", as)
	assert.NotEqual(t, as[2], as[3], "v2 and v3: assignment %v", as)
	assert.Equal(t, x86.EAX, as[0], "v0 is moved to eax and dies: want eax (the mov disappears), got %s", as[0])
}

func TestPinsAndConvention(t *testing.T) {
	// v0 = pointer (esi), v1 = count (ecx), result v2 in edi.
	k := &Kernel{Name: "sum"}
	k.I(x86.XOR, v2, v2)
	k.Label("top")
	k.I(x86.ADD, v2, x86.D(x86.Ptr32(v0, v1, 4, -4)))
	k.I(x86.DEC, v1)
	k.I(x86.JNE, x86.Label("top"))
	o := Options{Pinned: map[int]x86.Reg{0: x86.ESI, 1: x86.ECX, 2: x86.EDI}, LiveIn: []int{0, 1}, LiveOut: []int{2}}
	as, p := allocOK(t, k, o)
	assert.Empty(t, cmp.Diff(map[int]x86.Reg{0: x86.ESI, 1: x86.ECX, 2: x86.EDI}, as), "assignment (-want +got)")
	assert.Contains(t, p.Listing(), "add edi, dword [esi+ecx*4-0x4]", "listing")
}

func TestDeterministic(t *testing.T) {
	k := dotKernel()
	o := dotOptions()
	first, p := allocOK(t, k, o)
	want := p.Listing()
	for i := 0; i < 20; i++ {
		as, p := allocOK(t, k, o)
		require.Empty(t, cmp.Diff(first, as), "run %d differs (-first +this)", i)
		require.Equal(t, want, p.Listing(), "run %d: listing", i)
	}
}

func TestTooManyLiveValues(t *testing.T) {
	k := &Kernel{Name: "wide"}
	for i := 0; i < 8; i++ {
		k.I(x86.MOV, V(i), x86.Imm(int64(i)))
	}
	for i := 1; i < 8; i++ {
		k.I(x86.ADD, v0, V(i))
	}
	allocErr(t, k, Options{LiveOut: []int{0}},
		"kernel wide: 8 values live at once at item 7 (mov v7, 0x7), only 7 registers: v0 v1 v2 v3 v4 v5 v6 v7")
	// With fewer registers allowed, fewer values fit; mul fixes eax and edx.
	k = &Kernel{Name: "narrow"}
	k.I(x86.MOV, v3, mx)
	k.I(x86.MOV, x86.EAX, my)
	k.I(x86.MUL, mz)
	k.I(x86.ADD, v3, x86.EAX)
	k.I(x86.ADD, v3, x86.EDX)
	k.I(x86.MOV, mz, v3)
	o := Options{Allowed: []x86.Reg{x86.EAX, x86.EDX, x86.EBX}}
	allocOK(t, k, o)
	k.Items = append([]Item{{Inst: x86.Inst{Op: x86.MOV, Args: []x86.Operand{v4, mx}}}}, k.Items...)
	k.I(x86.MOV, mz, v4)
	allocErr(t, k, o, "kernel narrow: 4 values live at once at item 3 (mul dword [dword 0x2008]), only 3 registers: eax edx v3 v4")
}

func TestConflictingPins(t *testing.T) {
	k := &Kernel{Name: "pins"}
	k.I(x86.ADD, v0, v1)
	allocErr(t, k, Options{Pinned: map[int]x86.Reg{0: x86.ESI, 1: x86.ESI}, LiveIn: []int{0, 1}, LiveOut: []int{0}},
		"conflicting pins: v0 and v1 are both pinned to esi but live at once (at entry)")
	// Two pins on one register are fine when the values do not overlap.
	k = &Kernel{Name: "pins"}
	k.I(x86.MOV, v1, v0)
	k.I(x86.ADD, v1, x86.Imm(1))
	allocOK(t, k, Options{Pinned: map[int]x86.Reg{0: x86.ESI, 1: x86.ESI}, LiveIn: []int{0}, LiveOut: []int{1}})

	// A pin against a fixed register.
	k = &Kernel{Name: "fixed"}
	k.I(x86.MOV, x86.EAX, v1)
	k.I(x86.MUL, v1)
	k.I(x86.ADD, v0, x86.EAX)
	allocErr(t, k, Options{Pinned: map[int]x86.Reg{0: x86.EDX}, LiveIn: []int{0, 1}, LiveOut: []int{0}},
		"v0 is pinned to edx, but edx holds another value while v0 is live (at item 1 (mul v1))")
	// A pin the uses forbid, and pins that are not registers to give.
	k = &Kernel{Name: "byte"}
	k.I(x86.MOV, V8(0), x86.Imm(1))
	allocErr(t, k, Options{Pinned: map[int]x86.Reg{0: x86.ESI}, LiveIn: []int{0}}, "v0 is pinned to esi, which its uses do not allow")
	allocErr(t, k, Options{Pinned: map[int]x86.Reg{0: x86.ESP}, LiveIn: []int{0}}, "v0 is pinned to esp")
	allocErr(t, k, Options{Pinned: map[int]x86.Reg{0: x86.AX}, LiveIn: []int{0}}, "v0 is pinned to ax")
}

func TestUseBeforeDefinition(t *testing.T) {
	k := &Kernel{Name: "undef"}
	k.I(x86.MOV, v0, x86.Imm(1))
	k.I(x86.ADD, v0, v1)
	allocErr(t, k, Options{}, "kernel undef: v1 may be used before any definition (first read at item 1 (add v0, v1))")
	// Defined on one path only.
	k = &Kernel{Name: "path"}
	k.I(x86.CMP, x86.EAX, x86.Imm(0))
	k.I(x86.JE, x86.Label("skip"))
	k.I(x86.MOV, v0, x86.Imm(1))
	k.Label("skip")
	k.I(x86.MOV, mx, v0)
	allocErr(t, k, Options{}, "v0 may be used before any definition")
	// A byte write does not define the rest.
	k = &Kernel{Name: "part"}
	k.I(x86.MOV, V8(0), x86.Imm(1))
	k.I(x86.MOV, mx, v0)
	allocErr(t, k, Options{}, "v0 may be used before any definition", "define it in full first")
	// A result that is never computed.
	k = &Kernel{Name: "result"}
	k.I(x86.NOP)
	allocErr(t, k, Options{LiveOut: []int{3}}, "v3 may be used before any definition (only at exit")
	// A byte write and byte reads only: fine.
	k = &Kernel{Name: "bytes"}
	k.I(x86.MOV, V8(0), x86.Imm(1))
	k.I(x86.ADD, x86.B(x86.Abs16(0x500)), V8(0))
	allocOK(t, k, Options{})
}

func TestViewAndAddressConstraints(t *testing.T) {
	// Six bytes-capable values wanted, four byte registers: the byte
	// views must land in eax..ebx.
	k := &Kernel{Name: "bytes"}
	for i := 0; i < 4; i++ {
		k.I(x86.MOVZX, V(i), x86.B(x86.Abs16(uint16(0x500+i))))
	}
	for i := 0; i < 4; i++ {
		k.I(x86.ADD, x86.B(x86.Abs16(0x600)), V8(i))
	}
	as, _ := allocOK(t, k, Options{})
	for i := 0; i < 4; i++ {
		assert.LessOrEqual(t, as[i], x86.EBX, "v%d used as a byte got %s", i, as[i])
	}
	k.I(x86.MOV, V(4), x86.Imm(0))
	k.Items = append([]Item{{Inst: x86.Inst{Op: x86.MOV, Args: []x86.Operand{V(4), x86.Imm(0)}}}}, k.Items...)
	k.Items = append([]Item{{Inst: x86.Inst{Op: x86.MOV, Args: []x86.Operand{x86.EBX, x86.Imm(0)}}}}, k.Items...)
	k.I(x86.ADD, V(4), x86.EBX)
	allocErr(t, k, Options{}, "no register left for v", "it may only get eax ecx edx ebx", "ebx is fixed at item")

	// Address registers never get ebp (it would address the stack segment)
	// unless the operand has a segment override.
	k = &Kernel{Name: "addr"}
	for i := 0; i < 7; i++ {
		k.I(x86.MOV, V(i), x86.Imm(int64(0x100*i)))
	}
	for i := 0; i < 6; i++ {
		k.I(x86.ADD, x86.D(x86.Ptr32(V(i), x86.NoReg, 1, 0)), V(6))
	}
	as, _ = allocOK(t, k, Options{})
	assert.Equal(t, x86.EBP, as[6], "the only non-address value should get ebp: %v", as)
	k.I(x86.ADD, x86.D(x86.Ptr32(V(6), x86.NoReg, 1, 0)), x86.Imm(1))
	allocErr(t, k, Options{}, "no register left for v")
	k.Items[len(k.Items)-1].Inst.Args[0] = x86.D(x86.Ptr32(V(6), x86.NoReg, 1, 0).In(x86.DS))
	allocOK(t, k, Options{})

	// 16-bit addressing: base in bx, index in si or di.
	k = &Kernel{Name: "addr16"}
	k.I(x86.MOV, v0, x86.Imm(0x500))
	k.I(x86.MOV, v1, x86.Imm(2))
	k.I(x86.MOV, v2, x86.Imm(0x600))
	k.I(x86.MOV, x86.AX, x86.W(x86.Ptr16(V16(0), V16(1), 0)))
	k.I(x86.MOV, x86.W(x86.Ptr16(x86.BP, V16(2), 0)), x86.AX)
	as, p := allocOK(t, k, Options{})
	assert.Equal(t, x86.EBX, as[0], "16-bit base register: %v\n%s", as, p.Listing())
	assert.Contains(t, []x86.Reg{x86.ESI, x86.EDI}, as[1], "16-bit index register: %v\n%s", as, p.Listing())
	assert.Contains(t, []x86.Reg{x86.ESI, x86.EDI}, as[2], "16-bit index register: %v\n%s", as, p.Listing())
}

func TestPreferences(t *testing.T) {
	// A value used with long immediates goes to eax.
	k := &Kernel{Name: "acc"}
	k.I(x86.MOV, v1, mx)
	k.I(x86.MOV, v0, my)
	k.I(x86.ADD, v0, x86.Imm(100000))
	k.I(x86.CMP, v0, x86.Imm(5000))
	k.I(x86.ADC, v1, v0)
	k.I(x86.MOV, mz, v1)
	as, _ := allocOK(t, k, Options{})
	assert.Equal(t, x86.EAX, as[0], "v0 got %s, want eax", as[0])
	// mov partners share a register and the mov disappears.
	k = &Kernel{Name: "moves"}
	k.I(x86.MOV, v0, mx)
	k.I(x86.MOV, x86.ECX, v0)
	k.I(x86.SHL, x86.EAX, x86.CL)
	k.I(x86.MOV, v1, x86.EAX)
	k.I(x86.MOV, mz, v1)
	as, p := allocOK(t, k, Options{})
	assert.Equal(t, x86.ECX, as[0], "v0: assignment %v", as)
	assert.Equal(t, x86.EAX, as[1], "v1: assignment %v", as)
	assert.Equal(t, 3, len(p.Placed()), "instructions:\n%s", p.Listing())
	// With Addr16, a value that addresses memory unscaled takes ebx, ebp,
	// esi or edi (eax first otherwise); scaled, it has no 16-bit form and
	// no preference.
	for _, c := range []struct {
		scale  int
		addr16 bool
		want   x86.Reg
	}{{1, true, x86.EBX}, {1, false, x86.EAX}, {4, true, x86.EAX}} {
		k = &Kernel{Name: "addr"}
		k.I(x86.MOV, v0, mx)
		m := x86.Mem{Seg: x86.ES, Base: v0, Index: x86.NoReg, Disp: 0x100, Addr32: true}
		if c.scale > 1 {
			m.Base, m.Index, m.Scale = x86.NoReg, v0, c.scale
		}
		k.I(x86.MOV, v1, x86.D(m))
		k.I(x86.MOV, mz, v1)
		as, _ = allocOK(t, k, Options{Addr16: c.addr16})
		assert.Equal(t, c.want, as[0], "scale %d, addr16 %v: assignment %v", c.scale, c.addr16, as)
	}
	// Two values one address adds: one of bx or bp and one of si or di
	// (ebx holds another value here, so the order alone would give esi
	// and edi).
	k = &Kernel{Name: "pair"}
	k.I(x86.MOV, x86.EBX, mx)
	k.I(x86.MOV, v0, my)
	k.I(x86.MOV, v1, mz)
	k.I(x86.MOV, v2, x86.D(x86.Mem{Seg: x86.ES, Base: v0, Index: v1, Scale: 1, Disp: 0x100, Addr32: true}))
	k.I(x86.ADD, v2, x86.EBX)
	k.I(x86.MOV, mz, v2)
	as, p = allocOK(t, k, Options{Addr16: true})
	assert.ElementsMatch(t, []x86.Reg{x86.ESI, x86.EBP}, []x86.Reg{as[0], as[1]}, "assignment %v\n%s", as, p.Listing())
}

func TestCallsAndExits(t *testing.T) {
	k := &Kernel{Name: "call"}
	k.I(x86.MOV, v0, mx)
	k.I(x86.MOV, v1, my)
	k.I(x86.MOV, x86.ESI, v1)
	k.I(x86.CALL, x86.Label("helper"))
	k.I(x86.ADD, v0, x86.EAX)
	k.I(x86.CMP, v0, x86.Imm(3))
	k.I(x86.JE, x86.Label("outside")) // leaves the kernel: v0 is a result
	k.I(x86.INC, v0)
	k.I(x86.RET)
	o := Options{CallUses: []x86.Reg{x86.ESI}, CallClobbers: []x86.Reg{x86.EAX, x86.ECX, x86.ESI}, LiveOut: []int{0}}
	as, err := Allocate(k, o)
	require.NoError(t, err)
	require.NoError(t, verify(k, o, as))
	assert.NotContains(t, []x86.Reg{x86.EAX, x86.ECX, x86.ESI}, as[0], "v0 lives across the call in %s", as[0])
	assert.Equal(t, x86.ESI, as[1], "v1 should share esi with its copy: %s", as[1])
	// Without a convention, a call destroys every register.
	allocErr(t, k, Options{LiveOut: []int{0}}, "8 values live at once at item 3 (call helper), only 7 registers: eax ecx edx ebx ebp esi edi v0")
}

// A call's Reads (the arguments it passes in registers) keep those
// registers live from their copies to the call: a value made between them
// takes another register. Without them eax would look free again after
// its copy, and v1, the first register's candidate, would overwrite it.
func TestCallReadsItsArguments(t *testing.T) {
	k := &Kernel{Name: "args"}
	k.I(x86.MOV, v0, x86.Imm(1))
	k.I(x86.MOV, x86.EAX, v0)
	k.I(x86.MOV, v1, x86.Imm(0x600))
	k.I(x86.MOV, x86.ECX, x86.D(x86.Mem{Base: v1}))
	k.I(x86.CALL, x86.Label("helper"))
	k.Items[len(k.Items)-1].Reads = []x86.Reg{x86.EAX, x86.ECX}
	k.I(x86.RET)
	as, err := Allocate(k, Options{})
	require.NoError(t, err)
	require.NoError(t, verify(k, Options{}, as))
	assert.NotEqual(t, x86.EAX, as[1], "v1 overwrites the argument in eax")
}

func TestRewriteErrors(t *testing.T) {
	k := &Kernel{Name: "rw"}
	k.I(x86.MOV, v0, v1)
	var p x86.Program
	assert.ErrorContains(t, Rewrite(k, map[int]x86.Reg{0: x86.EAX}, &p), "v1 has no register")
	k = &Kernel{Name: "rw"}
	k.I(x86.MOV, V8(0), x86.Imm(1))
	assert.ErrorContains(t, Rewrite(k, map[int]x86.Reg{0: x86.ESI}, &p), "8-bit")
}

// randomKernel writes a kernel from a mix of free and fixed-register
// instructions, straight-line code with forward skips and a backward loop.
func randomKernel(r *rand.Rand, id int) (*Kernel, Options) {
	k := &Kernel{Name: fmt.Sprintf("rand%d", id)}
	nv := 3 + r.IntN(7)
	var defined []int
	pick := func() x86.Reg { return V(defined[r.IntN(len(defined))]) }
	pickN := func() int { return defined[r.IntN(len(defined))] }
	labels, loopOpen := 0, false
	var open []string
	n := 6 + r.IntN(30)
	for i := 0; i < n; i++ {
		if len(defined) < 2 || r.IntN(6) == 0 {
			v := r.IntN(nv)
			if r.IntN(2) == 0 {
				k.I(x86.MOV, V(v), x86.Imm(int64(r.IntN(1000))))
			} else {
				k.I(x86.MOV, V(v), x86.D(x86.Abs32(uint32(0x2000+4*r.IntN(16)))))
			}
			defined = append(defined, v)
			continue
		}
		switch r.IntN(16) {
		case 0:
			k.I([]x86.Op{x86.ADD, x86.SUB, x86.XOR, x86.AND, x86.ADC}[r.IntN(5)], pick(), pick())
		case 1:
			k.I(x86.IMUL, pick(), pick())
		case 2:
			k.I(x86.MOV, pick(), pick())
		case 3:
			k.I(x86.MOV, x86.EAX, pick())
			k.I(x86.MUL, pick())
			k.I(x86.MOV, pick(), []x86.Reg{x86.EAX, x86.EDX}[r.IntN(2)])
		case 4:
			k.I(x86.MOV, x86.EAX, pick())
			k.I(x86.CDQ)
			k.I(x86.ADD, pick(), x86.EDX)
		case 5:
			k.I(x86.MOV, x86.ECX, pick())
			k.I(x86.SHL, pick(), x86.CL)
		case 6:
			d := r.IntN(nv)
			k.I(x86.LEA, V(d), x86.D(x86.Ptr32(pick(), pick(), 4, 8)))
			defined = append(defined, d)
		case 7:
			k.I(x86.XCHG, pick(), pick())
		case 8:
			if n := pickN(); n < MaxViews {
				k.I(x86.MOV, V8(n), x86.Imm(int64(r.IntN(256))))
				k.I(x86.MOVZX, pick(), V8(n))
			}
		case 9:
			k.I(x86.CMP, pick(), pick())
			labels++
			l := fmt.Sprintf("fwd%d", labels)
			k.I(x86.JNE, x86.Label(l))
			open = append(open, l)
		case 10:
			if len(open) > 0 {
				k.Label(open[len(open)-1])
				open = open[:len(open)-1]
			}
		case 11:
			if !loopOpen && len(open) == 0 {
				k.Label("top")
				loopOpen = true
			}
		case 12:
			k.I(x86.ADD, x86.D(x86.Ptr32(pick(), x86.NoReg, 1, 0)), pick())
		case 13:
			k.I(x86.MOV, x86.ESI, pick())
			k.I([]x86.Op{x86.LODSD, x86.A32 | x86.LODSD}[r.IntN(2)])
			k.I(x86.ADD, pick(), x86.EAX)
		case 14:
			k.I(x86.MOV, x86.ESI, pick())
			k.I(x86.CALL, x86.Label("helper"))
		case 15:
			k.I(x86.ROL, pick(), x86.Imm(3))
		}
	}
	if loopOpen {
		k.I(x86.DEC, pick())
		k.I(x86.JNE, x86.Label("top"))
	}
	for i := len(open) - 1; i >= 0; i-- {
		k.Label(open[i])
	}
	var out []int
	seen := map[int]bool{}
	for _, d := range defined {
		if !seen[d] && r.IntN(3) == 0 {
			seen[d] = true
			out = append(out, d)
		}
	}
	k.I(x86.RET)
	k.Label("helper")
	return k, Options{LiveOut: out, CallUses: []x86.Reg{x86.ESI}, CallClobbers: []x86.Reg{x86.EAX, x86.EDX}}
}

// Random kernels: whenever Allocate succeeds, the allocation is correct
// along every path, and deterministic; when it fails it says why.
func TestRandomKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ok, fails := 0, map[string]int{}
	for i := 0; i < 2000; i++ {
		k, o := randomKernel(r, i)
		as, err := Allocate(k, o)
		if err != nil {
			msg, why := err.Error(), ""
			switch {
			case strings.Contains(msg, "values live at once"):
				why = "pressure"
			case strings.Contains(msg, "before any definition"):
				why = "undefined"
			case strings.Contains(msg, "no register left"):
				why = "coloring"
			}
			require.NotEmpty(t, why, "unexpected error: %v\n%s", err, k)
			fails[why]++
			continue
		}
		ok++
		require.NoError(t, verify(k, o, as), "verify\nassignment %v\n%s", as, k)
		again, _ := Allocate(k, o)
		require.Empty(t, cmp.Diff(as, again), "not deterministic (-first +again)")
		var p x86.Program
		require.NoError(t, Rewrite(k, as, &p))
		_, err = p.Assemble(0x1000)
		require.NoError(t, err, "assemble\n%s", p.Listing())
	}
	t.Logf("%d allocated, failures %v", ok, fails)
	assert.GreaterOrEqual(t, ok, 500, "random kernels allocated of 2000")
}

// High virtual numbers span several words of the liveness sets.
func TestHighVirtualNumbers(t *testing.T) {
	hi, top, b := V(100), V(MaxVirtual-1), MaxViews-2
	k := &Kernel{Name: "high"}
	k.I(x86.MOV, hi, mx)
	k.I(x86.MOVZX, top, x86.B(x86.Abs16(0x500)))
	k.I(x86.MOV, V(b), x86.Imm(0))
	k.I(x86.MOV, V8(b), x86.B(x86.Abs16(0x501)))
	k.I(x86.ADD, hi, top)
	k.I(x86.ADD, V16(b), x86.W(x86.Ptr16(x86.BX, x86.NoReg, 0)))
	k.I(x86.ADD, hi, V(b))
	as, p := allocOK(t, k, Options{LiveOut: []int{100}, Pinned: map[int]x86.Reg{100: x86.EDI}})
	assert.Equal(t, x86.EDI, as[100], "assignment %v\n%s", as, p.Listing())
	assert.Len(t, as, 3, "assignment\n%s", p.Listing())
}

// A count copied into ecx from a value that lives on is one value while
// that value gets ecx: six others and the count fit seven registers,
// though eight are live at each copy.
func TestCopyIntoFixedRegisterSharesIt(t *testing.T) {
	k := &Kernel{Name: "shifts"}
	k.I(x86.MOV, v0, mx) // the count
	for i := 1; i <= 6; i++ {
		k.I(x86.MOV, V(i), x86.Imm(int64(i)))
	}
	for i := 1; i <= 6; i++ {
		k.I(x86.MOV, x86.ECX, v0)
		k.I(x86.SHL, V(i), x86.CL)
	}
	for i := 1; i <= 6; i++ {
		k.I(x86.ADD, v0, V(i))
	}
	k.I(x86.MOV, mz, v0)
	as, _ := allocOK(t, k, Options{})
	assert.Equal(t, x86.ECX, as[0], "v0, the count: assignment %v", as)
}

// A call's own Clobbers stand for Options.CallClobbers: with the default
// (every register) seven values cannot live across it; with {eax, ecx}
// the kernel's six others can, none in eax or ecx. Physical keeps them, so
// the analyses after allocation (UpperDemand) see the same call.
func TestCallClobbersItsOwn(t *testing.T) {
	build := func(clobbers []x86.Reg) *Kernel {
		k := &Kernel{Name: "own"}
		for i := range 5 {
			k.I(x86.MOV, V(i), x86.Imm(int64(i)))
		}
		k.I(x86.CALL, x86.Label("rshr"))
		k.Items[len(k.Items)-1].Clobbers = clobbers
		for i := range 5 {
			k.I(x86.ADD, x86.EAX, V(i))
		}
		k.I(x86.RET)
		return k
	}
	k := build([]x86.Reg{x86.EAX, x86.ECX})
	as, err := Allocate(k, Options{})
	require.NoError(t, err)
	require.NoError(t, verify(k, Options{}, as))
	for i := range 5 {
		assert.NotContains(t, []x86.Reg{x86.EAX, x86.ECX}, as[i], "v%d lives across the call in %s", i, as[i])
	}
	phys, err := Physical(k, as)
	require.NoError(t, err)
	assert.Equal(t, []x86.Reg{x86.EAX, x86.ECX}, phys.Items[5].Clobbers, "Physical keeps the call's clobbers")
	allocErr(t, build(nil), Options{}, "live at once at item 5 (call rshr)")
}
