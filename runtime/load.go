package runtime

import . "tfc/codegen/x86_16"

// Disk reading in the full boot sector, 16-bit code only. One disk address
// packet (DAP) drives both read methods: its LBA is the next sector to
// read and its buffer the place it goes. Extended reads (AH=42h) take
// chunkSectors at a time; the CHS fallback (AH=02h) reads one sector per
// call, so the chunk size, the immediate at maxc+1, doubles as the "which
// method" flag.

// Seeds of the loader's checksums: a stream's words (dwords) and the seed
// add up to 0. A stream of zeros does not.
const (
	SumSeed16 = 0x7C55
	SumSeed32 = 0x7C55AA55
)

// emitDiskSetup checks for the INT 13h extensions and, without them, gets
// the CHS geometry and drops the chunk size to one sector. DL is the
// drive on entry; it restores ES, which AH=08h changes.
func emitDiskSetup(p *Program, c BootConfig) {
	p.Mark("boot.disk_setup")
	p.I(POP, DX) // the COM1 call left DX = 0
	p.I(PUSH, DX)
	if !c.ForceCHS {
		p.I(MOV, AH, Imm(int64(c.extFunction())))
		p.I(MOV, BX, Imm(0x55AA))
		p.I(INT, Imm(0x13))
		p.I(JC, Label("chs"))
		p.I(CMP, BX, Imm(0xAA55))
		p.I(JNE, Label("chs"))
		p.I(SHR, CX, Imm(1)) // bit 0: AH=42h supported
		p.I(JC, Label("disk_ready"))
		p.I(POP, DX) // the drive again, whatever AH=41h left
		p.I(PUSH, DX)
	}
	p.Label("chs")
	p.I(MOV, AH, Imm(8))
	p.I(INT, Imm(0x13))
	// Without a geometry the divisions below would fault on a zero.
	p.I(JC, Label("fail"))
	p.I(AND, CX, Imm(0x3F))
	p.I(MOV, At("spt", 0), CX)
	p.I(MOV, DL, DH) // last head number
	p.I(MOV, DH, Imm(0))
	p.I(INC, DX)
	p.I(MOV, At("heads", 0), DX)
	p.I(PUSH, DS) // AH=08h sets ES:DI to a parameter table
	p.I(POP, ES)
	if !c.ForceCHS {
		p.I(MOV, B(At("maxc", 1)), Imm(1))
	}
	p.Label("disk_ready")
}

// emitLoad emits load: read BP sectors, chunk by chunk, to the DAP's
// buffer, advancing its segment and the LBA. Clobbers AX, BP, CX.
func emitLoad(p *Program, c BootConfig) {
	chunk := int64(chunkSectors)
	if c.ForceCHS {
		chunk = 1
	}
	p.Mark("boot.load")
	p.Label(BootLoad)
	p.Label("maxc")
	p.I(MOV, AX, Imm(chunk))
	p.I(CMP, AX, BP)
	p.I(JBE, Label("load.n"))
	p.I(MOV, AX, BP)
	p.Label("load.n")
	p.I(CALL, Label("read"))
	p.I(MOV, CX, AX)
	p.I(SHL, CX, Imm(5)) // paragraphs
	p.I(ADD, At(BootDAP, 6), CX)
	p.I(ADD, At("lba", 0), AX)
	p.I(ADC, W(At("lba", 2)), Imm(0))
	p.I(SUB, BP, AX)
	p.I(JNZ, Label(BootLoad))
	p.I(RET)
}

// emitRead emits read: AX sectors from the DAP's LBA to its buffer, three
// tries with a disk reset between them, then fail. All registers but ES
// (the CHS path) are preserved.
func emitRead(p *Program, c BootConfig) {
	p.Mark("boot.read")
	p.Label("read")
	p.I(PUSHA)
	p.I(MOV, DI, AX)
	p.I(MOV, BP, Imm(3))
	p.Label("read.try")
	if !c.ForceCHS {
		p.I(CMP, B(At("maxc", 1)), Imm(1))
		p.I(JE, Label("read.chs"))
		// A failed read leaves the count of sectors it did transfer here.
		p.I(MOV, At(BootDAP, 2), DI)
		p.I(MOV, AH, Imm(0x42))
		p.I(MOV, SI, ImmLabel{Name: BootDAP})
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
	p.DB(0xC4, 0x1E) // les bx, [dap+4]: ES:BX = the DAP's buffer
	p.DWAddr(BootDAP, 4)
	p.I(MOV, AX, Imm(0x0201))
	p.Label("read.int")
	p.I(CALL, Label("int13"))
	p.I(JNC, Label("read.ok"))
	p.I(DEC, BP)
	p.I(JZ, Label("fail"))
	p.I(MOV, AH, Imm(0)) // reset
	p.I(CALL, Label("int13"))
	p.I(JMP, Label("read.try"))
	p.Label("read.ok")
	p.I(POPA)
	p.I(RET)

	// int13: INT 13h with DL = the boot drive, every 16-bit register kept
	// but AH (the status) and the flags.
	p.Label("int13")
	p.I(PUSHA)
	p.I(MOV, DL, Abs16(DriveAddr))
	p.I(INT, Imm(0x13))
	p.I(MOV, BP, SP)
	p.I(MOV, Ptr16(BP, NoReg, 15), AH) // AH's byte in pusha's frame
	p.I(POPA)
	p.I(RET)
}
