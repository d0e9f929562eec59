package runtime

import (
	"fmt"

	x86 "tfc/codegen/x86_16"
)

// The loader: the sectors after the full boot sector, which that sector
// loads to LoaderAddr, checks (sum) and enters with the stack it set up,
// DS = ES = 0. It checks the machine, then loads and checks the image:
//
//   - the CPU: a 386 at least (the code uses 32-bit registers): FLAGS bits
//     12-14 can be set on a 386 in real mode, never on a 286 (always
//     clear) or an 8086 (always set). The test runs in 16-bit code;
//   - the memory: segmented, INT 12h (KiB below 640 KiB) against the
//     image's end; flat, the E820 entry of usable memory at 1 MiB (INT
//     15h AX=E820h), else INT 15h AX=E801h (memory from 1 MiB up to the
//     first hole), else AH=88h (KiB above 1 MiB), against the image's end
//     (BootConfig.End: data, caches, activations). The check comes before
//     any data is loaded, so that nothing is written where there is no
//     memory (or where a device is);
//   - the main code, loaded to CodeAddr with the boot sector's load, its
//     words summed (boot sector's sum);
//   - the data, flat through the bounce buffer with A20 on and unreal
//     mode entered after each read (a BIOS call may reload the segment
//     caches with 64 KiB limits), segmented straight to DataAddr; then
//     its dwords and SumSeed32 must add up to 0.
//
// Each failure prints a message ("needs a 386", "not enough memory",
// "checksum error") through the boot sector's failmsg, which exits with
// code 2. Then it jumps to the main code.
func emitLoader(p *x86.Program, c BootConfig, r BootRoutines) {
	// The boot sector's routines, under names of their own (a listing
	// holds both programs).
	const failmsg, load, sum, msgSum = "bs.failmsg", "bs.load", "bs.sum", "bs.msg.sum"
	p.Equ(failmsg, r.FailMsg)
	p.Equ(load, r.Load)
	p.Equ(sum, r.Sum)
	p.Equ(msgSum, r.Msg)
	dap := func(off int32) x86.Mem { return x86.W(x86.Abs16(uint16(int32(r.DAP) + off))) }

	p.Mark("loader.cpu")
	p.I(x86.MOV, x86.AH, x86.Imm(0x70))
	p.I(x86.PUSH, x86.AX)
	p.I(x86.POPF)
	p.I(x86.PUSHF)
	p.I(x86.POP, x86.AX)
	p.I(x86.PUSH, x86.DS) // 0: clean flags again
	p.I(x86.POPF)
	p.I(x86.STI)
	p.I(x86.AND, x86.AH, x86.Imm(0xF0))
	p.I(x86.CMP, x86.AH, x86.Imm(0x70))
	p.I(x86.MOV, x86.SI, x86.ImmLabel{Name: "msg.cpu"})
	p.I(x86.JNE, x86.Label(failmsg))

	if c.SSE2 {
		emitSSE2On(p, failmsg)
	}

	p.Mark("loader.memory")
	p.I(x86.PUSH, x86.DS) // the boot sector's CHS reads change ES
	p.I(x86.POP, x86.ES)
	if c.Flat {
		emitMemoryFlat(p, c, failmsg)
	} else {
		kib := (uint64(c.end()) + 1023) / 1024
		p.I(x86.INT, x86.Imm(0x12)) // AX = KiB from 0
		p.I(x86.CMP, x86.AX, x86.Imm(int64(kib)))
		p.I(x86.MOV, x86.SI, x86.ImmLabel{Name: "msg.mem"})
		p.I(x86.JB, x86.Label(failmsg))
	}

	p.Mark("loader.load")
	// The boot sector's reads left the DAP's offset 0 and its LBA at the
	// sector after the loader.
	p.I(x86.MOV, dap(6), x86.Imm(CodeAddr>>4))
	p.I(x86.MOV, x86.BP, x86.Imm(int64(c.CodeSectors)))
	p.I(x86.CALL, x86.Label(load))
	p.I(x86.MOV, x86.SI, x86.Imm(CodeAddr))
	p.I(x86.MOV, x86.CX, x86.Imm(int64(c.CodeSectors*SectorSize/2)))
	p.I(x86.CALL, x86.Label(sum))
	a := c.dataAddr()
	if c.Flat {
		// Fast A20; bit 0 (reset) reads as 0 and is written back as 0.
		p.I(x86.IN, x86.AL, x86.Imm(0x92))
		p.I(x86.OR, x86.AL, x86.Imm(2))
		p.I(x86.OUT, x86.Imm(0x92), x86.AL)
		if c.DataSectors == 0 {
			p.I(x86.CALL, x86.Label("unreal"))
		} else {
			p.I(x86.MOV, x86.EDI, x86.Imm(int64(a)))
			p.I(x86.MOV, x86.EBP, x86.Imm(int64(c.DataSectors)))
			p.Label("chunk")
			p.I(x86.MOV, dap(6), x86.Imm(BounceAddr>>4))
			p.I(x86.XOR, x86.EAX, x86.EAX)
			p.I(x86.MOV, x86.AL, x86.Imm(chunkSectors))
			p.I(x86.CMP, x86.EAX, x86.EBP)
			p.I(x86.JBE, x86.Label("chunk.n"))
			p.I(x86.MOV, x86.EAX, x86.EBP)
			p.Label("chunk.n")
			// Not every BIOS keeps the top halves of 32-bit registers.
			p.I(x86.PUSHAD)
			p.I(x86.MOV, x86.BP, x86.AX)
			p.I(x86.CALL, x86.Label(load))
			p.I(x86.CALL, x86.Label("unreal"))
			p.I(x86.POPAD)
			p.I(x86.MOV, x86.ECX, x86.EAX)
			p.I(x86.SHL, x86.ECX, x86.Imm(7)) // dwords
			p.I(x86.MOV, x86.ESI, x86.Imm(BounceAddr))
			p.I(x86.A32 | x86.REP | x86.MOVSD) // ES:EDI above 1 MiB
			p.I(x86.SUB, x86.EBP, x86.EAX)
			p.I(x86.JNZ, x86.Label("chunk"))

			p.Mark("loader.sum")
			p.I(x86.MOV, x86.ESI, x86.Imm(int64(a)))
			p.I(x86.MOV, x86.ECX, x86.Imm(int64(c.DataSectors*SectorSize/4)))
			p.I(x86.MOV, x86.EDX, x86.Imm(SumSeed32))
			p.Label("dsum.loop")
			p.I(x86.A32 | x86.LODSD)
			p.I(x86.ADD, x86.EDX, x86.EAX)
			p.I(x86.A32|x86.LOOP, x86.Label("dsum.loop"))
			p.I(x86.MOV, x86.SI, x86.ImmLabel{Name: msgSum})
			p.I(x86.JNZ, x86.Label(failmsg))
		}
	} else {
		if c.DataSectors > 0 {
			p.I(x86.MOV, dap(6), x86.Imm(int64(a>>4)))
			p.I(x86.MOV, dap(4), x86.Imm(int64(a&15)))
			p.I(x86.MOV, x86.BP, x86.Imm(int64(c.DataSectors)))
			p.I(x86.CALL, x86.Label(load))

			p.Mark("loader.sum")
			// Real mode: DS steps by 64 KiB each time SI wraps.
			p.I(x86.MOV, x86.BX, x86.Imm(int64(a>>4)))
			p.I(x86.MOV, x86.SI, x86.Imm(int64(a&15)))
			p.I(x86.MOV, x86.ECX, x86.Imm(int64(c.DataSectors*SectorSize/4)))
			p.I(x86.MOV, x86.EDX, x86.Imm(SumSeed32))
			p.Label("dsum.loop")
			p.I(x86.MOV, x86.DS, x86.BX)
			p.I(x86.LODSD)
			p.I(x86.TEST, x86.SI, x86.SI)
			p.I(x86.JNZ, x86.Label("sum.n"))
			p.I(x86.ADD, x86.BH, x86.Imm(0x10))
			p.Label("sum.n")
			p.I(x86.ADD, x86.EDX, x86.EAX)
			p.I(x86.A32|x86.LOOP, x86.Label("dsum.loop"))
			p.I(x86.PUSH, x86.SS) // 0
			p.I(x86.POP, x86.DS)
			p.I(x86.MOV, x86.SI, x86.ImmLabel{Name: msgSum})
			p.I(x86.JNZ, x86.Label(failmsg))
		}
		p.I(x86.PUSH, x86.DS) // the CHS reads change ES
		p.I(x86.POP, x86.ES)
	}
	p.I(x86.JMP, x86.Addr(CodeAddr))

	if c.Flat {
		emitUnreal(p)
	}
	p.Mark("loader.data")
	if c.Flat {
		// GDT: the null descriptor holds the GDTR (limit, base); selector
		// 8 is a flat 4 GiB read/write data segment.
		p.Label("gdt")
		p.DW(15)
		p.DDAddr("gdt", 0)
		p.DW(0)
		p.DB(flatDescriptor...)
	}
	p.Label("msg.cpu")
	p.DB([]byte("needs a 386\n")...)
	if c.SSE2 {
		p.Label("msg.sse2")
		p.DB([]byte("needs SSE2\n")...)
	}
	p.Label("msg.mem")
	p.DB([]byte("not enough memory\n")...)
}

