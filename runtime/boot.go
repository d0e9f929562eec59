// Package runtime is the machine code around the generated model: the boot
// sector and the loader that load the image and check the machine, the
// console routines the generated code calls (putc, print_piece, newline,
// exit), the token piece table they read, and Link, which puts boot
// sector, loader, main code and data together into a disk image.
//
// Memory map (linear addresses):
//
//	0x00000-0x004FF  IVT and BIOS data area
//	0x00500-0x0051F  the loader's E820 buffer, free once it has run
//	     ...-0x06FFF  stack (SS:SP = 0:0x7000; the full boot sector pushes
//	                  the boot drive first, so the main code starts with
//	                  SP = 0x6FFE, [0x6FFE] = drive)
//	0x07400-0x07BFF  the loader (full boot path), free once it has run
//	0x07C00-0x07DFF  boot sector
//	0x07E00-...      main code (at most up to 0x10000: CS = 0, IP is 16 bits)
//	...-0x0FFFF      the loop code generator's size policy: its computed
//	                 activations, from 0x9000 at the lowest, on pages above
//	                 the code's (loopgen.LayoutOptions.Zero), and below
//	                 them, loaded with the code, its tables and the piece
//	                 table (LowTables, LowPieces)
//	0x10000-0x17FFF  flat: bounce buffer for the loader, free afterwards
//	0x20000-0x2FFFF  flat: the loop code generator's activations, where
//	                 they fit and not in segment 0 (loopgen.LowActivations)
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
	// LoaderAddr is where the full boot sector loads the loader (the
	// sectors right after it), which checks the machine and loads the
	// main code and the data: up to the boot sector, in the 4 KiB page
	// that holds the boot sector and the start of the code. Not in the
	// low memory that the code generators use for their variables: under
	// QEMU's TCG every write to a page that held translated code is slow
	// (-O2 ran at a tenth of its speed with the loader at 0x0600).
	LoaderAddr = 0x7400
	// loaderEnd is where the loader must end.
	loaderEnd = BootAddr
	// e820Buf is the loader's buffer for one INT 15h E820 entry.
	e820Buf = 0x0500
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

	// bpbEnd is the first byte after the room kept for a BIOS parameter
	// block: a BIOS that boots a USB drive as a floppy may write one over
	// bytes 3 to 61 of the sector it loaded.
	bpbEnd = 62
	// codeEnd is where the boot sector's bytes must end: the disk
	// signature (the tfc magic) and the partition table follow.
	codeEnd = magicOffset
)

