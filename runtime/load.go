package runtime

import . "tfc/codegen/x86_16"

// Disk reading in the boot sector. One disk address packet (DAP) drives
// both read methods: its LBA is the next sector to read and its buffer the
// place it goes. Extended reads (AH=42h) take chunkSectors at a time; the
// CHS fallback (AH=02h) reads one sector per call, so the chunk size, the
// immediate at maxc+1, doubles as the "which method" flag.

// emitDiskSetup checks for the INT 13h extensions and, without them, gets
// the CHS geometry and drops the chunk size to one sector. The shared block
// (fail, exit, putc) sits in its middle, where the failed AH=08h falls into
// fail: what comes before depends on the configuration only.
func emitDiskSetup(p *Program, c BootConfig) {
	p.Mark("boot.disk_setup")
	if !c.ForceCHS {
		p.I(MOV, AH, Imm(int64(c.extFunction())))
		p.I(MOV, BX, Imm(0x55AA))
		p.I(INT, Imm(0x13))
		p.I(JC, Label("chs"))
		p.I(CMP, BX, Imm(0xAA55))
		p.I(JNE, Label("chs"))
		p.I(SHR, CX, Imm(1)) // bit 0: AH=42h supported
		p.I(JC, Label("disk_ready"))
	}
	p.Label("chs")
	p.I(MOV, AH, Imm(8))
	p.I(INT, Imm(0x13))
	// Without a geometry the divisions below would fault on a zero.
	p.I(JNC, Label("chs.geometry"))
	emitShared(p, c)
	p.Mark("boot.disk_setup")
	p.Label("chs.geometry")
	p.I(AND, CX, Imm(0x3F))
	p.I(MOV, At("spt", 0), CX)
	p.I(MOVZX, DX, DH) // last head number
	p.I(INC, DX)
	p.I(MOV, At("heads", 0), DX)
	p.I(POP, DX) // AH=08h returned the drive count in DL
	p.I(PUSH, DX)
	if !c.ForceCHS {
		p.I(MOV, B(At("maxc", 1)), Imm(1))
	}
	p.Label("disk_ready")
}

// emitLoad emits load: read EBP (segmented: BP) sectors, chunk by chunk,
// to EDI (flat: through the bounce buffer) or to the DAP buffer
// (segmented: advancing its segment).
func emitLoad(p *Program, c BootConfig) {
	chunk := int64(chunkSectors)
	if c.ForceCHS {
		chunk = 1
	}
	p.Mark("boot.load")
	p.Label("load")
	if c.Flat {
		p.I(XOR, EAX, EAX)
		p.Label("maxc")
		p.I(MOV, AL, Imm(chunk))
		p.I(CMP, EAX, EBP)
		p.I(JBE, Label("load.n"))
		p.I(MOV, EAX, EBP)
		p.Label("load.n")
		p.I(CALL, Label("read"))
		p.I(ADD, At("lba", 0), EAX)
		p.I(MOV, ECX, EAX)
		p.I(SHL, ECX, Imm(7)) // dwords
		p.I(MOV, ESI, Imm(BounceAddr))
		p.DB(0x67) // a32 rep movsd: ES:EDI above 1 MiB
		p.I(REP | MOVSD)
		p.I(SUB, EBP, EAX)
		p.I(JNZ, Label("load"))
		p.I(RET)
		return
	}
	p.Label("maxc")
	p.I(MOV, AX, Imm(chunk))
	p.I(CMP, AX, BP)
	p.I(JBE, Label("load.n"))
	p.I(MOV, AX, BP)
	p.Label("load.n")
	p.I(CALL, Label("read"))
	p.I(MOV, CX, AX)
	p.I(SHL, CX, Imm(5)) // paragraphs
	p.I(ADD, At("dap", 6), CX)
	p.I(ADD, At("lba", 0), AX) // segmented images stay far below 64 Ki sectors
	p.I(SUB, BP, AX)
	p.I(JNZ, Label("load"))
	p.I(RET)
}

// emitRead emits read: AX sectors from the DAP's LBA to its buffer, three
// tries with a controller reset between them, then fail. All registers are
// preserved; in flat mode it leaves unreal mode (re)established, because a
// BIOS call may have reloaded the segment caches with 64 KiB limits.
func emitRead(p *Program, c BootConfig) {
	p.Mark("boot.read")
	p.Label("read")
	if c.Flat {
		p.I(PUSHAD)
	} else {
		p.I(PUSHA)
	}
	if !c.ForceCHS {
		p.I(MOV, DI, AX)
	}
	p.I(MOV, BP, Imm(3))
	p.Label("read.try")
	if !c.ForceCHS {
		p.I(CMP, B(At("maxc", 1)), Imm(1))
		p.I(JE, Label("read.chs"))
		// A failed read leaves the count of sectors it did transfer here.
		p.I(MOV, At("dap", 2), DI)
		p.I(MOV, AH, Imm(0x42))
		p.I(MOV, SI, ImmLabel{Name: "dap"})
		p.I(JMP, Label("read.int"))
	}
	p.Label("read.chs")
	// LBA to CHS: sector = lba%spt+1, track = lba/spt, head = track%heads,
	// cylinder = track/heads (its bits 8-9 go to CL's top bits).
	p.I(MOV, AX, At("lba", 0))
	p.I(MOV, DX, At("lba", 2))
	p.I(DIV, W(At("spt", 0)))
	p.I(INC, DX)
	p.I(MOV, CL, DL)
	p.I(XOR, DX, DX)
	p.I(DIV, W(At("heads", 0)))
	p.I(MOV, DH, DL)
	p.I(MOV, CH, AL)
	p.I(SHL, AH, Imm(6))
	p.I(OR, CL, AH)
	p.I(MOV, DL, Abs16(DriveAddr))
	p.DB(0xC4, 0x1E) // les bx, [dap+4]: ES:BX = the DAP's buffer
	p.DWAddr("dap", 4)
	p.I(MOV, AX, Imm(0x0201))
	p.Label("read.int")
	p.I(INT, Imm(0x13))
	p.I(JNC, Label("read.ok"))
	p.I(DEC, BP)
	p.I(JZ, Label("fail"))
	p.I(MOV, DL, Abs16(DriveAddr))
	p.I(MOV, AH, Imm(0))
	p.I(INT, Imm(0x13))
	p.I(JMP, Label("read.try"))
	p.Label("read.ok")
	if c.Flat {
		emitUnreal(p)
		p.I(POPAD)
	} else {
		p.I(POPA)
	}
	p.I(RET)
}

// emitUnreal enters unreal mode: in protected mode for a moment, DS, ES,
// FS and GS get the 4 GiB descriptor; back in real mode they are reloaded
// with 0, which sets their bases and keeps the cached limits. CS is never
// reloaded, so it keeps its real-mode cache and no far jump is needed.
// Clobbers EAX and BX.
func emitUnreal(p *Program) {
	p.Mark("boot.unreal")
	segs := []Reg{DS, ES, FS, GS}
	p.I(CLI)
	p.I(LGDT, At("gdt", 0))
	p.I(MOV, EAX, CR0)
	p.I(INC, AX) // PE was 0
	p.I(MOV, CR0, EAX)
	p.I(MOV, BX, Imm(8))
	for _, s := range segs {
		p.I(MOV, s, BX)
	}
	p.I(DEC, AX)
	p.I(MOV, CR0, EAX)
	p.I(XOR, BX, BX)
	for _, s := range segs {
		p.I(MOV, s, BX)
	}
	p.I(STI)
}
