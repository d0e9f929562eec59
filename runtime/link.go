package runtime

import (
	"fmt"

	x86 "tfc/codegen/x86_16"
)

// Link builds the disk image: sector 0 is the boot sector (padded to 510
// bytes and signed 0x55 0xAA), then main assembled at CodeAddr (its entry is
// its first byte) padded to whole sectors, then data padded to whole
// sectors. Lean (see leanPlan): flat, the code and the data each padded to
// whole chunks; segmented, the memory from CodeAddr to the data's end
// (code, zeros, data), padded to whole chunks.
//
// Link sets c.CodeSectors and c.DataSectors from the sizes. With boot nil
// (the normal case) it builds the boot sector from them; a caller that
// passes its own boot program must have built it with the same counts
// (nonzero counts in c are checked against the sizes).
func Link(boot, main *x86.Program, data []byte, c BootConfig) ([]byte, error) {
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
		img = appendPadded(img, code)
		img = appendPadded(img, data)
	}
	return img, nil
}

func sectors(n int) int { return (n + SectorSize - 1) / SectorSize }

func roundUp(n, k int) int { return (n + k - 1) / k * k }

func appendPadded(img, b []byte) []byte {
	return appendPaddedTo(img, b, sectors(len(b))*SectorSize)
}

// appendPaddedTo appends b and zeros up to n bytes.
func appendPaddedTo(img, b []byte, n int) []byte {
	img = append(img, b...)
	return append(img, make([]byte, n-len(b))...)
}
