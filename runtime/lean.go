package runtime

import (
	"fmt"

	x86 "tfc/codegen/x86_16"
)

// The lean boot sector (BootConfig.Lean, `boot lean`), for -Os images. It
// loads the main code and the data itself, with less code than the full
// sector and its loader (spec.md section 7 lists what each piece costs):
//
//   - INT 13h extensions only, and no extension check: a BIOS without
//     them fails the first read (AH=42h) as an unknown function, and the
//     sector prints "E" and exits with code 2, where the full sector would
//     read by CHS. Every BIOS since the late 1990s has the extensions (EDD)
//     for hard disks, USB drives booted as hard disks and QEMU; what lacks
//     them is floppies (and USB drives emulating one).
//   - No retries: a read that fails ends the boot. The full sector's three
//     tries with a disk reset are for floppies, whose first read fails
//     while the motor spins up; behind the extensions, the BIOS's disk and
//     USB drivers retry on their own.
//   - DL, the drive, is taken to survive INT 13h and INT 14h.
//   - No loader: no CPU, memory or checksum checks.
//   - Whole chunks: every read is one chunk (flat: 64 sectors, 32 KiB).
//     Link pads each stream of the image to whole chunks, so no read is cut
//     short and the loop has no remainder to work out. The padding lands
//     in memory after the stream: flat, after the code (free memory below
//     the bounce buffer; code of 65 sectors pads into the bounce buffer,
//     whose copy reads each dword before writing 512 bytes below it) and
//     after the data (above 1 MiB); segmented, the chunk is the largest of
//     64, 32, 16, 8, 2, 1 sectors whose padding stays below
//     ConventionalTop.
//   - Segmented, one stream: the image holds memory from CodeAddr to the
//     end of the data as it is to be (code, zeros, data), read in one go.
//   - Flat, the copy from the bounce buffer runs in protected mode, and the
//     return to real mode is unreal mode (see emitLeanCopy).
//   - putc leaves BX alone (see emitPutc).
//   - A failed read prints "E" alone (the full sector: "disk error" and
//     the status in hex).
//
// What it keeps: the room for a BIOS parameter block (bytes 3 to 61),
// COM1's initialisation, "E" and exit 2 on any failed read, the A20 gate
// and the re-entry into unreal mode after every read (flat), EDI saved
// around INT 13h (not every BIOS keeps the top halves of 32-bit
// registers). The partition table and the padding to whole cylinders are
// Link's, as for every image.
//
// Layout: the jump over the BPB room, the shared block (fail, finish, exit,
// putc) at addresses that depend on nothing, the start-up code, then the
// streams, the load loop and the data.

// leanTail is how many zero bytes end the lean sector's disk address
// packet (the top bytes of its LBA) without being emitted: the sector's
// padding after the code holds them.
const leanTail = 7

// leanStream is one run of chunks read to dest.
type leanStream struct {
	dest   uint32
	chunks int
}

// leanPlan returns the chunk size in sectors and the streams of the lean
// sector for c (streams with no sectors are left out).
func (c BootConfig) leanPlan() (k int, streams []leanStream) {
	add := func(dest uint32, sectors, k int) {
		if n := (sectors + k - 1) / k; n > 0 {
			streams = append(streams, leanStream{dest, n})
		}
	}
	if c.Flat {
		k = chunkSectors
		add(CodeAddr, c.CodeSectors, k)
		add(c.dataAddr(), c.DataSectors, k)
		return k, streams
	}
	span := uint64(c.CodeSectors) * SectorSize
	if c.DataSectors > 0 {
		span = uint64(c.dataAddr()) - CodeAddr + uint64(c.DataSectors)*SectorSize
	}
	total := int((span + SectorSize - 1) / SectorSize)
	// Chunks of 4 sectors would need a 16-bit immediate for the segment step.
	for _, k = range []int{chunkSectors, 32, 16, 8, 2, 1} {
		if CodeAddr+uint64((total+k-1)/k*k)*SectorSize <= ConventionalTop {
			break
		}
	}
	add(CodeAddr, total, k)
	return k, streams
}

// checkLean checks what the lean sector adds to check's rules: the
// padding within the memory model, the chunk counts within 16 bits.
func (c BootConfig) checkLean() error {
	if !c.Lean {
		return nil
	}
	k, streams := c.leanPlan()
	for _, s := range streams {
		end := uint64(s.dest) + uint64(s.chunks*k)*SectorSize
		switch {
		case s.chunks > 0xFFFF:
			return fmt.Errorf("lean boot sector: %d reads of %d sectors at %#x, more than 65535", s.chunks, k, s.dest)
		case c.Flat && s.dest != CodeAddr && end > 1<<32:
			return fmt.Errorf("lean boot sector: data padded to whole %d KiB reads ends at %#x, beyond 4 GiB", k/2, end)
		case !c.Flat && end > ConventionalTop:
			return fmt.Errorf("lean boot sector: code and data from %#x to %#x, beyond %#x", CodeAddr, end, ConventionalTop)
		}
	}
	return nil
}

