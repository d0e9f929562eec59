package x86_16

import "fmt"

// Failure ranks: when no form matches, the error from the form that got
// furthest is the most useful one.
const (
	rankShape = iota
	rankSize
	rankUnsized
	rankRange
)

type failure struct {
	rank int
	msg  string
}

type matchState struct {
	bKnown bool
	v      int
	vClash bool
}

func (s *matchState) addV(n int) *failure {
	if n != 16 && n != 32 {
		return &failure{rankSize, "operand size mismatch"}
	}
	if s.v != 0 && s.v != n {
		s.vClash = true
	}
	s.v = n
	return nil
}

var (
	failShape = &failure{rankShape, "invalid combination of operands"}
	failSize  = &failure{rankSize, "operand size mismatch"}
)

func immRange(v int64, lo, hi int64, bits int) *failure {
	if v < lo || v > hi {
		return &failure{rankRange, fmt.Sprintf("immediate %s out of range for %d-bit operand", hexNum(v), bits)}
	}
	return nil
}

// matchArg checks one operand against one slot and records what it says
// about the operation size.
func matchArg(k kind, o Operand, s *matchState, ctx *encCtx) *failure {
	switch k {
	case kR8, kZ8, kR, kZ, kR32RM, kRM8, kRM, kRM16, kRMSrcSeg, kRMFromSeg:
		switch o := o.(type) {
		case Reg:
			if !o.isGPR() {
				return failShape
			}
			switch k {
			case kR8, kZ8, kRM8:
				if !o.isGPR8() {
					return failSize
				}
				s.bKnown = true
			case kR, kZ, kRM, kRMFromSeg:
				if o.isGPR8() {
					return failSize
				}
				return s.addV(o.Size())
			case kRMSrcSeg:
				if o.isGPR8() {
					return failSize
				}
			case kRM16:
				if !o.isGPR16() {
					return failSize
				}
			case kR32RM:
				if !o.isGPR32() {
					return failSize
				}
			}
			return nil
		case Mem:
			switch k {
			case kRM8:
				return matchMemB(o, s)
			case kRM:
				return matchMemV(o, s)
			case kRM16: // movzx/movsx: NASM insists on an explicit size
				if o.Size == 0 {
					return &failure{rankUnsized, "operand size not specified"}
				}
				if o.Size != 16 {
					return failSize
				}
				return nil
			case kRMSrcSeg:
				if o.Size != 0 && o.Size != 16 {
					return failSize
				}
				return nil
			case kRMFromSeg:
				if o.Size != 0 && o.Size != 16 {
					return failSize
				}
				return s.addV(16)
			}
		}
		return failShape
	case kM:
		if _, ok := o.(Mem); ok {
			return nil
		}
		return failShape
	case kMoffs8, kMoffs:
		m, ok := o.(Mem)
		if !ok || m.hasRegs() {
			return failShape
		}
		if k == kMoffs8 {
			return matchMemB(m, s)
		}
		return matchMemV(m, s)
	case kAL:
		if o != Operand(AL) {
			return failShape
		}
		s.bKnown = true
		return nil
	case kAcc:
		if o != Operand(AX) && o != Operand(EAX) {
			return failShape
		}
		return s.addV(o.(Reg).Size())
	case kCL, kDX, kES, kCS, kSS, kDS, kFS, kGS:
		if o != Operand(fixedRegs[k]) {
			return failShape
		}
		return nil
	case kOne:
		if o != Operand(Imm(1)) {
			return failShape
		}
		return nil
	case kSreg, kSregDst:
		r, ok := o.(Reg)
		if !ok || !r.IsSeg() {
			return failShape
		}
		if k == kSregDst && r == CS {
			return &failure{rankRange, "cs cannot be loaded with mov (use a far jump)"}
		}
		return nil
	case kCR:
		if r, ok := o.(Reg); !ok || !r.isCR() {
			return failShape
		}
		return nil
	case kIB, kI8, kU8, kU16:
		switch o := o.(type) {
		case ImmLabel:
			return nil
		case Imm:
			switch k {
			case kU8:
				return immRange(int64(o), 0, 0xFF, 8)
			case kU16:
				return immRange(int64(o), 0, 0xFFFF, 16)
			}
			return immRange(int64(o), -0x80, 0xFF, 8)
		}
		return failShape
	case kI8s, kI:
		switch o := o.(type) {
		case Imm:
			return nil
		case ImmLabel:
			if k == kI8s { // NASM never shortens label immediates
				return failShape
			}
			return nil
		case SizedImm:
			_, isLabel := o.Val.(ImmLabel)
			if _, isImm := o.Val.(Imm); !isImm && !(isLabel && k == kI) {
				return failShape
			}
			return s.addV(o.Size)
		}
		return failShape
	case kX, kXR, kXM128, kXM64, kM64, kRM32:
		return matchSSE(k, o)
	case kRel8, kRelShort, kRelNear, kRel16:
		return matchTarget(k, o, ctx)
	case kFar:
		f, ok := o.(Far)
		if !ok {
			return failShape
		}
		if f.Size == 0 {
			return s.addV(16)
		}
		return s.addV(f.Size)
	}
	panic(fmt.Sprintf("BUG: unknown operand kind %d", k))
}

