package x86_16

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestSSEDotListing builds the kind of loop an exact int16 dot product
// needs (enable SSE, pmaddwd, widen the int32 pair sums to int64 with
// psrad/punpck, accumulate with paddq, fold the halves) and checks that its
// listing, labels and segment overrides included, assembles with NASM to
// our bytes. The rows test each form alone; this tests them in a Program.
func TestSSEDotListing(t *testing.T) {
	var p Program
	p.Label("start")
	p.I(MOV, EAX, CR0)
	p.I(AND, AX, Imm(0xFFFB)) // clear EM
	p.I(OR, AX, Imm(2))       // set MP
	p.I(MOV, CR0, EAX)
	p.I(MOV, EAX, CR4)
	p.I(OR, AX, Imm(0x600)) // OSFXSR, OSXMMEXCPT
	p.I(MOV, CR4, EAX)
	p.I(PXOR, XMM7, XMM7)
	p.I(MOV, ECX, Imm(4))
	p.Label("loop")
	p.I(MOVDQU, XMM0, Mem{Base: ESI, Seg: FS})
	p.I(MOVDQU, XMM1, Ptr32(EDI, 0, 0, 0))
	p.I(PMADDWD, XMM0, XMM1)
	p.I(MOVDQA, XMM1, XMM0)
	p.I(PSRAD, XMM1, Imm(31))
	p.I(MOVDQA, XMM2, XMM0)
	p.I(PUNPCKLDQ, XMM0, XMM1)
	p.I(PUNPCKHDQ, XMM2, XMM1)
	p.I(PADDQ, XMM7, XMM0)
	p.I(PADDQ, XMM7, XMM2)
	p.I(ADD, ESI, Imm(16))
	p.I(ADD, EDI, Imm(16))
	p.I(DEC, ECX)
	p.I(JNZ, Label("loop"))
	p.I(PSHUFD, XMM0, XMM7, Imm(0x4E))
	p.I(PADDQ, XMM7, XMM0)
	p.I(MOVQ, Q(At("sum", 0)), XMM7)
	p.I(MOVD, EAX, XMM7)
	p.I(PSRLDQ, XMM7, Imm(4))
	p.I(MOVD, D(At("sum", 8)), XMM7)
	p.I(MOVDQA, XMM6, O(At("bias", 0).In(ES)))
	p.I(PSHUFD, XMM5, At("bias", 0), Imm(0))
	p.I(RET)
	p.Align(16, 0)
	p.Label("bias")
	p.DB(make([]byte, 16)...)
	p.Label("sum")
	p.DB(make([]byte, 12)...)
	got := mustAssemble(t, &p, 0x7c00)
	lst := p.Listing()
	for _, want := range []string{"mov cr4, eax", "movdqu xmm0, [fs:esi]", "movq qword [sum], xmm7",
		"movdqa xmm6, oword [es:bias]", "pshufd xmm5, [bias], 0x0"} {
		assert.Contains(t, lst, want, "listing:\n%s", lst)
	}
	checkWithNASM(t, &p, got, true)
}
