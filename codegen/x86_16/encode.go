package x86_16

import "fmt"

// Inst is one instruction: a mnemonic (possibly with a rep prefix) and its
// operands in Intel order.
type Inst struct {
	Op   Op
	Args []Operand
}

// encCtx is what encoding needs from the layout.
type encCtx struct {
	pc     uint32                       // address of the instruction
	lookup func(string) (uint32, error) // label address
	long   bool                         // a relaxable branch uses its near form
	sizing bool                         // layout pass: label values are dummies
}

func validPrefix(op Op) bool {
	if op.segOverride() != NoReg {
		switch op.Base() {
		case LODSB, LODSW, LODSD, MOVSB, MOVSW, MOVSD, CMPSB, CMPSW, CMPSD:
		default:
			return false
		}
	}
	if op&A32 != 0 {
		switch op.Base() {
		case LODSB, LODSW, LODSD, STOSB, STOSW, STOSD, MOVSB, MOVSW, MOVSD,
			SCASB, SCASW, SCASD, CMPSB, CMPSW, CMPSD, LOOP, LOOPE, LOOPNE:
		default:
			return false
		}
	}
	switch op.prefix() {
	case 0:
		return true
	case REP:
		switch op.Base() {
		case LODSB, LODSW, LODSD, STOSB, STOSW, STOSD, MOVSB, MOVSW, MOVSD:
			return true
		}
	case REPE, REPNE:
		switch op.Base() {
		case SCASB, SCASW, SCASD, CMPSB, CMPSW, CMPSD:
			return true
		}
	}
	return false
}

// encode picks the first form that fits and emits it.
func (in Inst) encode(ctx *encCtx) ([]byte, error) {
	fs := forms[in.Op.Base()]
	if len(fs) == 0 {
		return nil, fmt.Errorf("unknown instruction %v", in.Op)
	}
	if !validPrefix(in.Op) {
		return nil, fmt.Errorf("%v: prefix not allowed with %v", in, in.Op.Base())
	}
	for _, a := range in.Args {
		switch a := a.(type) {
		case nil:
			return nil, fmt.Errorf("%v: nil operand", in)
		case Mem:
			if _, err := a.analyze(); err != nil {
				return nil, fmt.Errorf("%v: %w", in, err)
			}
		case Reg:
			if a == NoReg || a >= regEnd {
				return nil, fmt.Errorf("%v: invalid register", in)
			}
		}
	}
	var best *failure
	for i := range fs {
		osize, fl := fs[i].match(in.Args, ctx)
		if fl == nil {
			b, err := fs[i].emit(in, osize, ctx)
			if err != nil {
				return nil, fmt.Errorf("%v: %w", in, err)
			}
			return b, nil
		}
		if best == nil || fl.rank > best.rank {
			best = fl
		}
	}
	return nil, fmt.Errorf("%v: %s", in, best.msg)
}