// flatDescriptor is a flat 4 GiB read/write data segment (base 0, limit
// 0xFFFFF pages), for selector 8.
var flatDescriptor = []byte{0xFF, 0xFF, 0x00, 0x00, 0x00, 0x92, 0xCF, 0x00}

// emitMemoryFlat checks that memory reaches end, from 1 MiB up without a
// hole; else "not enough memory". See emitLoader.
func emitMemoryFlat(p *x86.Program, c BootConfig, failmsg string) {
	const smap = 0x534D4150 // "SMAP"
	end := c.end()
	e820, e801 := int64(0xE820), int64(0xE801)
	if c.noE820 {
		e820 = 0xE8FF
	}
	if c.noE801 {
		e801 = 0xE8FE
	}
	buf := func(off int32) x86.Mem { return x86.Abs16(uint16(e820Buf + off)) }
	p.I(x86.XOR, x86.EBX, x86.EBX)
	p.Label("e820")
	p.I(x86.MOV, x86.DI, x86.Imm(e820Buf))
	p.I(x86.MOV, x86.EAX, x86.Imm(e820))
	p.I(x86.MOV, x86.EDX, x86.Imm(smap))
	p.I(x86.MOV, x86.ECX, x86.Imm(24))
	p.I(x86.INT, x86.Imm(0x15))
	p.I(x86.JC, x86.Label("e801"))
	p.I(x86.CMP, x86.EAX, x86.Imm(smap))
	p.I(x86.JNE, x86.Label("e801"))
	p.I(x86.CMP, x86.D(buf(0)), x86.Imm(0x100000)) // base
	p.I(x86.JNE, x86.Label("e820.next"))
	p.I(x86.CMP, x86.B(buf(16)), x86.Imm(1)) // usable
	p.I(x86.JNE, x86.Label("e820.next"))
	p.I(x86.CMP, x86.D(buf(12)), x86.Imm(0)) // 4 GiB or more
	p.I(x86.JNE, x86.Label("mem.ok"))
	p.I(x86.MOV, x86.EAX, x86.D(buf(8)))
	p.I(x86.ADD, x86.EAX, x86.Imm(0x100000))
	p.I(x86.JC, x86.Label("mem.ok"))
	p.I(x86.JMP, x86.Label("mem.cmp"))
	p.Label("e820.next")
	p.I(x86.TEST, x86.EBX, x86.EBX)
	p.I(x86.JNZ, x86.Label("e820"))

	p.Label("e801")
	p.I(x86.XOR, x86.CX, x86.CX)
	p.I(x86.XOR, x86.DX, x86.DX)
	p.I(x86.MOV, x86.AX, x86.Imm(e801))
	p.I(x86.INT, x86.Imm(0x15))
	p.I(x86.JC, x86.Label("e88"))
	p.I(x86.JCXZ, x86.Label("e801.ax")) // some BIOSes answer in AX, BX only
	p.I(x86.MOV, x86.AX, x86.CX)
	p.I(x86.MOV, x86.BX, x86.DX)
	p.Label("e801.ax")
	// AX: KiB from 1 to 16 MiB; BX: 64 KiB blocks above 16 MiB, which
	// count only when the first 15 MiB are all there.
	p.I(x86.CMP, x86.AX, x86.Imm(15<<10))
	p.I(x86.JB, x86.Label("mem.kib"))
	p.I(x86.MOVZX, x86.EAX, x86.BX)
	p.I(x86.SHL, x86.EAX, x86.Imm(16))
	p.I(x86.ADD, x86.EAX, x86.Imm(16<<20))
	p.I(x86.JMP, x86.Label("mem.cmp"))
	p.Label("e88")
	p.I(x86.MOV, x86.AH, x86.Imm(0x88))
	p.I(x86.INT, x86.Imm(0x15)) // AX = KiB above 1 MiB
	p.I(x86.JC, x86.Label("mem.fail"))
	p.Label("mem.kib")
	p.I(x86.MOVZX, x86.EAX, x86.AX)
	p.I(x86.SHL, x86.EAX, x86.Imm(10))
	p.I(x86.ADD, x86.EAX, x86.Imm(0x100000))
	p.Label("mem.cmp")
	p.I(x86.CMP, x86.EAX, x86.Imm(int64(end)))
	p.I(x86.JAE, x86.Label("mem.ok"))
	p.Label("mem.fail")
	p.I(x86.MOV, x86.SI, x86.ImmLabel{Name: "msg.mem"})
	p.I(x86.JMP, x86.Label(failmsg))
	p.Label("mem.ok")
}

