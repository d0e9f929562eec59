package x86_16

import (
	"fmt"
	"strings"
)

func hexNum(v int64) string {
	if v < 0 {
		return fmt.Sprintf("-0x%x", uint64(-v))
	}
	return fmt.Sprintf("0x%x", v)
}

// signed renders "+0x4" / "-0x4" for appending to an address expression.
func signed(v int64) string {
	if v < 0 {
		return hexNum(v)
	}
	return "+" + hexNum(v)
}

var sizeNames = map[int]string{8: "byte", 16: "word", 32: "dword", 64: "qword", 128: "oword"}

// String prints the instruction in NASM syntax.
func (in Inst) String() string {
	var sb strings.Builder
	sb.WriteString(in.Op.String())
	for i, a := range in.Args {
		if i == 0 {
			sb.WriteByte(' ')
		} else {
			sb.WriteString(", ")
		}
		if m, ok := a.(Mem); ok && noSizeOps[in.Op.Base()] {
			m.Size = 0 // NASM rejects a size on lgdt's pseudo-descriptor
			a = m
		}
		if s, ok := a.(Short); ok && rel8Only[in.Op.Base()] {
			a = s.To // NASM rejects "short" where no other form exists
		}
		sb.WriteString(operandString(a))
	}
	return sb.String()
}

// rel8Only branches have no near form.
var rel8Only = map[Op]bool{LOOP: true, LOOPE: true, LOOPNE: true, JCXZ: true, JECXZ: true}

// noSizeOps take a memory operand whose size is meaningless, or, for
// pshufd, one whose size NASM rejects: its table sizes every operand of
// pshufd as its imm8 (the SB flag), so "oword [si]" is a mismatch there.
var noSizeOps = map[Op]bool{LEA: true, LGDT: true, LIDT: true, PSHUFD: true}

func operandString(o Operand) string {
	switch o := o.(type) {
	case Reg:
		return o.String()
	case Mem:
		return o.String()
	case Imm:
		return hexNum(int64(o))
	case ImmLabel:
		return nasmIdent(o.Name) + addend(o.Add)
	case SizedImm:
		return sizeNames[o.Size] + " " + operandString(o.Val)
	case Label:
		return nasmIdent(string(o))
	case Addr:
		return hexNum(int64(o))
	case Short:
		return "short " + operandString(o.To)
	case Near:
		return "near " + operandString(o.To)
	case Far:
		s := ""
		if o.Size == 32 {
			s = "dword "
		}
		s += hexNum(int64(o.Seg)) + ":"
		if o.Label != "" {
			return s + nasmIdent(o.Label) + addend(int64(o.Off))
		}
		return s + hexNum(int64(o.Off))
	case nil:
		return "<nil>"
	}
	return fmt.Sprintf("<%T>", o)
}

func addend(v int64) string {
	if v == 0 {
		return ""
	}
	return signed(v)
}

func (m Mem) String() string {
	var sb strings.Builder
	if n, ok := sizeNames[m.Size]; ok {
		sb.WriteString(n + " ")
	}
	sb.WriteByte('[')
	if m.Seg != NoReg {
		sb.WriteString(m.Seg.String() + ":")
	}
	if !m.hasRegs() {
		if m.Addr32 {
			sb.WriteString("dword ")
		}
		switch {
		case m.Label != "":
			sb.WriteString(nasmIdent(m.Label) + addend(int64(m.Disp)))
		case m.Addr32:
			sb.WriteString(hexNum(int64(uint32(m.Disp))))
		default:
			sb.WriteString(hexNum(int64(uint16(m.Disp))))
		}
		sb.WriteByte(']')
		return sb.String()
	}
	plus := ""
	if m.Base != NoReg {
		sb.WriteString(m.Base.String())
		plus = "+"
	}
	if m.Index != NoReg {
		sb.WriteString(plus + m.Index.String())
		if m.Scale != 0 {
			fmt.Fprintf(&sb, "*%d", m.Scale)
		}
	}
	if m.Label != "" {
		sb.WriteString("+" + nasmIdent(m.Label))
	}
	d := int64(m.Disp)
	if !m.is32() && m.Label == "" {
		d = int64(int16(m.Disp)) // what the CPU computes, and NASM accepts silently
	}
	sb.WriteString(addend(d))
	sb.WriteByte(']')
	return sb.String()
}

