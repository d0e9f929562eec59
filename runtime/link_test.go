package runtime

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	x86 "tfc/codegen/x86_16"
)

func smallMain(flat bool) *x86.Program {
	p := &x86.Program{}
	p.I(x86.MOV, x86.AL, x86.Imm(0))
	p.I(x86.CALL, x86.Label(Exit))
	EmitConsole(p, Console{Flat: flat, PiecesAddr: BootConfig{Flat: flat}.dataAddr()})
	return p
}

func TestLinkDeterministic(t *testing.T) {
	data := randomData(5000, 3)
	for _, c := range []BootConfig{{Flat: true}, {}, {ForceCHS: true}} {
		a, err := Link(nil, smallMain(c.Flat), data, c)
		require.NoError(t, err, "%+v", c)
		b, err := Link(nil, smallMain(c.Flat), data, c)
		require.NoError(t, err, "%+v", c)
		// bytes.Equal, not assert.Equal: a diff of two images is no help.
		assert.True(t, bytes.Equal(a, b), "%+v: two links differ", c)
		assert.Equal(t, CylinderSectors(1)*SectorSize, len(a), "%+v: bytes", c)
		assert.Equal(t, []byte{0x55, 0xAA}, a[510:512], "%+v: signature", c)
		assert.NoError(t, CheckImage(a[:SectorSize], int64(len(a))), "%+v", c)
		assert.True(t, bytes.Equal(a[(1+1+1)*SectorSize:][:len(data)], data), "%+v: data is not in the last sectors", c)
	}
}

func TestLinkErrors(t *testing.T) {
	big := &x86.Program{}
	big.Times(511, 0x90)
	_, err := assembleBoot(big)
	assert.ErrorContains(t, err, "511 bytes", "BootSector-size check")
	_, err = Link(big, smallMain(true), nil, BootConfig{Flat: true})
	assert.ErrorContains(t, err, "511 bytes", "oversized boot sector")

	// 700 KiB does not fit in conventional memory.
	_, err = Link(nil, smallMain(false), make([]byte, 700<<10), BootConfig{DataAddr: 0x10000})
	assert.ErrorContains(t, err, "717312 bytes", "segmented data too large")
	assert.ErrorContains(t, err, "588800 bytes", "segmented data too large")
	// Padding to a whole sector counts: the BIOS writes whole sectors.
	// At 0x10100, 1149.5 sectors fit; the data's sum takes 4 bytes.
	c := BootConfig{DataAddr: 0x10100}
	_, err = Link(nil, smallMain(false), make([]byte, 1149*SectorSize-3), c)
	assert.Error(t, err, "data up to the limit, padded past it")
	_, err = Link(nil, smallMain(false), make([]byte, 1149*SectorSize-4), c)
	assert.NoError(t, err, "data within the limit")

	huge := &x86.Program{}
	huge.Times(MaxCodeSize+1, 0x90)
	_, err = Link(nil, huge, nil, BootConfig{Flat: true})
	assert.ErrorContains(t, err, "33281 bytes", "main code too large")
	// Segmented data must not overlap the code.
	_, err = Link(nil, smallMain(false), []byte{1}, BootConfig{DataAddr: CodeAddr})
	assert.ErrorContains(t, err, "overlaps", "data over the code")
	_, err = Link(nil, smallMain(true), []byte{1}, BootConfig{Flat: true, DataAddr: 0x20000})
	assert.Error(t, err, "flat data below 1 MiB")
	_, err = Link(nil, smallMain(true), []byte{1}, BootConfig{Flat: true, CodeSectors: 5})
	assert.Error(t, err, "wrong CodeSectors")
}

// The listings assemble with nasm to the same bytes: the stop-gap prefix
// bytes (0x67 before string instructions, les, aam, das) included.
func TestListingRoundTrip(t *testing.T) {
	haveNASM(t)
	for _, c := range []BootConfig{
		{Flat: true, CodeSectors: 2, DataSectors: 1000},
		{Flat: true, CodeSectors: 2, DataSectors: 1000, ForceCHS: true},
		{CodeSectors: 2, DataSectors: 100, DataAddr: 0x12344},
		{CodeSectors: 2, DataSectors: 100, ForceCHS: true},
		{Flat: true, Lean: true, CodeSectors: 2, DataSectors: 1000},
		{Lean: true, CodeSectors: 2, DataSectors: 100, DataAddr: 0x12345},
		{Lean: true, CodeSectors: 1, DataSectors: (ConventionalTop - 0x10000 - 512) / 512}, // 2-sector chunks
	} {
		p, err := BootSector(c)
		require.NoError(t, err, "%+v", c)
		b, err := p.Assemble(BootAddr)
		require.NoError(t, err, "%+v", c)
		assert.Equal(t, b, nasm(t, p.Listing()), "%+v: nasm's bytes", c)
	}
	for _, c := range []Console{{Flat: true, PiecesAddr: 0x123456}, {PiecesAddr: 0x12345}, {PiecesAddr: 0x12340},
		{Flat: true, PiecesAddr: 0x100000, BootPutc: 0x7C40, BootExit: 0x7C3A}, {PiecesAddr: 0x10000, BootPutc: 0x7C40, BootExit: 0x7C3A}} {
		p := &x86.Program{}
		EmitConsole(p, c)
		b, err := p.Assemble(CodeAddr)
		require.NoError(t, err, "%+v", c)
		assert.Equal(t, b, nasm(t, p.Listing()), "%+v: nasm's bytes", c)
	}
}