// extFunction is the extension check's INT 13h function (full sector).
func (c BootConfig) extFunction() byte {
	if c.extFn != 0 {
		return c.extFn
	}
	return 0x41
}

// readFunction is the lean sector's INT 13h read function.
func (c BootConfig) readFunction() byte {
	if c.extFn != 0 {
		return c.extFn
	}
	return 0x42
}

// emitLeanBoot emits the lean boot sector: the jump over the BPB room,
// the shared block (fail, finish, exit, putc) at addresses that depend on
// nothing, the start-up code, the streams, the load loop and the data.
func emitLeanBoot(p *x86.Program, c BootConfig) {
	k, streams := c.leanPlan()
	emitBPBJump(p)
	emitLeanShared(p, c)
	emitLeanStart(p, c)

	// Each stream but the last is a far call of load (CS may be 07C0h);
	// the last pushes 0:CodeAddr and falls into load, whose retf enters
	// the main code.
	p.Mark("boot.streams")
	if len(streams) == 0 {
		p.I(x86.JMP, x86.Far{Seg: 0, Off: CodeAddr})
	}
	if !c.Flat && len(streams) > 0 {
		p.I(x86.MOV, x86.SI, x86.ImmLabel{Name: "dap"})
	}
	for i, s := range streams {
		if c.Flat {
			p.I(x86.MOV, x86.EDI, x86.Imm(int64(s.dest-BounceAddr))) // see emitLeanCopy
		}
		p.I(x86.MOV, x86.BP, x86.Imm(int64(s.chunks)))
		if i < len(streams)-1 {
			p.I(x86.PUSH, x86.CS)
			p.I(x86.CALL, x86.Label("load"))
		} else {
			p.I(x86.PUSH, x86.DS) // 0
			p.I(x86.PUSH, x86.Word(CodeAddr))
		}
	}
	if len(streams) > 0 {
		emitLeanLoad(p, c, k)
	}

	p.Mark("boot.data")
	seg := uint16(CodeAddr >> 4)
	if c.Flat {
		seg = BounceAddr >> 4
		// The GDTR (limit, 24-bit base: its sixth byte, unused with a
		// 16-bit operand size, is the descriptor's first) and the
		// descriptor (see emitLeanCopy).
		p.Label("gdtr")
		p.DW(0xFFFF)
		p.DWAddr("gdt", -int64(k*SectorSize/4))
		p.DB(0)
		p.Label("gdt")
		p.DB(leanDescriptor...)
	}
	// Disk address packet: size, reserved, count, buffer offset and
	// segment, LBA 1 (its other bytes: leanTail).
	p.Label("dap")
	p.DB(0x10, 0, byte(k), 0)
	p.DW(0, seg)
	p.DB(1)
}

// emitLeanCopy copies the chunk from the bounce buffer to EDI (less
// BounceAddr, see below) in protected mode and leaves DS and ES = 0 with
// 4 GiB limits (unreal mode), whatever the BIOS left in their caches. In
// protected mode for the copy's length (interrupts off), both get the
// selector k*128, the copy's dword count in CX: the GDT's
// base is that many bytes before the one descriptor (base BounceAddr,
// 4 GiB; the entries before it are never read), so ESI starts at 0 and
// EDI is the destination less BounceAddr, modulo 4 GiB. Back in real
// mode they are reloaded with CX, now 0, which sets their bases and keeps
// the limits. CS is never reloaded, so it keeps its real-mode cache and no
// far jump is needed. Clobbers EAX, ECX, ESI.
func emitLeanCopy(p *x86.Program, k int) {
	p.Mark("boot.unreal")
	// FS and GS keep what the BIOS left: the flat images reach memory
	// above 1 MiB through DS and ES only.
	segs := []x86.Reg{x86.DS, x86.ES}
	p.I(x86.CLI)
	p.I(x86.LGDT, x86.Ptr16(x86.SI, x86.NoReg, -dapFromGDTR))
	p.I(x86.MOV, x86.EAX, x86.CR0)
	p.I(x86.INC, x86.AX) // PE was 0
	p.I(x86.MOV, x86.CR0, x86.EAX)
	p.I(x86.MOV, x86.ECX, x86.Imm(int64(k*SectorSize/4)))
	for _, s := range segs {
		p.I(x86.MOV, s, x86.CX)
	}
	p.I(x86.XOR, x86.ESI, x86.ESI)
	p.DB(0x67) // a32 rep movsd
	p.I(x86.REP | x86.MOVSD)
	p.I(x86.DEC, x86.AX)
	p.I(x86.MOV, x86.CR0, x86.EAX)
	for _, s := range segs {
		p.I(x86.MOV, s, x86.CX)
	}
	p.I(x86.STI)
	p.Mark("boot.load")
}