// nasmIdent protects label names that NASM would read otherwise: keywords
// get NASM's $ escape, and names starting with '.' (NASM local labels,
// scoped to the previous label, while a Program's labels are flat) get the
// ..@ prefix, which NASM keeps out of local-label scoping.
func nasmIdent(name string) string {
	if strings.HasPrefix(name, ".") {
		return "..@" + name
	}
	if reservedNames[strings.ToLower(name)] {
		return "$" + name
	}
	return name
}

var reservedNames = func() map[string]bool {
	m := map[string]bool{}
	for r := AL; r < regEnd; r++ {
		m[r.String()] = true
	}
	for _, s := range strings.Fields(`byte word dword qword tword oword short near far
		strict seg wrt abs rel nosplit to times db dw dd dq equ org bits align
		section segment absolute global extern cr1 cr2 cr3 cr4 dr0 st0 rep repe repz repne repnz lock o16 o32 a16 a32`) {
		m[s] = true
	}
	for name := range opByName {
		m[name] = true
	}
	return m
}()

// validLabel accepts names that nasmIdent can print as a NASM identifier.
func validLabel(name string) bool {
	if name == "" {
		return false
	}
	for i, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == '?', c == '.':
		case i > 0 && (c >= '0' && c <= '9' || c == '$' || c == '@' || c == '#' || c == '~'):
		default:
			return false
		}
	}
	return true
}

// Listing returns NASM source that assembles (nasm -f bin) to the bytes of
// the last Assemble; a program not yet assembled is assembled at org 0.
// Relaxed jumps are printed with the short/near the layout chose, so NASM
// cannot settle on a different fixed point.
func (p *Program) Listing() string { return p.listing(true) }

// listing without hints leaves relaxed jumps to NASM's own relaxation,
// which tests compare with ours.
func (p *Program) listing(hints bool) string {
	var sb strings.Builder
	if !p.assembled {
		if _, err := p.Assemble(p.org); err != nil {
			fmt.Fprintf(&sb, "; does not assemble: %s\n", strings.ReplaceAll(err.Error(), "\n", "\n; "))
		}
	}
	fmt.Fprintf(&sb, "bits 16\norg %s\n", hexNum(int64(p.org)))
	for i, it := range p.items {
		switch it.kind {
		case itLabel:
			fmt.Fprintf(&sb, "%s:\n", nasmIdent(it.name))
		case itEqu:
			fmt.Fprintf(&sb, "%s equ %s\n", nasmIdent(it.name), hexNum(it.add))
		case itMark:
			fmt.Fprintf(&sb, "; region %s\n", strings.ReplaceAll(it.name, "\n", " "))
		case itInst:
			in := it.inst
			if hints && p.assembled && in.isRelaxable() {
				args := []Operand{Short{in.Args[0]}}
				if p.long[i] {
					args[0] = Near{in.Args[0]}
				}
				in = Inst{Op: in.Op, Args: args}
			}
			fmt.Fprintf(&sb, "    %s\n", in)
		case itData:
			for off := 0; off < len(it.data); off += 16 {
				chunk := it.data[off:min(off+16, len(it.data))]
				parts := make([]string, len(chunk))
				for k, c := range chunk {
					parts[k] = fmt.Sprintf("0x%02x", c)
				}
				fmt.Fprintf(&sb, "    db %s\n", strings.Join(parts, ", "))
			}
		case itRef:
			fmt.Fprintf(&sb, "    %s %s%s\n", map[int]string{2: "dw", 4: "dd"}[it.n], nasmIdent(it.name), addend(it.add))
		case itPad:
			if p.assembled && p.sizes[i] > 0 {
				fmt.Fprintf(&sb, "    times %d db 0x%02x\n", p.sizes[i], it.fill)
			} else if !p.assembled {
				fmt.Fprintf(&sb, "    times %d-($-$$) db 0x%02x\n", it.n, it.fill)
			}
		case itAlign:
			// Explicit padding: NASM's align counts from the section start,
			// not from org.
			if p.assembled && p.sizes[i] > 0 {
				fmt.Fprintf(&sb, "    times %d db 0x%02x\n", p.sizes[i], it.fill)
			} else if !p.assembled {
				fmt.Fprintf(&sb, "    align %d, db 0x%02x\n", it.n, it.fill)
			}
		}
	}
	return sb.String()
}
