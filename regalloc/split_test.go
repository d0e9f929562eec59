package regalloc

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	x86 "tfc/codegen/x86_16"
)

// splitKernel: v0 is used four times around a loop that never names it,
// where seven other values fill the registers; a guard skips the loop when
// its count (v7) is 0. It stores v0·8+3 at 0x600 and 15 a pass at 0x604.
func splitKernel(count int64) *Kernel {
	k := &Kernel{Name: "split"}
	k.I(x86.MOV, x86.D(x86.Abs16(0x604)), x86.Imm(0))
	k.I(x86.MOV, v0, x86.D(x86.Abs16(0x608)))
	k.I(x86.ADD, v0, v0)
	k.I(x86.ADD, v0, v0)
	k.I(x86.MOV, V(7), x86.Imm(count))
	k.I(x86.MOV, v1, x86.Imm(0))
	k.I(x86.CMP, v1, V(7))
	k.I(x86.JGE, x86.Label("end"))
	k.Label("top")
	for i := 2; i <= 6; i++ {
		k.I(x86.MOV, V(i), x86.Imm(int64(i-1)))
	}
	for i := 3; i <= 6; i++ {
		k.I(x86.ADD, V(2), V(i))
	}
	k.I(x86.ADD, x86.D(x86.Abs16(0x604)), V(2))
	k.I(x86.INC, v1)
	k.I(x86.CMP, v1, V(7))
	k.I(x86.JL, x86.Label("top"))
	k.Label("end")
	k.I(x86.ADD, v0, v0)
	k.I(x86.ADD, v0, x86.Imm(3))
	k.I(x86.MOV, x86.D(x86.Abs16(0x600)), v0)
	return k
}

// Split, AllocateSpilling frees v0's register inside the loop alone: a
// store before the loop's label, a load after its backward branch, and v0
// in a register everywhere else; spilled instead, every use of v0 reads
// or writes its slot. Both run in QEMU and store what the kernel
// computes, the guard skipping the loop or not.
func TestSplitAroundLoop(t *testing.T) {
	for _, split := range []bool{false, true} {
		for _, count := range []int64{0, 4} {
			t.Run(fmt.Sprintf("split=%v,count=%d", split, count), func(t *testing.T) {
				o := Options{Split: split}
				out, as, used, err := AllocateSpilling(splitKernel(count), o, func(i int) x86.Mem {
					return x86.D(x86.Abs16(uint16(0x700 + 4*i)))
				})
				require.NoError(t, err)
				got := lines(out)
				slotUses := 0
				for _, l := range got {
					if strings.Contains(l, "[0x700]") {
						slotUses++
					}
				}
				if split {
					assert.Equal(t, 1, used)
					assert.Equal(t, 2, slotUses, "%s", out)
					i := indexOf(got, "top:")
					require.Positive(t, i, "%s", out)
					assert.Regexp(t, `^mov dword \[0x700\], v0$`, got[i-1])
					j := indexOf(got, "jl top")
					assert.Regexp(t, `^mov v0, dword \[0x700\]$`, got[j+1])
				} else {
					assert.Greater(t, slotUses, 2, "%s", out)
				}
				needQEMU(t)
				res := runAssigned(t, out, as)
				assert.Equal(t, hexLines(5*8+3, uint32(15*count)), res, "%s", out)
			})
		}
	}
}

func indexOf(ls []string, s string) int {
	for i, l := range ls {
		if l == s {
			return i
		}
	}
	return -1
}

// A split's store goes up past the loop's preheader and its load down past
// the loop's exit code, where neither names the value nor jumps: the sum
// that the preheader starts and the exit stores may then take the split
// value's register there (seven values live in the loop, eight at its
// edges if the moves stayed at the label and the branch).
func TestSplitMovesOutOfTheEdges(t *testing.T) {
	k := &Kernel{Name: "edges"}
	k.I(x86.MOV, v0, x86.D(x86.Abs16(0x608)))
	k.I(x86.MOV, V(8), x86.Imm(0))
	k.I(x86.MOV, v1, x86.Imm(0))
	k.Label("top")
	for i := 2; i <= 6; i++ {
		k.I(x86.MOV, V(i), x86.Imm(int64(i-1)))
	}
	for i := 3; i <= 6; i++ {
		k.I(x86.ADD, V(2), V(i))
	}
	k.I(x86.ADD, V(8), V(2))
	k.I(x86.INC, v1)
	k.I(x86.CMP, v1, x86.Imm(4))
	k.I(x86.JL, x86.Label("top"))
	k.Label("end")
	k.I(x86.MOV, x86.D(x86.Abs16(0x604)), V(8))
	k.I(x86.ADD, v0, x86.Imm(3))
	k.I(x86.MOV, x86.D(x86.Abs16(0x600)), v0)
	o := Options{Split: true}
	out, as, used, err := AllocateSpilling(k, o, func(i int) x86.Mem {
		return x86.D(x86.Abs16(uint16(0x700 + 4*i)))
	})
	require.NoError(t, err)
	assert.Equal(t, 1, used, "%s", out)
	got := lines(out)
	require.Greater(t, len(got), 2)
	assert.Equal(t, "mov dword [0x700], v0", got[1], "%s", out)
	i := indexOf(got, "mov dword [0x604], v8")
	require.Positive(t, i, "%s", out)
	assert.Equal(t, "mov v0, dword [0x700]", got[i+1], "%s", out)
	needQEMU(t)
	assert.Equal(t, hexLines(8, 60), runAssigned(t, out, as), "%s", out)
}

// runAssigned runs out in QEMU in the registers as assigned (reloads has
// dropped loads that the virtuals' names alone would need), 5 stored at
// 0x608 first, and returns the two dwords at 0x600.
func runAssigned(t *testing.T, out *Kernel, as map[int]x86.Reg) string {
	t.Helper()
	run := &Kernel{Name: "run"}
	run.I(x86.MOV, x86.D(x86.Abs16(0x608)), x86.Imm(5))
	for _, it := range out.Items {
		if it.Label == "" {
			var err error
			it.Inst, err = rewriteInst(it.Inst, as)
			require.NoError(t, err)
		}
		run.Items = append(run.Items, it)
	}
	res, _ := runKernel(t, run, Options{}, nil, func(*x86.Program) {}, 0x600, 2)
	return res
}
