package runtime

import (
	"encoding/binary"
	"fmt"

	x86 "tfc/codegen/x86_16"
)

// Linked is a disk image and the programs in it.
type Linked struct {
	Bytes  []byte
	Boot   *x86.Program
	Loader *x86.Program // nil for the lean boot sector
	Config BootConfig   // with the sector counts
}

// Link builds the disk image (see LinkImage) and returns its bytes.
func Link(boot, main *x86.Program, data []byte, c BootConfig) ([]byte, error) {
	l, err := LinkImage(boot, main, data, c)
	if err != nil {
		return nil, err
	}
	return l.Bytes, nil
}

// LinkImage builds the disk image. Sector 0 is the boot sector, ending as
// a master boot record (see mbr.go). The full boot path: then the loader,
// the main code assembled at CodeAddr (its entry is its first byte) and
// the data, each padded to whole sectors and ending with the word (data:
// dword) that makes its sum what the loader checks. Lean (see leanPlan):
// flat, the code and the data each padded to whole chunks; segmented,
// the memory from CodeAddr to the data's end (code, zeros, data), padded
// to whole chunks. The image is padded to whole cylinders
// (CylinderSectors).
//
// LinkImage sets c.CodeSectors and c.DataSectors from the sizes. With boot
// nil (the normal case) it builds the boot sector from them; a caller that
// passes its own boot program must have built it with the same counts
// (nonzero counts in c are checked against the sizes).
func LinkImage(boot, main *x86.Program, data []byte, c BootConfig) (*Linked, error) {
	pl, err := plan(boot, main, len(data), c)
	if err != nil {
		return nil, err
	}
	c = pl.c
	code, ld, bs := pl.code, pl.loader, pl.boot
	codeSectors, dataSectors := c.CodeSectors, c.DataSectors
	img := make([]byte, 0, CylinderSectors(1+c.LoaderSectors+codeSectors+dataSectors)*SectorSize)
	img = append(img, bs...)
	img = append(img, make([]byte, 510-len(bs))...)
	img = append(img, 0x55, 0xAA)
	switch {
	case c.Lean && c.Flat:
		// Each stream padded to whole reads.
		k, _ := c.leanPlan()
		img = appendPaddedTo(img, code, roundUp(codeSectors, k)*SectorSize)
		img = appendPaddedTo(img, data, roundUp(dataSectors, k)*SectorSize)
	case c.Lean:
		// Memory from CodeAddr on, as it is to be, padded to whole reads.
		k, streams := c.leanPlan()
		mem := []byte{}
		if len(streams) > 0 {
			mem = make([]byte, streams[0].chunks*k*SectorSize)
		}
		copy(mem, code)
		if len(data) > 0 {
			copy(mem[c.dataAddr()-CodeAddr:], data)
		}
		img = append(img, mem...)
	default:
		img = appendSummed16(img, ld, c.LoaderSectors)
		img = appendSummed16(img, code, codeSectors)
		img = appendSummed32(img, data, dataSectors)
	}
	img = appendPaddedTo(img, nil, (CylinderSectors(len(img)/SectorSize)*SectorSize)-len(img))
	writeMBR(img, c.Input)
	return &Linked{Bytes: img, Boot: pl.bootProg, Loader: pl.loaderProg, Config: c}, nil
}

// appendSummed16 appends b padded to n sectors, its last word set so that
// the words and SumSeed16 add up to 0 (the boot sector's sum).
func appendSummed16(img, b []byte, n int) []byte {
	start := len(img)
	img = appendPaddedTo(img, b, n*SectorSize)
	s := uint16(SumSeed16)
	for i := start; i < len(img); i += 2 {
		s += binary.LittleEndian.Uint16(img[i:])
	}
	binary.LittleEndian.PutUint16(img[len(img)-2:], -s)
	return img
}

