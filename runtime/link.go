package runtime

import (
	"fmt"

	. "tfc/codegen/x86_16"
)

// Link builds the disk image: sector 0 is the boot sector (padded to 510
// bytes and signed 0x55 0xAA), then main assembled at CodeAddr (its entry is
// its first byte) padded to whole sectors, then data padded to whole
// sectors.
//
// Link sets c.CodeSectors and c.DataSectors from the sizes. With boot nil
// (the normal case) it builds the boot sector from them; a caller that
// passes its own boot program must have built it with the same counts
// (nonzero counts in c are checked against the sizes).
func Link(boot, main *Program, data []byte, c BootConfig) ([]byte, error) {
	code, err := main.Assemble(CodeAddr)
	if err != nil {
		return nil, fmt.Errorf("main code: %w", err)
	}
	codeSectors := sectors(len(code))
	dataSectors := sectors(len(data))
	if len(code) > MaxCodeSize {
		return nil, fmt.Errorf("main code is %d bytes, only %d fit at %#x below %#x",
			len(code), MaxCodeSize, CodeAddr, CodeAddr+MaxCodeSize)
	}
	if (c.CodeSectors != 0 && c.CodeSectors != codeSectors) || (c.DataSectors != 0 && c.DataSectors != dataSectors) {
		return nil, fmt.Errorf("config says %d code and %d data sectors, the image has %d and %d",
			c.CodeSectors, c.DataSectors, codeSectors, dataSectors)
	}
	c.CodeSectors, c.DataSectors = codeSectors, dataSectors
	if err := c.check(); err != nil {
		return nil, err
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
	img := make([]byte, 0, (1+codeSectors+dataSectors)*SectorSize)
	img = append(img, bs...)
	img = append(img, make([]byte, 510-len(bs))...)
	img = append(img, 0x55, 0xAA)
	img = appendPadded(img, code)
	img = appendPadded(img, data)
	return img, nil
}

func sectors(n int) int { return (n + SectorSize - 1) / SectorSize }

func appendPadded(img, b []byte) []byte {
	img = append(img, b...)
	return append(img, make([]byte, sectors(len(b))*SectorSize-len(b))...)
}
