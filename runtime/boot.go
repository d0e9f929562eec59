// Package runtime is the machine code around the generated model: the boot
// sector that loads the image, the console routines the generated code
// calls (putc, print_piece, newline, exit), the token piece table they read,
// and Link, which puts boot sector, main code and data together into a disk
// image.
//
// Memory map (linear addresses):
//
//	0x00000-0x004FF  IVT and BIOS data area
//	     ...-0x07BFF  stack (SS:SP = 0:0x7C00; the boot drive is pushed first,
//	                  so the main code starts with SP = 0x7BFE, [0x7BFE] = drive)
//	0x07C00-0x07DFF  boot sector
//	0x07E00-...      main code (at most up to 0x10000: CS = 0, IP is 16 bits)
//	0x10000-0x17FFF  flat: bounce buffer for the loader, free afterwards
//	DataAddr-...     data (flat: >= 1 MiB; segmented: below ConventionalTop)
package runtime

import (
	"fmt"

	x86 "tfc/codegen/x86_16"
)

// Fixed addresses of the boot protocol.
const (
	BootAddr = 0x7C00
	CodeAddr = 0x7E00 // main code: loaded and entered here
	// StackTop is where the boot sector puts the stack, for the main code
	// too: below the page of the boot sector and the code, since under
	// QEMU's TCG every write to a page that holds translated code throws
	// that code away (self-modifying code), and calls and pushes write
	// the stack.
	StackTop   = 0x7000
	DriveAddr  = StackTop - 2 // the BIOS boot drive (DL), a word pushed on the stack
	BounceAddr = 0x10000      // flat: disk reads land here before the copy up
	SectorSize = 512

	// DefaultFlatDataAddr and DefaultSegDataAddr are used when
	// BootConfig.DataAddr is 0.
	DefaultFlatDataAddr = 0x100000
	DefaultSegDataAddr  = 0x10000

	// ConventionalTop is the end of the memory segmented data may use:
	// 639 KiB, where SeaBIOS's extended BIOS data area starts (INT 12h).
	// Overwriting the EBDA while the BIOS still reads the disk would break
	// the loader, so the limit is below the 0xA0000 video memory.
	ConventionalTop = 0x9FC00

	// chunkSectors is the size of one extended read: 32 KiB, so a read
	// never crosses the end of its segment (the DAP offset is < 16) and
	// fits the flat bounce buffer.
	chunkSectors = 64

	// MaxCodeSize is the largest main program: the code must stay in
	// segment 0 (and, flat, below the bounce buffer).
	MaxCodeSize = 0x10000 - CodeAddr
)

// BootConfig describes what the boot sector loads and how.
type BootConfig struct {
	Flat        bool   // unreal mode, data at DataAddr >= 1 MiB; else plain real mode
	CodeSectors int    // sectors after sector 0 holding the main code, loaded to CodeAddr
	DataSectors int    // sectors after those, loaded to DataAddr
	DataAddr    uint32 // linear; 0 = DefaultFlatDataAddr or DefaultSegDataAddr
	ForceCHS    bool   // tests: no INT 13h extensions, read with AH=02h

	// Lean asks for the small boot sector of -Os images (see lean.go):
	// extended reads only, in whole chunks from a padded image, no retries.
	Lean bool

	// extFn replaces the extension check's function 41h, or the lean
	// sector's read function 42h (tests: an unknown function makes a
	// BIOS without extensions).
	extFn byte
}

// dataAddr is DataAddr with its default applied.
func (c BootConfig) dataAddr() uint32 {
	switch {
	case c.DataAddr != 0:
		return c.DataAddr
	case c.Flat:
		return DefaultFlatDataAddr
	}
	return DefaultSegDataAddr
}

// check validates the layout: the code below the bounce buffer or the data,
// the data inside the memory model.
func (c BootConfig) check() error {
	if c.CodeSectors < 0 || c.DataSectors < 0 {
		return fmt.Errorf("negative sector count (code %d, data %d)", c.CodeSectors, c.DataSectors)
	}
	code := uint64(c.CodeSectors) * SectorSize
	data := uint64(c.DataSectors) * SectorSize
	addr := uint64(c.dataAddr())
	if c.Lean && c.ForceCHS {
		return fmt.Errorf("the lean boot sector has no CHS reads (ForceCHS)")
	}
	if code > MaxCodeSize {
		return fmt.Errorf("main code needs %d bytes (%d sectors) at %#x, only %d bytes fit below %#x",
			code, c.CodeSectors, CodeAddr, MaxCodeSize, CodeAddr+MaxCodeSize)
	}
	if c.Flat {
		if addr < 0x100000 {
			return fmt.Errorf("flat data address %#x is below 1 MiB", addr)
		}
		if addr+data > 1<<32 {
			return fmt.Errorf("data needs %d bytes (%d sectors) at %#x, only %d bytes fit below 4 GiB",
				data, c.DataSectors, addr, 1<<32-addr)
		}
		return c.checkLean()
	}
	if addr < CodeAddr+code {
		return fmt.Errorf("segmented data address %#x overlaps the main code (%#x-%#x)", addr, CodeAddr, CodeAddr+code)
	}
	if addr+data > ConventionalTop {
		avail := uint64(0)
		if addr < ConventionalTop {
			avail = ConventionalTop - addr
		}
		return fmt.Errorf("data needs %d bytes (%d sectors) at %#x, only %d bytes are available below %#x in the segmented memory model",
			data, c.DataSectors, addr, avail, ConventionalTop)
	}
	return c.checkLean()
}

