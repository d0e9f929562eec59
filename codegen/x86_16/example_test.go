package x86_16_test

import (
	"fmt"

	x86 "tfc/codegen/x86_16"
)

func Example() {
	var p x86.Program
	p.Label("clear")
	p.I(x86.XOR, x86.AX, x86.AX)                                             // xor ax, ax
	p.I(x86.MOV, x86.CX, x86.Imm(0x100))                                     // mov cx, 0x100
	p.I(x86.MOV, x86.DI, x86.ImmLabel{Name: "buf"})                          // mov di, buf
	p.I(x86.REP | x86.STOSW)                                                 // rep stosw
	p.I(x86.MOV, x86.W(x86.Ptr16(x86.BX, x86.SI, 4).In(x86.ES)), x86.Imm(3)) // mov word [es:bx+si+0x4], 0x3
	p.I(x86.MOV, x86.EAX, x86.D(x86.Ptr32(x86.ESI, x86.ECX, 4, 0x10)))       // mov eax, dword [esi+ecx*4+0x10]
	p.I(x86.JNE, x86.Label("clear"))                                         // jne short clear
	p.I(x86.RET)
	p.Label("buf")
	code, err := p.Assemble(0x7c00)
	fmt.Printf("% x %v %#x\n", code, err, p.Symbols()["buf"])
	// Output:
	// 31 c0 b9 00 01 bf 19 7c f3 ab 26 c7 40 04 03 00 66 67 8b 44 8e 10 75 e8 c3 <nil> 0x7c19
}