// BootConfig describes what the boot sector loads and how.
type BootConfig struct {
	Flat        bool   // unreal mode, data at DataAddr >= 1 MiB; else plain real mode
	CodeSectors int    // sectors of the main code, loaded to CodeAddr
	DataSectors int    // sectors after those, loaded to DataAddr
	DataAddr    uint32 // linear; 0 = DefaultFlatDataAddr or DefaultSegDataAddr
	// End is the first byte of memory past everything the image uses
	// (data, caches, activations): the loader checks that the machine
	// has memory up to it. 0: the end of the data.
	End      uint32
	ForceCHS bool // tests: no INT 13h extensions, read with AH=02h

	// Lean asks for the small boot sector (see lean.go): extended reads
	// only, in whole chunks from a padded image, no retries, no loader
	// (no machine checks).
	Lean bool

	// Input: the image reads COM1 (a typed prompt), which its first
	// sector says (ReadsInput), so that a harness knows to forward its
	// input.
	Input bool

	// SSE2: the code uses SSE2 (-march sse2): the loader checks that the
	// CPU has it and turns it on (full boot path only).
	SSE2 bool

	// LoaderSectors is the loader's size (full boot path); Link sets it.
	LoaderSectors int

	// extFn replaces the extension check's function 41h, or the lean
	// sector's read function 42h (tests: an unknown function makes a
	// BIOS without extensions).
	extFn byte
	// noE820 and noE801 make the loader's memory check call a function
	// no BIOS has in place of E820h (and E801h) (tests: the fallbacks).
	noE820, noE801 bool
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

// end is End with its default applied.
func (c BootConfig) end() uint32 {
	if e := c.dataAddr() + uint32(c.DataSectors)*SectorSize; c.End < e {
		return e
	}
	return c.End
}

// StreamSectors returns the sectors that main code of code bytes and data
// of data bytes take in an image linked with c: the full boot path ends
// each stream with a word (code) or dword (data) that makes its sum 0.
func StreamSectors(c BootConfig, code, data int) (codeSectors, dataSectors int) {
	if c.Lean {
		return sectors(code), sectors(data)
	}
	d := 0
	if data > 0 {
		d = sectors(data + 4)
	}
	return sectors(code + 2), d
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
	if !c.Lean && addr%4 != 0 {
		return fmt.Errorf("data address %#x is not a multiple of 4 (the loader sums the data in dwords)", addr)
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
// (so its Listing and Regions are ready). Its bytes end before the disk
// signature (codeEnd); the partition table and the 0x55 0xAA signature
// are Link's.
//
// Both sectors start with a short jump over bytes 3 to 61, which a BIOS
// may overwrite with a BIOS parameter block, set SS:SP = 0:0x7000,
// initialise COM1 (INT 14h AH=0: 9600 baud, 8 data bits, no parity, one
// stop bit) and hand over to the main code at 0:CodeAddr with DS = ES = 0
// (flat: FS = GS = 0 too, all with 4 GiB limits) and the direction flag
// clear.
//
// The full sector (see full.go) loads the loader, which checks the
// machine and loads the main code and the data; the lean one (lean.go)
// loads them itself. A read that fails (after three tries; lean: at once)
// prints "disk error" and the BIOS status in two hex digits (lean: "E"
// alone) and exits with code 2.
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
	if c.Lean && len(b)+leanTail > codeEnd {
		return nil, fmt.Errorf("lean boot sector is %d bytes, and its last %d bytes, zeros, must fit before byte %d too", len(b), leanTail, codeEnd)
	}
	return p, nil
}

// emitBPBJump emits the sector's first bytes: a short jump to start and a
// nop (the form BIOSes look for), then zeros up to bpbEnd, the room for a
// BIOS parameter block, in a region that the size report leaves out.
func emitBPBJump(p *x86.Program) {
	p.Mark("boot.start")
	p.I(x86.JMP, x86.Short{To: x86.Label("start")})
	p.Mark(PadRegion + "bpb")
	p.DB(0x90)
	p.PadTo(bpbEnd, 0)
}

// PadRegion starts the names of regions that are neither code nor data
// among the code (the room for a BIOS parameter block): size reports
// leave them out.
const PadRegion = "pad: "

// emitCOM1Init initialises COM1 through the BIOS: INT 14h AH=0 with AL =
// 0E3h (9600 baud, no parity, one stop bit, 8 data bits). Until then the
// UART keeps what the BIOS left, which need not be 8 data bits (Bochs'
// BIOS leaves 5). DX is 0 after it.
func emitCOM1Init(p *x86.Program) {
	p.I(x86.MOV, x86.AX, x86.Imm(0xE3))
	p.I(x86.CWD) // DX = 0: COM1
	p.I(x86.INT, x86.Imm(0x14))
}

// Labels of the boot sector routines the main code and the loader may
// share.
const (
	BootPutc    = "boot.putc"
	BootExit    = "boot.exit"
	BootFinish  = "boot.finish"
	BootFailMsg = "boot.failmsg"
	BootLoad    = "boot.load"
	BootSum     = "boot.sum"
	BootDAP     = "dap"
	BootMsgSum  = "msg.sum"
)

// BootRoutines are the addresses of the boot sector's routines that the
// main code may call: putc (AL to COM1 and the screen, all registers
// preserved), exit (AL = exit code; never returns) and, lean sector
// without input only (else 0), finish (putc of AL, then exit with AH). The
// loader also
// calls FailMsg (SI = a message ending in '\n': prints it, exits with 2),
// Load (BP sectors to the DAP's buffer), Sum (CX words at SI must add up
// to 0, else "checksum error") and finds the DAP and the message.
type BootRoutines struct {
	Putc, Exit, Finish           uint32
	FailMsg, Load, Sum, DAP, Msg uint32
}

// SharedRoutines returns where the boot sector for c has putc and exit.
// c's sector counts are ignored: the routines come before anything that
// depends on them, so the main code can be built before the counts are
// known.
func SharedRoutines(c BootConfig) (BootRoutines, error) {
	c.CodeSectors, c.DataSectors, c.LoaderSectors = 0, 0, 0
	p, err := BootSector(c)
	if err != nil {
		return BootRoutines{}, err
	}
	return routinesOf(p), nil
}

func routinesOf(p *x86.Program) BootRoutines {
	s := p.Symbols()
	if _, full := s[BootFailMsg]; !full {
		return BootRoutines{Putc: s[BootPutc], Exit: s[BootExit], Finish: s[BootFinish]}
	}
	return BootRoutines{Putc: s[BootPutc], Exit: s[BootExit], FailMsg: s[BootFailMsg], Load: s[BootLoad],
		Sum: s[BootSum], DAP: s[BootDAP], Msg: s[BootMsgSum]}
}

// assembleBoot assembles a boot sector program and checks that it fits.
func assembleBoot(p *x86.Program) ([]byte, error) {
	b, err := p.Assemble(BootAddr)
	if err != nil {
		return nil, fmt.Errorf("boot sector: %w", err)
	}
	if len(b) > codeEnd {
		return nil, fmt.Errorf("boot sector is %d bytes, more than the %d before the disk signature and the partition table", len(b), codeEnd)
	}
	return b, nil
}

// emitPutc emits putc under the label (and mark) name: the boot sector's
// copy has another name, so that one listing can hold both.
//
// The character goes to COM1 through INT 14h (the BIOS waits for the
// transmitter, with a timeout), then to the screen with INT 10h AH=0Eh;
// after '\n' it prints '\r' too (line feed, then carriage return: the
// same new line as "\r\n"). This relies on INT 10h keeping AX,
// as the BIOS convention says and as print loops everywhere assume.
//
// The boot sectors' copies keep the 16-bit registers (pusha): their
// callers (the boot sector and the loader, the image's print_piece and
// generation loop) keep nothing in the top halves of
// 32-bit registers across it, and the full sector's runs on a 286 too, so
// that the loader can say that the machine is not a 386. The console's own
// copy (wide) keeps all 32 bits.
//
// lean leaves BX as the caller has it: BH is the page only for the IBM PC's
// 1981 ROMs (every BIOS able to run 386 code writes to the active page, as
// SeaVGABIOS and the Bochs VGA BIOS say outright), and BL is a colour only
// in graphics modes, which nothing here sets. The other copies set BX = 7.
func emitPutc(p *x86.Program, name string, lean, wide bool) {
	p.Mark(name)
	p.Label(name)
	if wide {
		p.I(x86.PUSHAD) // all of them: a BIOS may not keep the top halves
	} else {
		p.I(x86.PUSHA)
	}
	// INT 14h AH=1: DX = 0 is COM1, AL is kept. The BIOS returns at once
	// when the machine has no COM1; fewer bytes than polling the port.
	p.I(x86.MOV, x86.AH, x86.Imm(1))
	p.I(x86.CWD) // AX < 8000h: DX = 0
	p.I(x86.INT, x86.Imm(0x14))
	if !lean {
		p.I(x86.MOV, x86.BX, x86.Imm(7)) // page 0, light grey (graphics modes)
	}
	p.I(x86.MOV, x86.AH, x86.Imm(0x0E))
	p.Label(name + ".tty")
	p.I(x86.INT, x86.Imm(0x10))
	p.I(x86.CMP, x86.AL, x86.Imm('\n'))
	p.I(x86.MOV, x86.AL, x86.Imm('\r'))
	p.I(x86.JE, x86.Label(name+".tty"))
	if wide {
		p.I(x86.POPAD)
	} else {
		p.I(x86.POPA)
	}
	p.I(x86.RET)
}
