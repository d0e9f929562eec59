package x86_16

import (
	"encoding/binary"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/arch/x86/x86asm"
)

// gen builds random instructions that are meant to be valid: it picks a
// mnemonic, one of its encoding forms, and fills each operand slot with a
// random operand of that slot's kind. The encoder may then choose another
// (shorter) form, exactly as NASM would.
type gen struct{ r *rand.Rand }

func (g gen) pick(n int) int        { return g.r.Intn(n) }
func (g gen) chance(p float64) bool { return g.r.Float64() < p }

func (g gen) reg(size int) Reg {
	switch size {
	case 8:
		return AL + Reg(g.pick(8))
	case 16:
		return AX + Reg(g.pick(8))
	}
	return EAX + Reg(g.pick(8))
}

func (g gen) seg() Reg { return ES + Reg(g.pick(6)) }

func (g gen) disp(wide int64) int32 {
	switch g.pick(5) {
	case 0:
		return 0
	case 1:
		return int32(g.pick(256) - 128)
	case 2:
		return int32(g.r.Int63n(wide))
	case 3:
		return int32(-g.r.Int63n(wide / 2))
	}
	return int32(g.pick(16) - 8)
}

func (g gen) mem(size int) Mem {
	var m Mem
	if g.chance(0.5) {
		pairs := [][2]Reg{{}, {BX, 0}, {BP, 0}, {SI, 0}, {DI, 0}, {BX, SI}, {BX, DI}, {BP, SI}, {BP, DI}}
		p := pairs[g.pick(len(pairs))]
		if g.chance(0.2) {
			p[0], p[1] = p[1], p[0]
		}
		m.Base, m.Index = p[0], p[1]
		m.Disp = g.disp(0x8000)
		if !m.hasRegs() {
			m.Disp = int32(g.pick(0x10000))
		}
	} else {
		if g.chance(0.8) {
			m.Base = g.reg(32)
		}
		if g.chance(0.6) {
			m.Index = g.reg(32)
			if m.Index == ESP && g.chance(0.7) {
				m.Index = EBP
			}
			m.Scale = []int{0, 1, 2, 4, 8}[g.pick(5)]
		}
		m.Disp = g.disp(1 << 31)
		if !m.hasRegs() {
			m.Addr32 = true
		}
	}
	if g.chance(0.3) {
		m.Seg = g.seg()
	}
	if g.chance(0.1) {
		m.Label = "tgt"
		m.Disp = int32(g.pick(0x100))
	}
	if g.chance(0.75) {
		m.Size = size
	}
	return m
}

func (g gen) moffs(size int) Mem {
	m := Mem{Disp: int32(g.pick(0x10000)), Size: size}
	if g.chance(0.3) {
		m.Addr32, m.Disp = true, int32(g.r.Uint32())
	}
	if g.chance(0.3) {
		m.Seg = g.seg()
	}
	return m
}

func (g gen) imm(bits int) Operand {
	switch g.pick(4) {
	case 0:
		return Imm(g.pick(256) - 128)
	case 1:
		return Imm(g.r.Int63n(1 << bits))
	case 2:
		return Imm(-g.r.Int63n(1 << (bits - 1)))
	}
	return Imm(g.pick(16))
}