// BootSector returns the boot sector program for c, assembled at BootAddr
// (so its Listing and Regions are ready). It is at most 510 bytes; the
// 0x55 0xAA signature is Link's.
//
// It sets SS:SP = 0:0x7C00, pushes the boot drive, enables A20 and unreal
// mode (flat), reads CodeSectors to CodeAddr and DataSectors to DataAddr,
// and far-jumps to 0:CodeAddr with DS = ES = 0 (flat: FS = GS = 0 too, all
// four with 4 GiB limits) and the direction flag clear. A read that fails
// (after three tries; lean: at once) prints "E" and the BIOS status in two
// hex digits and '\n' (COM1; the screen gets a new line), and exits with
// code 2.
//
// Its putc and exit are at addresses that do not depend on the sector
// counts (SharedRoutines), so the main code, which is built first, can
// call them.
func BootSector(c BootConfig) (*x86.Program, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	p := &x86.Program{}
	if c.Lean {
		emitLeanBoot(p, c)
	} else {
		emitBoot(p, c)
	}
	b, err := assembleBoot(p)
	if err != nil {
		return nil, err
	}
	if c.Lean && len(b)+leanTail > 510 {
		return nil, fmt.Errorf("lean boot sector is %d bytes, and its last %d bytes, zeros, must fit before the signature too", len(b), leanTail)
	}
	return p, nil
}

// Labels of the boot sector routines the main code may share.
const (
	BootPutc = "boot.putc"
	BootExit = "boot.exit"
)

// BootRoutines are the addresses of the boot sector's routines that the
// main code may call: putc (AL to COM1 and the screen, all registers
// preserved) and exit (AL = exit code; never returns).
type BootRoutines struct {
	Putc, Exit uint32
}

// SharedRoutines returns where the boot sector for c has putc and exit.
// c's sector counts are ignored: the routines come before anything that
// depends on them (the shared block follows the start-up code, which
// depends on Flat, Lean and ForceCHS only), so the main code can be built
// before the counts are known.
func SharedRoutines(c BootConfig) (BootRoutines, error) {
	c.CodeSectors, c.DataSectors = 0, 0
	p, err := BootSector(c)
	if err != nil {
		return BootRoutines{}, err
	}
	s := p.Symbols()
	return BootRoutines{Putc: s[BootPutc], Exit: s[BootExit]}, nil
}

// assembleBoot assembles a boot sector program and checks that it fits.
func assembleBoot(p *x86.Program) ([]byte, error) {
	b, err := p.Assemble(BootAddr)
	if err != nil {
		return nil, fmt.Errorf("boot sector: %w", err)
	}
	if len(b) > 510 {
		return nil, fmt.Errorf("boot sector is %d bytes, more than the 510 before the signature", len(b))
	}
	return b, nil
}

// emitStart sets up the stack, DS = 0 and the direction flag, and enables
// A20 (flat). CX is 0 after it.
func emitStart(p *x86.Program, c BootConfig) {
	p.Mark("boot.start")
	p.Label("start")
	// The BIOS may enter at 07C0:0000; nothing here depends on CS, and the
	// final far jump sets it for the main code.
	p.I(x86.XOR, x86.CX, x86.CX)
	p.I(x86.MOV, x86.SS, x86.CX) // mov ss holds interrupts off until sp is set too
	p.I(x86.MOV, x86.SP, x86.Imm(StackTop))
	if !c.Lean {
		// The drive, at DriveAddr, for the CHS reads; the lean sector's
		// reads find it in DL, which nothing before them changes.
		p.I(x86.PUSH, x86.DX)
	}
	p.I(x86.MOV, x86.DS, x86.CX)
	if c.Lean && !c.Flat {
		p.I(x86.MOV, x86.ES, x86.CX) // the full sector sets ES after its CHS reads
	}
	p.I(x86.CLD)
	if c.Flat {
		// Fast A20; bit 0 (reset) reads as 0 and is written back as 0.
		p.I(x86.IN, x86.AL, x86.Imm(0x92))
		p.I(x86.OR, x86.AL, x86.Imm(2))
		p.I(x86.OUT, x86.Imm(0x92), x86.AL)
	}
}

