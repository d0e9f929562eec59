package regalloc

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	x86 "tfc/codegen/x86_16"
)

// DeadWrites lists what computes into registers nothing reads after: not
// a count moved into ecx for a shift, a store, a write to a part of a
// virtual whose other bits are read, or a one-operand multiply.
func TestDeadWrites(t *testing.T) {
	k := &Kernel{Name: "dead"}
	k.I(x86.MOV, v0, x86.D(x86.Abs16(0x600)))
	k.I(x86.MOV, v1, x86.Imm(5)) // 1: never read
	k.I(x86.MOV, x86.ECX, v0)
	k.I(x86.MOV, v2, x86.Imm(7))
	k.I(x86.SHL, v2, x86.CL)
	k.I(x86.MOV, V(3), v2)
	k.I(x86.SAR, V(3), x86.CL) // 6: v3 never read after
	k.I(x86.MOV, V16(2), x86.Imm(1))
	k.I(x86.MOV, x86.D(x86.Abs16(0x604)), v2)
	k.I(x86.MOV, x86.EAX, v0)
	k.I(x86.IMUL, v0) // writes edx:eax, read by nothing: kept
	dead, err := DeadWrites(k, Options{})
	require.NoError(t, err)
	assert.Equal(t, []int{1, 6}, dead)
}
