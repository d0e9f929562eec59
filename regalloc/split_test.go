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
	sumFive(k)
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

// sumFive appends v2 = 1+2+3+4+5, v2 to v6 live at once.
func sumFive(k *Kernel) {
	for i := 2; i <= 6; i++ {
		k.I(x86.MOV, V(i), x86.Imm(int64(i-1)))
	}
	for i := 3; i <= 6; i++ {
		k.I(x86.ADD, V(2), V(i))
	}
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
	sumFive(k)
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

// cheapKernel: a row loop (v9 passes) whose inner loop sums 1+2+3+4+5 four
// times into v0, which it starts at 0; each row adds v0 to the dword its
// pointer v8 names and steps v8. Nine values are live in the inner loop.
func cheapKernel() *Kernel {
	k := &Kernel{Name: "cheap"}
	k.I(x86.MOV, x86.D(x86.Abs16(0x600)), x86.Imm(0))
	k.I(x86.MOV, x86.D(x86.Abs16(0x604)), x86.Imm(0))
	k.I(x86.MOV, V(9), x86.Imm(2))
	k.I(x86.MOV, V(8), x86.Imm(0x600))
	k.Label("row")
	k.I(x86.MOV, v0, x86.Imm(0))
	k.I(x86.MOV, v1, x86.Imm(0))
	k.Label("top")
	sumFive(k)
	k.I(x86.ADD, v0, V(2))
	k.I(x86.INC, v1)
	k.I(x86.CMP, v1, x86.Imm(4))
	k.I(x86.JL, x86.Label("top"))
	k.I(x86.ADD, x86.D(x86.Mem{Base: V(8), Size: 32}), v0)
	k.I(x86.ADD, V(8), x86.Imm(4))
	k.I(x86.DEC, V(9))
	k.I(x86.JNE, x86.Label("row"))
	return k
}

// Spilling weighs uses by the loops around them and a split by its two
// moves outside the inner loop: the row loop's pointer goes to memory
// whole, stepped in its slot. With splits cheap (the size policy, whose
// pushPairs makes a split a push and a pop) it waits out the inner loop
// in its slot instead, stored before the loop and loaded after it, and
// stepped in its register. (The count, which one dec a row reads, goes
// whole either way.)
func TestSplitsCheap(t *testing.T) {
	for _, cheap := range []bool{false, true} {
		t.Run(fmt.Sprintf("cheap=%v", cheap), func(t *testing.T) {
			out, as, _, err := AllocateSpilling(cheapKernel(), Options{Split: true, SplitsCheap: cheap}, func(i int) x86.Mem {
				return x86.D(x86.Abs16(uint16(0x700 + 4*i)))
			})
			require.NoError(t, err)
			got := lines(out)
			row, top, jl := indexOf(got, "row:"), indexOf(got, "top:"), indexOf(got, "jl top")
			require.True(t, row >= 0 && top > row && jl > top, "%s", out)
			if cheap {
				assert.Equal(t, "mov dword [0x704], v8", got[row+1], "%s", out)
				assert.Equal(t, "mov v8, dword [0x704]", got[jl+1], "%s", out)
				assert.Contains(t, got, "add v8, 0x4", "%s", out)
			} else {
				assert.Contains(t, got, "add dword [0x704], 0x4", "%s", out)
			}
			needQEMU(t)
			assert.Equal(t, hexLines(60, 60), runAssigned(t, out, as), "%s", out)
		})
	}
}
