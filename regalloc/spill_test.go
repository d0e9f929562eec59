package regalloc

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	x86 "tfc/codegen/x86_16"
)

// Ten values live at once do not fit seven registers: AllocateSpilling
// moves some to memory, and the kernel, run in QEMU, still sums them all.
func TestSpillingAllocates(t *testing.T) {
	k := &Kernel{Name: "ten"}
	const n = 10
	for i := 0; i < n; i++ {
		k.I(x86.MOV, V(i), x86.Imm(int64(i+1)))
	}
	k.I(x86.MOV, V(n), x86.Imm(0))
	for i := 0; i < n; i++ {
		k.I(x86.ADD, V(n), V(i))
	}
	k.I(x86.MOV, x86.D(x86.Abs16(0x600)), V(n))
	_, err := Allocate(k, Options{})
	require.Error(t, err, "ten live values allocated without spilling")
	slots := 0
	out, as, used, err := AllocateSpilling(k, Options{}, func(i int) x86.Mem {
		slots = max(slots, i+1)
		return x86.D(x86.Abs16(uint16(0x700 + 4*i)))
	})
	require.NoError(t, err)
	assert.NotZero(t, used, "slots used")
	assert.Equal(t, slots, used, "slots used (want those asked for)")
	require.NoError(t, verify(out, Options{}, as), "verify\n%s", out)
	needQEMU(t)
	got, _ := runKernel(t, out, Options{}, nil, func(*x86.Program) {}, 0x600, 1)
	assert.Equal(t, hexLines(n*(n+1)/2), got, "printed\n%s", out)
}