// emitUnreal enters unreal mode: in protected mode for a moment, DS, ES,
// FS and GS get the 4 GiB descriptor; back in real mode they are reloaded
// with 0, which sets their bases and keeps the cached limits. CS is never
// reloaded, so it keeps its real-mode cache and no far jump is needed.
// Clobbers EAX and BX.
func emitUnreal(p *x86.Program) {
	p.Mark("loader.unreal")
	p.Label("unreal")
	segs := []x86.Reg{x86.DS, x86.ES, x86.FS, x86.GS}
	p.I(x86.CLI)
	p.I(x86.LGDT, x86.At("gdt", 0))
	p.I(x86.MOV, x86.EAX, x86.CR0)
	p.I(x86.INC, x86.AX) // PE was 0
	p.I(x86.MOV, x86.CR0, x86.EAX)
	p.I(x86.MOV, x86.BX, x86.Imm(8))
	for _, s := range segs {
		p.I(x86.MOV, s, x86.BX)
	}
	p.I(x86.DEC, x86.AX)
	p.I(x86.MOV, x86.CR0, x86.EAX)
	p.I(x86.XOR, x86.BX, x86.BX)
	for _, s := range segs {
		p.I(x86.MOV, s, x86.BX)
	}
	p.I(x86.STI)
	p.I(x86.RET)
}