func (g gen) operand(k kind, v int) Operand {
	regOrMem := func(size int) Operand {
		if g.chance(0.5) {
			return g.reg(size)
		}
		return g.mem(size)
	}
	switch k {
	case kR8, kZ8:
		return g.reg(8)
	case kR, kZ:
		return g.reg(v)
	case kRM8:
		return regOrMem(8)
	case kRM:
		return regOrMem(v)
	case kRM16, kRMSrcSeg, kRMFromSeg:
		if k == kRMFromSeg {
			return regOrMem(v)
		}
		return regOrMem(16)
	case kM:
		m := g.mem(0)
		m.Size = 0
		return m
	case kMoffs8:
		return g.moffs(8)
	case kMoffs:
		return g.moffs(v)
	case kAL:
		return AL
	case kAcc:
		return map[int]Reg{16: AX, 32: EAX}[v]
	case kCL:
		return CL
	case kDX:
		return DX
	case kOne:
		return Imm(1)
	case kSreg:
		return g.seg()
	case kSregDst:
		return []Reg{ES, SS, DS, FS, GS}[g.pick(5)]
	case kCR:
		return []Reg{CR0, CR4}[g.pick(2)]
	case kX, kXR:
		return XMM0 + Reg(g.pick(8))
	case kXM128, kXM64:
		if g.chance(0.5) {
			return XMM0 + Reg(g.pick(8))
		}
		return g.mem(map[kind]int{kXM128: 128, kXM64: 64}[k])
	case kM64:
		return g.mem(64)
	case kRM32:
		return regOrMem(32)
	case kR32RM:
		return g.reg(32)
	case kES, kCS, kSS, kDS, kFS, kGS:
		return ES + Reg(k-kES)
	case kIB, kI8s:
		return Imm(g.pick(256) - 128)
	case kI:
		if g.chance(0.1) {
			return ImmLabel{"tgt", int64(g.pick(0x100))}
		}
		return g.imm(v)
	case kI8, kU8:
		return Imm(g.pick(256))
	case kU16:
		return Imm(g.pick(0x10000))
	case kRel8:
		if g.chance(0.2) {
			return Label("tgt")
		}
		return Addr(rowOrg + g.pick(200) - 100)
	case kRelShort:
		if g.chance(0.3) {
			return Label("tgt")
		}
		return Short{Addr(rowOrg + g.pick(200) - 100)}
	case kRelNear, kRel16:
		switch g.pick(3) {
		case 0:
			return Near{Label("tgt")}
		case 1:
			return Near{Addr(g.pick(0x10000))}
		}
		return Addr(g.pick(0x10000))
	case kFar:
		f := Far{Seg: uint16(g.pick(0x10000)), Off: uint32(g.pick(0x10000))}
		if g.chance(0.4) {
			f.Size, f.Off = 32, g.r.Uint32()
		}
		if g.chance(0.2) {
			f.Label, f.Off = "tgt", uint32(g.pick(0x100))
		}
		return f
	}
	panic(fmt.Sprintf("gen: kind %d", k))
}

// genOps is a function, not a var: forms is filled by init functions,
// which run after package-level variables are initialized.
func genOps() []Op {
	var ops []Op
	for op := range forms {
		ops = append(ops, op)
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i] < ops[j] })
	return ops
}

func (g gen) inst() Inst {
	ops := genOps()
	op := ops[g.pick(len(ops))]
	fs := forms[op]
	f := fs[g.pick(len(fs))]
	v := []int{16, 32}[g.pick(2)]
	in := Inst{Op: op}
	for _, k := range f.args {
		in.Args = append(in.Args, g.operand(k, v))
	}
	for _, p := range []Op{REP, REPE, REPNE} {
		if g.chance(0.3) && validPrefix(op|p) {
			in.Op |= p
		}
	}
	return in
}

func propertySeed(t *testing.T) int64 {
	seed := int64(20240501)
	if s := os.Getenv("X86_16_SEED"); s != "" {
		var err error
		seed, err = strconv.ParseInt(s, 10, 64)
		require.NoError(t, err, "X86_16_SEED")
	}
	t.Logf("seed %d (set X86_16_SEED to vary)", seed)
	return seed
}

// TestRandomInstructions: random valid instructions encode, decode back
// with x86asm to the same instruction, and print to NASM text that nasm
// assembles to the same bytes; objdump agrees on length and mnemonic.
func TestRandomInstructions(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 500
	}
	g := gen{rand.New(rand.NewSource(propertySeed(t)))}
	var ins []Inst
	var got [][]byte
	rejected := map[string]int{}
	for len(ins) < n {
		in := g.inst()
		b, err := assembleRow(in)
		if err != nil {
			rejected[in.Op.Base().String()]++
			continue
		}
		assert.NoError(t, checkDecode(in, b), "%s (% x)", in, b)
		ins, got = append(ins, in), append(got, b)
	}
	total := 0
	for _, c := range rejected {
		total += c
	}
	// The generator mostly builds valid instructions; a high rejection
	// rate would mean the test no longer tests much.
	assert.LessOrEqual(t, total, n/2, "instructions the encoder rejected, of %d generated: %v", n+total, rejected)
	t.Logf("%d instructions, %d rejected (operand size unspecified, invalid addresses, ...)", n, total)

	texts := make([]string, len(ins))
	for i, in := range ins {
		texts[i] = in.String()
	}
	t.Run("nasm", func(t *testing.T) {
		rows, problems := nasmRows(t, texts)
		bad := 0
		// At most 20 failures are shown: every entry of problems is a
		// non-empty diagnostic, so each fails.
		for i, msg := range problems {
			if bad++; bad <= 20 {
				if i >= 0 {
					assert.Empty(t, msg, "nasm diagnostics for %q", texts[i])
				} else {
					assert.Empty(t, msg, "nasm diagnostics")
				}
			}
		}
		for i := range rows {
			if bad < 20 && !assert.Equal(t, got[i], rows[i], "%q: nasm's bytes (expected: ours)", texts[i]) {
				bad++
			}
		}
	})
	t.Run("objdump", func(t *testing.T) { checkObjdump(t, ins, got) })
}