// appendSummed32 appends b padded to n sectors (none for n = 0), its last
// dword set so that the dwords and SumSeed32 add up to 0 (the loader's
// check of the data).
func appendSummed32(img, b []byte, n int) []byte {
	if n == 0 {
		return img
	}
	start := len(img)
	img = appendPaddedTo(img, b, n*SectorSize)
	s := uint32(SumSeed32)
	for i := start; i < len(img); i += 4 {
		s += binary.LittleEndian.Uint32(img[i:])
	}
	binary.LittleEndian.PutUint32(img[len(img)-4:], -s)
	return img
}

// StreamsEnd is where the streams of the image end: the padding to whole
// cylinders follows.
func (l *Linked) StreamsEnd() int {
	c := l.Config
	if !c.Lean {
		return (1 + c.LoaderSectors + c.CodeSectors + c.DataSectors) * SectorSize
	}
	k, streams := c.leanPlan()
	n := 1
	for _, s := range streams {
		n += s.chunks * k
	}
	return n * SectorSize
}

// CodeOffset is where the main code starts in the image.
func (l *Linked) CodeOffset() int { return (1 + l.Config.LoaderSectors) * SectorSize }

func sectors(n int) int { return (n + SectorSize - 1) / SectorSize }

func roundUp(n, k int) int { return (n + k - 1) / k * k }

// appendPaddedTo appends b and zeros up to n bytes.
func appendPaddedTo(img, b []byte, n int) []byte {
	img = append(img, b...)
	return append(img, make([]byte, n-len(b))...)
}

// CheckLink makes every check LinkImage makes for an image of main and
// dataLen bytes of data, without laying the image out: tfc check's, which
// does not build the data of a large model.
func CheckLink(main *x86.Program, dataLen int, c BootConfig) error {
	_, err := plan(nil, main, dataLen, c)
	return err
}

// linkPlan is what LinkImage checked and assembled before it lays the
// image out: the config with its sector counts, and the assembled code,
// loader (nil for the lean boot sector) and boot sector.
type linkPlan struct {
	c                    BootConfig
	code, loader, boot   []byte
	bootProg, loaderProg *x86.Program
}

// plan checks the image of main and dataLen bytes of data and assembles
// its pieces.
func plan(boot, main *x86.Program, dataLen int, c BootConfig) (*linkPlan, error) {
	code, err := main.Assemble(CodeAddr)
	if err != nil {
		return nil, fmt.Errorf("main code: %w", err)
	}
	if len(code) > MaxCodeSize {
		return nil, fmt.Errorf("main code is %d bytes, only %d fit at %#x below %#x",
			len(code), MaxCodeSize, CodeAddr, CodeAddr+MaxCodeSize)
	}
	codeSectors, dataSectors := StreamSectors(c, len(code), dataLen)
	if (c.CodeSectors != 0 && c.CodeSectors != codeSectors) || (c.DataSectors != 0 && c.DataSectors != dataSectors) {
		return nil, fmt.Errorf("config says %d code and %d data sectors, the image has %d and %d",
			c.CodeSectors, c.DataSectors, codeSectors, dataSectors)
	}
	c.CodeSectors, c.DataSectors = codeSectors, dataSectors
	if err := c.check(); err != nil {
		return nil, err
	}
	var loader *x86.Program
	var ld []byte
	if !c.Lean {
		r, err := SharedRoutines(c)
		if err != nil {
			return nil, err
		}
		if loader, err = Loader(c, r); err != nil {
			return nil, err
		}
		ld, _ = loader.Assemble(LoaderAddr)
		c.LoaderSectors = sectors(len(ld) + 2)
		if LoaderAddr+c.LoaderSectors*SectorSize > loaderEnd {
			return nil, fmt.Errorf("BUG: the loader is %d bytes, more than fit from %#x to %#x", len(ld), LoaderAddr, loaderEnd)
		}
	}
	if boot == nil {
		if boot, err = BootSector(c); err != nil {
			return nil, err
		}
	}
	bs, err := assembleBoot(boot)
	if err != nil {
		return nil, err
	}
	return &linkPlan{c: c, code: code, loader: ld, boot: bs, bootProg: boot, loaderProg: loader}, nil
}