// Loader returns the loader program for c (full boot path), calling the
// routines r of its boot sector, assembled at LoaderAddr.
func Loader(c BootConfig, r BootRoutines) (*x86.Program, error) {
	p := &x86.Program{}
	emitLoader(p, c, r)
	if _, err := p.Assemble(LoaderAddr); err != nil {
		return nil, fmt.Errorf("loader: %w", err)
	}
	return p, nil
}

// emitSSE2On checks that the CPU has CPUID (EFLAGS.ID can change) and
// SSE2 (CPUID 1: EDX bit 26), else fails with "needs SSE2", and turns SSE
// on: CR0.EM clear and CR0.MP set (no x87 emulation), CR4.OSFXSR set
// (without it SSE instructions fault). Every register is kept (DL is the
// boot drive).
func emitSSE2On(p *x86.Program, failmsg string) {
	p.Mark("loader.sse2")
	p.I(x86.PUSHAD)
	p.I(x86.PUSHFD)
	p.I(x86.POP, x86.EAX)
	p.I(x86.MOV, x86.ECX, x86.EAX)
	p.I(x86.XOR, x86.EAX, x86.Imm(1<<21))
	p.I(x86.PUSH, x86.EAX)
	p.I(x86.POPFD)
	p.I(x86.PUSHFD)
	p.I(x86.POP, x86.EAX)
	p.I(x86.PUSH, x86.ECX)
	p.I(x86.POPFD)
	p.I(x86.XOR, x86.EAX, x86.ECX)
	p.I(x86.MOV, x86.SI, x86.ImmLabel{Name: "msg.sse2"})
	p.I(x86.JZ, x86.Label(failmsg))
	p.I(x86.MOV, x86.EAX, x86.Imm(1))
	p.I(x86.CPUID)
	p.I(x86.BT, x86.EDX, x86.Imm(26))
	p.I(x86.JNC, x86.Label(failmsg))
	p.I(x86.MOV, x86.EAX, x86.CR0)
	p.I(x86.AND, x86.AL, x86.Imm(^4&0xFF))
	p.I(x86.OR, x86.AL, x86.Imm(2))
	p.I(x86.MOV, x86.CR0, x86.EAX)
	p.I(x86.MOV, x86.EAX, x86.CR4)
	p.I(x86.OR, x86.AX, x86.Imm(1<<9))
	p.I(x86.MOV, x86.CR4, x86.EAX)
	p.I(x86.POPAD)
}