var fixedRegs = map[kind]Reg{kCL: CL, kDX: DX, kES: ES, kCS: CS, kSS: SS, kDS: DS, kFS: FS, kGS: GS}

// matchSSE checks an SSE slot. A memory operand may be unsized (the xmm
// operand says it all, and NASM accepts that) or carry the slot's size.
func matchSSE(k kind, o Operand) *failure {
	switch o := o.(type) {
	case Reg:
		switch k {
		case kX, kXR, kXM128, kXM64:
			if o.isXMM() {
				return nil
			}
		case kRM32:
			if o.isGPR32() {
				return nil
			}
			if o.isGPR() {
				return failSize
			}
		}
		return failShape
	case Mem:
		size := map[kind]int{kXM128: 128, kXM64: 64, kM64: 64, kRM32: 32}[k]
		if size == 0 {
			return failShape
		}
		if o.Size != 0 && o.Size != size {
			return failSize
		}
		return nil
	}
	return failShape
}

func matchMemB(m Mem, s *matchState) *failure {
	switch m.Size {
	case 0:
	case 8:
		s.bKnown = true
	default:
		return failSize
	}
	return nil
}

func matchMemV(m Mem, s *matchState) *failure {
	switch m.Size {
	case 0:
		return nil
	case 8:
		return failSize
	}
	return s.addV(m.Size)
}

func matchTarget(k kind, o Operand, ctx *encCtx) *failure {
	switch o.(type) {
	case Label:
		switch k {
		case kRelShort:
			if ctx.long {
				return failShape
			}
		case kRelNear:
			if !ctx.long {
				return failShape
			}
		}
		return nil
	case Addr:
		if k == kRelShort {
			return failShape
		}
		return nil
	case Short:
		if k == kRel8 || k == kRelShort {
			return nil
		}
		return &failure{rankRange, "no short form"}
	case Near:
		if k == kRelNear || k == kRel16 {
			return nil
		}
		return &failure{rankRange, "no near form"}
	}
	return failShape
}

// fitsSext8 reports whether v, as an n-bit value, is the sign extension of
// its low byte (the 83 /n and 6B forms).
func fitsSext8(v int64, n int) bool {
	mask := int64(1)<<n - 1
	if v < -(int64(1)<<(n-1)) || v > mask {
		return false
	}
	m := v & mask
	return int64(int8(m))&mask == m
}

// match returns the operation size (16/32 for forms with 16/32-bit operands)
// or why the form does not fit.
func (f *form) match(args []Operand, ctx *encCtx) (int, *failure) {
	if len(args) != len(f.args) {
		return 0, &failure{rankShape - 1, fmt.Sprintf("wrong number of operands (%d)", len(args))}
	}
	s := matchState{bKnown: f.flags&fByte != 0}
	var worst *failure
	for i, k := range f.args {
		if fl := matchArg(k, args[i], &s, ctx); fl != nil {
			if worst == nil || fl.rank < worst.rank {
				worst = fl
			}
		}
	}
	if worst != nil {
		return 0, worst
	}
	if s.vClash {
		return 0, failSize
	}
	if f.hasB && !s.bKnown {
		return 0, &failure{rankUnsized, "operand size not specified"}
	}
	if f.hasV && s.v == 0 {
		if f.flags&fDefault16 == 0 {
			return 0, &failure{rankUnsized, "operand size not specified"}
		}
		s.v = 16
	}
	if f.flags&fOnly32 != 0 && s.v != 32 {
		return 0, failSize
	}
	for i, k := range f.args {
		v, ok := immValue(args[i])
		if !ok {
			continue
		}
		switch k {
		case kI8s:
			if !fitsSext8(v, s.v) {
				return 0, &failure{rankShape, "immediate does not fit imm8"}
			}
		case kI:
			if fl := immRange(v, -(int64(1) << (s.v - 1)), int64(1)<<s.v-1, s.v); fl != nil {
				return 0, fl
			}
		}
	}
	return s.v, nil
}

// immValue is the value of a numeric immediate (false for labels).
func immValue(o Operand) (int64, bool) {
	switch o := o.(type) {
	case Imm:
		return int64(o), true
	case SizedImm:
		return immValue(o.Val)
	}
	return 0, false
}
