package runtime

import (
	x86 "tfc/codegen/x86_16"
)

// The full boot sector, the default. It runs 16-bit code only (186
// instructions: pusha, shifts by a count), so that on a machine without
// a 386 it gets as far as the loader, which says so. It:
//
//   - keeps bytes 3 to 61 free for a BIOS parameter block (emitBPBJump);
//   - pushes the boot drive (DL) and reloads DL from there before every
//     INT 13h call, and keeps its own registers around each call
//     (int13), so that nothing depends on what a BIOS keeps;
//   - initialises COM1 before anything is written to it;
//   - reads with the INT 13h extensions (AH=42h, 64 sectors a call) when
//     AH=41h says they are there, else by CHS (AH=02h, one sector a call)
//     with the geometry of AH=08h; each read is tried three times with a
//     disk reset between tries;
//   - loads the loader (LoaderSectors, right after sector 0) to
//     LoaderAddr, checks that its words add up to 0 and jumps to it.
//
// The loader (loader.go) does the rest with the routines of this sector:
// fail, failmsg, exit, putc, sum, load.
//
// Layout: the jump, the BPB room, start-up and the loader stream (whose
// immediates have fixed sizes), then the routines and the data, at
// addresses that do not depend on the sector counts.
func emitBoot(p *x86.Program, c BootConfig) {
	emitBPBJump(p)
	p.Mark("boot.start")
	p.Label("start")
	// The BIOS may enter at 07C0:0000; nothing here depends on CS, and the
	// far jump to the loader sets it.
	p.I(x86.XOR, x86.CX, x86.CX)
	p.I(x86.MOV, x86.SS, x86.CX) // mov ss holds interrupts off until sp is set too
	p.I(x86.MOV, x86.SP, x86.Imm(StackTop))
	p.I(x86.PUSH, x86.DX) // the drive, at DriveAddr
	p.I(x86.MOV, x86.DS, x86.CX)
	p.I(x86.MOV, x86.ES, x86.CX)
	p.I(x86.CLD)
	p.Mark("boot.com1")
	emitCOM1Init(p)
	emitDiskSetup(p, c)

	p.Mark("boot.streams")
	p.I(x86.MOV, x86.BP, x86.Imm(int64(c.LoaderSectors)))
	p.I(x86.CALL, x86.Label(BootLoad))
	p.I(x86.MOV, x86.SI, x86.Imm(LoaderAddr))
	p.I(x86.MOV, x86.CX, x86.Imm(int64(c.LoaderSectors*SectorSize/2)))
	p.I(x86.CALL, x86.Label(BootSum))
	p.I(x86.JMP, x86.Far{Seg: 0, Off: LoaderAddr})

	emitFail(p)
	emitLoad(p, c)
	emitRead(p, c)

	p.Mark("boot.data")
	p.Label("spt")
	p.DW(0)
	p.Label("heads")
	p.DW(0)
	// Disk address packet: the buffer, advanced per read, starts at the
	// loader; the LBA is the next sector.
	p.Label(BootDAP)
	p.DB(0x10, 0)
	p.DW(0, 0, LoaderAddr>>4)
	p.Label("lba")
	p.DD(1, 0)
	p.Label("msg.disk")
	p.DB([]byte(msgDisk + "??\n")...)
	p.Label(BootMsgSum)
	p.DB([]byte("checksum error\n")...)
}

// msgDisk starts the message of a failed read; the status follows.
const msgDisk = "disk error "

// emitFail emits the shared block: fail (AH = BIOS status: prints "disk
// error", the status in two hex digits and '\n'), failmsg (SI = a message
// ending in '\n': prints it), both exiting with code 2; exit; puts;
// putc; hexdigit; sum.
func emitFail(p *x86.Program) {
	p.Mark("boot.fail")
	p.Label("fail")
	// The status in two hex digits, written into the message.
	p.I(x86.MOV, x86.AL, x86.AH)
	p.DB(0xD4, 0x10) // aam 16: AH = high digit, AL = low digit
	p.I(x86.CALL, x86.Label("hexdigit"))
	p.I(x86.XCHG, x86.AL, x86.AH)
	p.I(x86.CALL, x86.Label("hexdigit"))
	p.I(x86.MOV, x86.At("msg.disk", int32(len(msgDisk))), x86.AX)
	p.I(x86.MOV, x86.SI, x86.ImmLabel{Name: "msg.disk"})
	p.Label(BootFailMsg)
	p.I(x86.CALL, x86.Label("puts"))
	p.I(x86.MOV, x86.AL, x86.Imm(2))
	p.Mark(BootExit)
	p.Label(BootExit)
	emitExit(p, BootExit)
	p.Mark("boot.fail")
	p.Label("puts")
	p.I(x86.LODSB)
	p.I(x86.CALL, x86.Label(BootPutc))
	p.I(x86.CMP, x86.AL, x86.Imm('\n'))
	p.I(x86.JNE, x86.Label("puts"))
	p.I(x86.RET)
	p.Label("hexdigit")
	// AL = 0..15 to '0'..'9', 'A'..'F'.
	p.I(x86.CMP, x86.AL, x86.Imm(10))
	p.I(x86.SBB, x86.AL, x86.Imm(0x69))
	p.DB(0x2F) // das
	p.I(x86.RET)
	emitPutc(p, BootPutc, false, false)

	// sum: the CX words at SI and SumSeed16 must add up to 0 (Link ends
	// each stream with the word that makes them; the seed makes a stream
	// of zeros fail), else "checksum error". The flags of the last add
	// tell: loop keeps them.
	p.Mark("boot.sum")
	p.Label(BootSum)
	p.I(x86.MOV, x86.DX, x86.Imm(SumSeed16))
	p.Label("sum.loop")
	p.I(x86.LODSW)
	p.I(x86.ADD, x86.DX, x86.AX)
	p.I(x86.LOOP, x86.Label("sum.loop"))
	p.I(x86.MOV, x86.SI, x86.ImmLabel{Name: BootMsgSum})
	p.I(x86.JNZ, x86.Label(BootFailMsg))
	p.I(x86.RET)
}
