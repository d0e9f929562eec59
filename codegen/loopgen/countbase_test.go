package loopgen

import (
	"testing"

	"github.com/stretchr/testify/assert"

	x86 "tfc/codegen/x86_16"
	"tfc/regalloc"
)

// A loop that counts si up to 0 and loads through [si+D] counts up to D
// instead, where lods then takes the load (a sum of squares: 2 bytes
// fewer); its other accesses through si take their displacements less
// D. It stays where si is read after the loop, the carry is, si is read
// in the loop other than as an address, or a proc is called in it.
func TestCountBase(t *testing.T) {
	inst := func(op x86.Op, args ...x86.Operand) x86.Inst { return x86.Inst{Op: op, Args: args} }
	at := func(d int32) x86.Mem { return x86.D(x86.Mem{Base: x86.SI, Disp: d}) }
	body := []x86.Inst{inst(x86.MOV, x86.EAX, at(-0x19a8)), inst(x86.IMUL, x86.EAX), inst(x86.ADD, x86.ECX, x86.EAX),
		inst(x86.ADC, x86.EDI, x86.EDX)}
	for _, c := range []struct {
		name                string
		first, extra, after []x86.Inst
		want                []string // nil: unchanged
	}{
		{"a sum of squares", nil, nil, nil, []string{"mov si, -0x1aa8", "t.loop:", "lodsd", "imul eax", "add ecx, eax", "adc edi, edx", "cmp si, -0x19a8", "jne t.loop"}},
		{"another access", []x86.Inst{inst(x86.ADD, x86.EBX, at(-0x1000))}, nil, nil,
			[]string{"mov si, -0x1aa8", "t.loop:", "add ebx, dword [si+0x9a8]", "lodsd", "imul eax", "add ecx, eax", "adc edi, edx", "cmp si, -0x19a8", "jne t.loop"}},
		{"si read after", nil, nil, []x86.Inst{inst(x86.MOV, x86.W(x86.Abs16(0x1000)), x86.SI)}, nil},
		{"the carry read after", nil, nil, []x86.Inst{inst(x86.ADC, x86.ECX, x86.Imm(0))}, nil},
		{"si read as a value", []x86.Inst{inst(x86.MOV, x86.BX, x86.SI)}, nil, nil, nil},
		{"a proc called", []x86.Inst{inst(x86.CALL, x86.Label("proc1"))}, nil, nil, nil},
		{"another jump to the top", nil, nil, []x86.Inst{inst(x86.JMP, x86.Label("t.loop"))}, nil},
	} {
		build := func() *regalloc.Kernel {
			k := &regalloc.Kernel{Name: "t"}
			k.I(x86.XOR, x86.EDI, x86.EDI)
			k.I(x86.MOV, x86.SI, x86.Imm(-0x100))
			k.Label("t.loop")
			return withInsts(k, c.first, body, c.extra, []x86.Inst{inst(x86.ADD, x86.SI, x86.Imm(4)), inst(x86.JNE, x86.Label("t.loop"))},
				c.after, []x86.Inst{inst(x86.XOR, x86.ESI, x86.ESI), inst(x86.MOV, x86.D(x86.Abs16(0x1004)), x86.EDI), inst(x86.RET)})
		}
		got, unchanged := rebasedAndNot(build)
		if c.want == nil {
			assert.Equal(t, unchanged, got, c.name)
			continue
		}
		assert.Equal(t, c.want, got[1:len(c.want)+1], c.name)
	}
}

// withInsts is k with each run of instructions appended in turn.
func withInsts(k *regalloc.Kernel, runs ...[]x86.Inst) *regalloc.Kernel {
	for _, run := range runs {
		for _, in := range run {
			k.Items = append(k.Items, regalloc.Item{Inst: in})
		}
	}
	return k
}

// rebasedAndNot lists a kernel that build makes after countBase and
// lodsLoads, and another after lodsLoads alone.
func rebasedAndNot(build func() *regalloc.Kernel) (got, unchanged []string) {
	k, u := build(), build()
	countBase(k, true)
	lodsLoads(k)
	lodsLoads(u)
	return listed(k), listed(u)
}

// listed is k's instructions (its labels' names), one a line.
func listed(k *regalloc.Kernel) []string {
	var out []string
	for _, it := range k.Items {
		if it.Label != "" {
			out = append(out, it.Label+":")
			continue
		}
		out = append(out, regalloc.InstString(it.Inst))
	}
	return out
}

// One that counts si up to a bound (from a clear of it: xor si, si … add
// si, 4; cmp si, 0x100; jl) counts up to the bound plus D, its jump a
// jne; it stays where the bound is not a whole number of steps away or
// the jump is not jl, jb or jne.
func TestCountBaseUp(t *testing.T) {
	inst := func(op x86.Op, args ...x86.Operand) x86.Inst { return x86.Inst{Op: op, Args: args} }
	for _, c := range []struct {
		name         string
		start, bound int64
		jump         x86.Op
		want         []string // nil: unchanged
	}{
		{"jl", 0, 0x100, x86.JL, []string{"mov si, -0x1aa8", "t.loop:", "lodsd", "imul eax", "add ecx, eax", "cmp si, -0x19a8", "jne t.loop"}},
		{"jb", 0, 0x100, x86.JB, []string{"mov si, -0x1aa8", "t.loop:", "lodsd", "imul eax", "add ecx, eax", "cmp si, -0x19a8", "jne t.loop"}},
		{"jl from below 0", -0x100, 0x100, x86.JL, []string{"mov si, -0x1ba8", "t.loop:", "lodsd", "imul eax", "add ecx, eax", "cmp si, -0x19a8", "jne t.loop"}},
		{"jb from above the bound (one pass)", -0x100, 0x100, x86.JB, nil},
		{"not a whole number of steps", 0, 0x102, x86.JL, nil},
		{"jg", 0, 0x100, x86.JG, nil},
	} {
		build := func() *regalloc.Kernel {
			k := &regalloc.Kernel{Name: "t"}
			if c.start == 0 {
				k.I(x86.XOR, x86.SI, x86.SI)
			} else {
				k.I(x86.MOV, x86.SI, x86.Imm(c.start))
			}
			k.Label("t.loop")
			return withInsts(k, []x86.Inst{inst(x86.MOV, x86.EAX, x86.D(x86.Mem{Base: x86.SI, Disp: -0x1aa8})), inst(x86.IMUL, x86.EAX),
				inst(x86.ADD, x86.ECX, x86.EAX), inst(x86.ADD, x86.SI, x86.Imm(4)), inst(x86.CMP, x86.SI, x86.Imm(c.bound)),
				inst(c.jump, x86.Label("t.loop")), inst(x86.MOV, x86.D(x86.Abs16(0x1004)), x86.ECX), inst(x86.RET)})
		}
		got, unchanged := rebasedAndNot(build)
		if c.want == nil {
			assert.Equal(t, unchanged, got, c.name)
			continue
		}
		assert.Equal(t, c.want, got[:len(c.want)], c.name)
	}
}