func putLE(b []byte, v int64, n int) []byte {
	for i := 0; i < n; i++ {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

func (f *form) emit(in Inst, osize int, ctx *encCtx) ([]byte, error) {
	b := make([]byte, 0, 16)
	var mem *Mem
	var regArg, rmArg Operand
	for i, k := range f.args {
		a := in.Args[i]
		if m, ok := a.(Mem); ok && (k.isRM() || k == kMoffs || k == kMoffs8) {
			mem = &m
		}
		if k.isRM() {
			rmArg = a
		}
		if k.isReg() {
			regArg = a
		}
	}
	if f.flags&fDupReg != 0 {
		rmArg = regArg
	}
	var me memEnc
	if mem != nil {
		var err error
		if me, err = mem.analyze(); err != nil {
			return nil, err
		}
	}

	switch in.Op.prefix() {
	case REP, REPE:
		b = append(b, 0xF3)
	case REPNE:
		b = append(b, 0xF2)
	}
	if mem != nil && mem.Seg != NoReg {
		b = append(b, segPrefix(mem.Seg))
	}
	if r := in.Op.segOverride(); r != NoReg {
		b = append(b, segPrefix(r))
	}
	if (f.hasV && osize == 32) || f.flags&fO32 != 0 {
		b = append(b, 0x66)
	}
	if (mem != nil && me.addr32) || in.Op&A32 != 0 {
		b = append(b, 0x67)
	}
	b = append(b, f.opcode...)
	for i, k := range f.args {
		if k == kZ || k == kZ8 {
			b[len(b)-1] += in.Args[i].(Reg).num()
		}
	}

	if f.modrm {
		reg := byte(f.ext)
		if f.ext < 0 {
			reg = regArg.(Reg).num()
		}
		switch rm := rmArg.(type) {
		case Reg:
			b = append(b, 0xC0|reg<<3|rm.num())
		case Mem:
			b = append(b, me.mod<<6|reg<<3|me.rm)
			if me.hasSIB {
				b = append(b, me.sib)
			}
			var err error
			if b, err = appendDisp(b, rm, me.dispLen, ctx); err != nil {
				return nil, err
			}
		default:
			panic("BUG: ModRM form without r/m operand")
		}
	} else if mem != nil { // moffs: the address follows the opcode directly
		n := 2
		if me.addr32 {
			n = 4
		}
		var err error
		if b, err = appendDisp(b, *mem, n, ctx); err != nil {
			return nil, err
		}
	}

	for i, k := range f.args {
		a := in.Args[i]
		var err error
		switch k {
		case kIB, kI8, kI8s, kU8:
			b, err = appendImm(b, a, 1, k, ctx)
		case kU16:
			b, err = appendImm(b, a, 2, k, ctx)
		case kI:
			b, err = appendImm(b, a, osize/8, k, ctx)
		case kFar:
			b, err = appendFar(b, a.(Far), osize, ctx)
		case kRel8, kRelShort:
			b, err = appendRel(b, a, 1, ctx)
		case kRelNear, kRel16:
			b, err = appendRel(b, a, 2, ctx)
		}
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}

// value resolves name+add; in the layout pass labels are dummies (0).
func labelValue(name string, add int64, ctx *encCtx) (int64, error) {
	if ctx.sizing {
		return 0, nil
	}
	a, err := ctx.lookup(name)
	if err != nil {
		return 0, err
	}
	return int64(a) + add, nil
}

func appendDisp(b []byte, m Mem, n int, ctx *encCtx) ([]byte, error) {
	v := int64(m.Disp)
	if m.Label != "" {
		var err error
		if v, err = labelValue(m.Label, v, ctx); err != nil {
			return nil, err
		}
		if !ctx.sizing && n == 2 && (v < -0x8000 || v > 0xFFFF) {
			return nil, fmt.Errorf("address %s of %s does not fit 16-bit addressing (set Addr32)", hexNum(v), m.Label)
		}
		if !ctx.sizing && n == 4 && (v < -(1<<31) || v > 0xFFFFFFFF) {
			return nil, fmt.Errorf("address %s of %s does not fit 32 bits", hexNum(v), m.Label)
		}
	}
	return putLE(b, v, n), nil
}

func appendImm(b []byte, a Operand, n int, k kind, ctx *encCtx) ([]byte, error) {
	if s, ok := a.(SizedImm); ok {
		a = s.Val
	}
	switch a := a.(type) {
	case Imm:
		return putLE(b, int64(a), n), nil
	case ImmLabel:
		v, err := labelValue(a.Name, a.Add, ctx)
		if err != nil {
			return nil, err
		}
		if !ctx.sizing {
			lo, hi := -(int64(1) << (8*n - 1)), int64(1)<<(8*n)-1
			if k == kU8 || k == kU16 {
				lo = 0
			}
			if fl := immRange(v, lo, hi, 8*n); fl != nil {
				return nil, fmt.Errorf("%s (address of %s)", fl.msg, a.Name)
			}
		}
		return putLE(b, v, n), nil
	}
	panic("BUG: immediate slot without immediate")
}

func appendFar(b []byte, f Far, osize int, ctx *encCtx) ([]byte, error) {
	off := int64(f.Off)
	if f.Label != "" {
		var err error
		if off, err = labelValue(f.Label, off, ctx); err != nil {
			return nil, err
		}
	}
	if osize == 16 && off > 0xFFFF {
		return nil, fmt.Errorf("far offset %s does not fit 16 bits (use Size 32)", hexNum(off))
	}
	b = putLE(b, off, osize/8)
	return putLE(b, int64(f.Seg), 2), nil
}

// target returns a branch target's address.
func target(o Operand, ctx *encCtx) (int64, error) {
	switch o := o.(type) {
	case Short:
		return target(o.To, ctx)
	case Near:
		return target(o.To, ctx)
	case Label:
		return labelValue(string(o), 0, ctx)
	case Addr:
		return int64(o), nil
	}
	return 0, fmt.Errorf("invalid branch target %T", o)
}

// appendRel appends the displacement from the end of the instruction (the
// rel field is always last) to the target.
func appendRel(b []byte, a Operand, n int, ctx *encCtx) ([]byte, error) {
	t, err := target(a, ctx)
	if err != nil {
		return nil, err
	}
	if ctx.sizing {
		return putLE(b, 0, n), nil
	}
	d := t - (int64(ctx.pc) + int64(len(b)+n))
	if n == 1 && !fitsInt8(d) {
		return nil, fmt.Errorf("branch target out of rel8 range (%d bytes)", d)
	}
	// IP wraps at 64 KiB, so any distance within the segment is reachable.
	if n == 2 && (d < -0xFFFF || d > 0xFFFF) {
		return nil, fmt.Errorf("branch target out of rel16 range (%d bytes)", d)
	}
	return putLE(b, d, n), nil
}

// isRelaxable reports whether in is a jump whose size the layout decides.
func (in Inst) isRelaxable() bool {
	if len(in.Args) != 1 {
		return false
	}
	if _, ok := in.Args[0].(Label); !ok {
		return false
	}
	for _, f := range forms[in.Op.Base()] {
		if len(f.args) == 1 && f.args[0] == kRelShort {
			return true
		}
	}
	return false
}

// labelTarget is the label a one-operand branch jumps to.
func (in Inst) labelTarget() (string, bool) {
	if len(in.Args) == 1 {
		if l, ok := in.Args[0].(Label); ok {
			return string(l), true
		}
	}
	return "", false
}