// emitShared emits fail, which falls into exit, then putc. fail: AH =
// BIOS status; prints "E", two hex digits and '\n' (lean: "E" alone),
// exits with 2.
func emitShared(p *x86.Program, c BootConfig) {
	p.Mark("boot.fail")
	p.Label("fail")
	p.I(x86.MOV, x86.AL, x86.Imm('E'))
	p.I(x86.CALL, x86.Label(BootPutc))
	if !c.Lean {
		p.I(x86.MOV, x86.AL, x86.AH)
		p.DB(0xD4, 0x10) // aam 16: AH = high digit, AL = low digit
		p.I(x86.XCHG, x86.AL, x86.AH)
		p.I(x86.CALL, x86.Label("hexdigit"))
		p.I(x86.MOV, x86.AL, x86.AH) // putc preserves AH: the low digit
		p.I(x86.CALL, x86.Label("hexdigit"))
		p.I(x86.MOV, x86.AL, x86.Imm('\n'))
		p.I(x86.CALL, x86.Label(BootPutc))
	}
	p.I(x86.MOV, x86.AL, x86.Imm(2))
	p.Mark(BootExit)
	p.Label(BootExit)
	emitExit(p, BootExit)
	if !c.Lean {
		p.Mark("boot.fail")
		p.Label("hexdigit")
		// AL = 0..15 to '0'..'9', 'A'..'F', then on into putc.
		p.I(x86.CMP, x86.AL, x86.Imm(10))
		p.I(x86.SBB, x86.AL, x86.Imm(0x69))
		p.DB(0x2F) // das
	}
	emitPutc(p, BootPutc, c.Lean)
}

// emitBoot emits the full boot sector: extended reads with a CHS fallback,
// three tries per read.
func emitBoot(p *x86.Program, c BootConfig) {
	emitStart(p, c)
	emitDiskSetup(p, c) // with fail, exit and putc in its middle

	p.Mark("boot.streams")
	if c.Flat {
		emitStream(p, c, CodeAddr, c.CodeSectors)
		emitStream(p, c, c.dataAddr(), c.DataSectors)
	} else {
		code, data := c.CodeSectors, c.DataSectors
		contiguous := c.dataAddr() == CodeAddr+uint32(code)*SectorSize
		if contiguous {
			code, data = code+data, 0
		}
		// The DAP starts out pointing at CodeAddr.
		emitStream(p, c, CodeAddr, code)
		if data > 0 {
			a := c.dataAddr()
			p.I(x86.MOV, x86.W(x86.At("dap", 6)), x86.Imm(int64(a>>4)))
			if a&15 != 0 {
				p.I(x86.MOV, x86.W(x86.At("dap", 4)), x86.Imm(int64(a&15)))
			}
			emitStream(p, c, a, data)
		}
		// AH=08h and the CHS reads leave ES changed.
		p.I(x86.PUSH, x86.DS)
		p.I(x86.POP, x86.ES)
	}
	p.I(x86.JMP, x86.Far{Seg: 0, Off: CodeAddr})

	emitLoad(p, c)
	emitRead(p, c)

	p.Mark("boot.data")
	if c.Flat {
		// GDT: the null descriptor holds the GDTR (limit, base) and the CHS
		// sectors per track; selector 8 is a flat 4 GiB read/write data
		// segment.
		p.Label("gdt")
		p.DW(15)
		p.DDAddr("gdt", 0)
		p.Label("spt")
		p.DW(0)
		p.DB(flatDescriptor...)
	} else {
		p.Label("spt")
		p.DW(0)
	}
	p.Label("heads")
	p.DW(0)
	// Disk address packet. The buffer is the bounce buffer (flat) or the
	// destination, advanced per read (segmented); the LBA is the next sector.
	seg := uint16(BounceAddr >> 4)
	if !c.Flat {
		seg = CodeAddr >> 4
	}
	p.Label("dap")
	p.DB(0x10, 0)
	p.DW(0, 0, seg)
	p.Label("lba")
	p.DD(1, 0)
}

// flatDescriptor is a flat 4 GiB read/write data segment (base 0, limit
// 0xFFFFF pages), for selector 8.
var flatDescriptor = []byte{0xFF, 0xFF, 0x00, 0x00, 0x00, 0x92, 0xCF, 0x00}

// emitStream loads n sectors (continuing the LBA) to dest: flat through
// EDI, segmented through the DAP buffer the caller has set.
func emitStream(p *x86.Program, c BootConfig, dest uint32, n int) {
	if n == 0 {
		return
	}
	if c.Flat {
		p.I(x86.MOV, x86.EDI, x86.Imm(int64(dest)))
		p.I(x86.MOV, x86.EBP, x86.Imm(int64(n)))
	} else {
		p.I(x86.MOV, x86.BP, x86.Imm(int64(n)))
	}
	p.I(x86.CALL, x86.Label("load"))
}