// leanDescriptor is the lean flat sector's one GDT descriptor: read/write
// data, base BounceAddr, limit 4 GiB.
var leanDescriptor = []byte{0xFF, 0xFF, 0x00, 0x00, BounceAddr >> 16, 0x92, 0xCF, 0x00}

// dapFromGDTR is the distance from the GDTR to the DAP in the flat lean
// sector: the GDTR's five bytes and the descriptor.
const dapFromGDTR = 5 + 8

// emitLeanLoad emits load: BP chunks of k sectors, SI = the DAP (flat: set
// here, as the copy moves ESI), to the DAP's buffer advancing its segment
// (segmented) or through the bounce buffer to EDI + BounceAddr (flat, which
// re-enters unreal mode after each read). Returns with retf.
func emitLeanLoad(p *x86.Program, c BootConfig, k int) {
	p.Mark("boot.load")
	p.Label("load")
	if c.Flat {
		p.I(x86.MOV, x86.SI, x86.ImmLabel{Name: "dap"})
	}
	p.I(x86.MOV, x86.AH, x86.Imm(int64(c.readFunction())))
	if c.Flat {
		// Not every BIOS keeps the top halves of 32-bit registers.
		p.I(x86.PUSH, x86.EDI)
		p.I(x86.INT, x86.Imm(0x13))
		p.I(x86.POP, x86.EDI)
	} else {
		p.I(x86.INT, x86.Imm(0x13))
	}
	p.I(x86.JC, x86.Label("fail"))
	if c.Flat {
		p.I(x86.ADD, x86.D(x86.Ptr16(x86.SI, x86.NoReg, 8)), x86.Imm(int64(k))) // LBA
		emitLeanCopy(p, k)
	} else {
		if k >= 8 {
			p.I(x86.ADD, x86.B(x86.Ptr16(x86.SI, x86.NoReg, 7)), x86.Imm(int64(k/8))) // segment += k*32
		} else {
			p.I(x86.ADD, x86.W(x86.Ptr16(x86.SI, x86.NoReg, 6)), x86.Imm(int64(k*32)))
		}
		p.I(x86.ADD, x86.W(x86.Ptr16(x86.SI, x86.NoReg, 8)), x86.Imm(int64(k))) // LBA: below 64 Ki in 640 KiB
	}
	p.I(x86.DEC, x86.BP)
	p.I(x86.JNZ, x86.Label("load"))
	p.I(x86.RETF)
}

// emitLeanStart sets up the stack, DS = 0 (segmented: ES = 0 too) and the
// direction flag, initialises COM1 and enables A20 (flat). CX is 0 and DL
// the boot drive after it.
func emitLeanStart(p *x86.Program, c BootConfig) {
	p.Mark("boot.start")
	p.Label("start")
	// The BIOS may enter at 07C0:0000; nothing here depends on CS, and the
	// final far return sets it for the main code.
	p.I(x86.XOR, x86.CX, x86.CX)
	p.I(x86.MOV, x86.SS, x86.CX) // mov ss holds interrupts off until sp is set too
	p.I(x86.MOV, x86.SP, x86.Imm(StackTop))
	p.I(x86.MOV, x86.DS, x86.CX)
	if !c.Flat {
		p.I(x86.MOV, x86.ES, x86.CX) // flat: the first copy sets ES
	}
	p.I(x86.CLD)
	p.Mark("boot.com1")
	p.I(x86.PUSH, x86.DX) // the reads find the drive in DL
	emitCOM1Init(p)
	p.I(x86.POP, x86.DX)
	if c.Flat {
		p.Mark("boot.start")
		// Fast A20; bit 0 (reset) reads as 0 and is written back as 0.
		p.I(x86.IN, x86.AL, x86.Imm(0x92))
		p.I(x86.OR, x86.AL, x86.Imm(2))
		p.I(x86.OUT, x86.Imm(0x92), x86.AL)
	}
}

// emitLeanShared emits fail ("E", exit code 2), which falls into finish
// (AL to putc, then exit with code AH), which falls into exit, then putc.
// The main code ends a generation with finish too (runtime.EmitEnd). A
// typed prompt's generations never end (c.Input): there fail prints and
// exits itself, a byte shorter.
func emitLeanShared(p *x86.Program, c BootConfig) {
	p.Mark("boot.fail")
	p.Label("fail")
	if c.Input {
		p.I(x86.MOV, x86.AL, x86.Imm('E'))
		p.I(x86.CALL, x86.Label(BootPutc))
		p.I(x86.MOV, x86.AL, x86.Imm(2))
	} else {
		p.I(x86.MOV, x86.AX, x86.Imm(2<<8|'E'))
		p.Mark(BootFinish)
		p.Label(BootFinish)
		p.I(x86.CALL, x86.Label(BootPutc))
		p.I(x86.MOV, x86.AL, x86.AH)
	}
	p.Mark(BootExit)
	p.Label(BootExit)
	emitExit(p, BootExit)
	emitPutc(p, BootPutc, true, false)
}
