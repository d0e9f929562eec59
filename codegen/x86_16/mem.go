package x86_16

import "fmt"

// memEnc is a memory operand reduced to its ModRM/SIB/displacement fields.
// The displacement's label part is resolved later, at emission, because
// its value depends on layout while its width does not.
type memEnc struct {
	addr32  bool
	mod, rm byte
	hasSIB  bool
	sib     byte
	dispLen int // 0, 1, 2 or 4 bytes
}

func fitsInt8(v int64) bool { return v >= -128 && v <= 127 }

// rm16 maps a {bx,bp} × {si,di} combination to its 16-bit ModRM r/m value.
var rm16 = map[[2]Reg]byte{
	{BX, SI}: 0, {BX, DI}: 1, {BP, SI}: 2, {BP, DI}: 3,
	{NoReg, SI}: 4, {NoReg, DI}: 5, {BP, NoReg}: 6, {BX, NoReg}: 7,
}

func (m Mem) is32() bool {
	return m.Addr32 || m.Base.isGPR32() || m.Index.isGPR32()
}

// hasRegs reports whether m has a base or index register, i.e. whether it is
// not a plain [disp] (the only form the moffs encodings accept).
func (m Mem) hasRegs() bool { return m.Base != NoReg || m.Index != NoReg }

func (m Mem) analyze() (memEnc, error) {
	if m.Seg != NoReg && !m.Seg.IsSeg() {
		return memEnc{}, fmt.Errorf("segment override %s is not a segment register", m.Seg)
	}
	switch m.Size {
	case 0, 8, 16, 32, 64, 128: // 64 and 128 for SSE operands
	default:
		return memEnc{}, fmt.Errorf("invalid memory operand size %d", m.Size)
	}
	if m.is32() {
		return m.analyze32()
	}
	return m.analyze16()
}

func (m Mem) analyze16() (memEnc, error) {
	if m.Scale != 0 && m.Scale != 1 {
		return memEnc{}, fmt.Errorf("16-bit addressing has no scaled index")
	}
	var pair [2]Reg // {bx|bp, si|di}; either field of Mem may hold either
	for _, r := range []Reg{m.Base, m.Index} {
		slot := -1
		switch r {
		case NoReg:
			continue
		case BX, BP:
			slot = 0
		case SI, DI:
			slot = 1
		default:
			return memEnc{}, fmt.Errorf("%s cannot be used in a 16-bit address", r)
		}
		if pair[slot] != NoReg {
			return memEnc{}, fmt.Errorf("[%s+%s] is not a valid 16-bit address", m.Base, m.Index)
		}
		pair[slot] = r
	}
	if m.Label == "" && (m.Disp < -0x8000 || m.Disp > 0xFFFF) {
		return memEnc{}, fmt.Errorf("displacement %#x does not fit 16-bit addressing (set Addr32)", m.Disp)
	}
	if pair == [2]Reg{} {
		return memEnc{mod: 0, rm: 6, dispLen: 2}, nil
	}
	e := memEnc{rm: rm16[pair]}
	// 16-bit addresses wrap, so 0xFFFF is -1 (NASM picks disp8 for it too).
	d := int64(int16(m.Disp))
	switch {
	case m.Label != "":
		e.mod, e.dispLen = 2, 2
	case d == 0 && e.rm != 6: // [bp] has no disp-less form
		e.mod = 0
	case fitsInt8(d):
		e.mod, e.dispLen = 1, 1
	default:
		e.mod, e.dispLen = 2, 2
	}
	return e, nil
}

// norm32 applies NASM's rewrites of 32-bit addresses, so that we pick the
// same encoding: [r*1] is [r], [r*2] is [r+r] (no disp32 needed), and esp
// can only be a base.
func (m Mem) norm32() (base, index Reg, scale int, err error) {
	base, index, scale = m.Base, m.Index, m.Scale
	for _, r := range []Reg{base, index} {
		if r != NoReg && !r.isGPR32() {
			return 0, 0, 0, fmt.Errorf("%s cannot be used in a 32-bit address", r)
		}
	}
	if index == NoReg {
		if scale > 1 {
			return 0, 0, 0, fmt.Errorf("scale %d without an index register", scale)
		}
		return base, NoReg, 1, nil
	}
	if scale == 0 {
		scale = 1
	}
	if scale != 1 && scale != 2 && scale != 4 && scale != 8 {
		return 0, 0, 0, fmt.Errorf("invalid scale %d", scale)
	}
	if base == NoReg && scale <= 2 {
		base = index
		if scale == 1 {
			index = NoReg
		}
		scale = 1
	}
	if index == ESP {
		if scale != 1 || base == ESP {
			return 0, 0, 0, fmt.Errorf("esp cannot be an index register")
		}
		base, index = index, base
	}
	// NASM keeps the written order of [r1+r2] only while its expression
	// hints survive; with a label and a numeric offset they do not, and it
	// makes the register with the alphabetically first name the base.
	if m.Label != "" && m.Disp != 0 && scale == 1 && base != NoReg && index != NoReg && base != ESP &&
		index.String() < base.String() {
		base, index = index, base
	}
	return base, index, scale, nil
}

func (m Mem) analyze32() (memEnc, error) {
	base, index, scale, err := m.norm32()
	if err != nil {
		return memEnc{}, err
	}
	e := memEnc{addr32: true}
	if base == NoReg && index == NoReg {
		e.mod, e.rm, e.dispLen = 0, 5, 4
		return e, nil
	}
	if index != NoReg || base == ESP {
		e.rm, e.hasSIB = 4, true
		ss := map[int]byte{1: 0, 2: 1, 4: 2, 8: 3}[scale]
		idx := byte(4) // "no index"
		if index != NoReg {
			idx = index.num()
		}
		if base == NoReg {
			e.sib = ss<<6 | idx<<3 | 5
			e.mod, e.dispLen = 0, 4
			return e, nil
		}
		e.sib = ss<<6 | idx<<3 | base.num()
	} else {
		e.rm = base.num()
	}
	d := int64(m.Disp)
	switch {
	case m.Label != "":
		e.mod, e.dispLen = 2, 4
	case d == 0 && base != EBP: // [ebp] has no disp-less form
		e.mod = 0
	case fitsInt8(d):
		e.mod, e.dispLen = 1, 1
	default:
		e.mod, e.dispLen = 2, 4
	}
	return e, nil
}