// byteSource turns fuzz input into choices; exhausted input reads as 0.
type byteSource struct{ b []byte }

func (s *byteSource) u8() byte {
	if len(s.b) == 0 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c
}

func (s *byteSource) u32() uint32 {
	var b [4]byte
	for i := range b {
		b[i] = s.u8()
	}
	return binary.LittleEndian.Uint32(b[:])
}

var fuzzLabels = []string{"a", "b", "undef", "", "ax", ".x"}

// anyOperand makes an arbitrary, often invalid, operand.
func (s *byteSource) anyOperand(depth int) Operand {
	lbl := func() string { return fuzzLabels[int(s.u8())%len(fuzzLabels)] }
	switch s.u8() % 11 {
	case 0:
		return Reg(s.u8() % (byte(regEnd) + 2))
	case 1:
		return Mem{Size: []int{0, 8, 16, 32, 64, 128, 48}[s.u8()%7], Seg: Reg(s.u8() % (byte(regEnd) + 1)),
			Base: Reg(s.u8() % (byte(regEnd) + 1)), Index: Reg(s.u8() % (byte(regEnd) + 1)),
			Scale: int(s.u8()%10) - 1, Disp: int32(s.u32()), Addr32: s.u8()%2 == 0,
			Label: []string{"", "", lbl()}[s.u8()%3]}
	case 2:
		return Imm(int64(int32(s.u32())) << (s.u8() % 40))
	case 3:
		return ImmLabel{lbl(), int64(int32(s.u32()))}
	case 4:
		if depth > 2 {
			return nil
		}
		return SizedImm{int(s.u8() % 40), s.anyOperand(depth + 1)}
	case 5:
		return Label(lbl())
	case 6:
		return Addr(s.u32())
	case 7:
		if depth > 2 {
			return nil
		}
		return Short{s.anyOperand(depth + 1)}
	case 8:
		if depth > 2 {
			return nil
		}
		return Near{s.anyOperand(depth + 1)}
	case 9:
		return Far{Seg: uint16(s.u32()), Label: []string{"", lbl()}[s.u8()%2], Off: s.u32(), Size: int(s.u8() % 40)}
	}
	return nil
}

// FuzzEncode: any instruction, valid or not, in any program must give
// bytes or an error, never a panic; and whatever assembles must decode.
func FuzzEncode(f *testing.F) {
	f.Add([]byte{1, 0, 2, 1, 10})
	f.Add([]byte{5, 40, 2, 0, 9, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13})
	f.Add([]byte{120, 0, 1, 1, 32, 5, 17, 19, 2, 2, 255, 255, 1, 0, 0})
	f.Add([]byte{130, 1, 0, 1, 0, 3, 7, 1, 16, 0, 0, 0, 0, 1, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &byteSource{data}
		var p Program
		for len(s.b) > 0 && p.Len() < 64 {
			switch s.u8() % 8 {
			case 0:
				p.Label(fuzzLabels[int(s.u8())%len(fuzzLabels)])
			case 1:
				p.Align(int(s.u8()%9), s.u8())
			case 2:
				p.DWAddr(fuzzLabels[int(s.u8())%len(fuzzLabels)], int64(int32(s.u32())))
			default:
				op := Op(uint16(s.u8())) | Op(s.u8()%4)<<12
				var args []Operand
				for n := s.u8() % 4; n > 0; n-- {
					args = append(args, s.anyOperand(0))
				}
				p.I(op, args...)
			}
		}
		code, err := p.Assemble(uint32(s.u8()) << 8)
		_ = p.Listing()
		if err != nil {
			return
		}
		for _, pl := range p.Placed() {
			if pl.Size == 0 {
				t.Fatalf("%v: empty encoding", pl.Inst)
			}
			off := pl.Addr - p.org
			x, err := x86asm.Decode(code[off:off+uint32(pl.Size)], 16)
			if err != nil || x.Len != pl.Size {
				t.Fatalf("%v (% x): x86asm: %v (len %d)", pl.Inst, code[off:off+uint32(pl.Size)], err, x.Len)
			}
		}
	})
}
