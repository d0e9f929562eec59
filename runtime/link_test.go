package runtime

import (
	"bytes"
	"strings"
	"testing"

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
		if err != nil {
			t.Fatal(err)
		}
		b, err := Link(nil, smallMain(c.Flat), data, c)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%+v: two links differ", c)
		}
		if len(a) != CylinderSectors(1)*SectorSize || a[510] != 0x55 || a[511] != 0xAA {
			t.Errorf("%+v: %d bytes, signature % x", c, len(a), a[510:512])
		}
		if err := CheckImage(a[:SectorSize], int64(len(a))); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
		if !bytes.Equal(a[(1+1+1)*SectorSize:][:len(data)], data) {
			t.Errorf("%+v: data is not in the last sectors", c)
		}
	}
}

func TestLinkErrors(t *testing.T) {
	big := &x86.Program{}
	big.Times(511, 0x90)
	if _, err := assembleBoot(big); err == nil || !strings.Contains(err.Error(), "511 bytes") {
		t.Errorf("BootSector-size check: %v", err)
	}
	if _, err := Link(big, smallMain(true), nil, BootConfig{Flat: true}); err == nil || !strings.Contains(err.Error(), "511 bytes") {
		t.Errorf("oversized boot sector: %v", err)
	}

	// 700 KiB does not fit in conventional memory.
	_, err := Link(nil, smallMain(false), make([]byte, 700<<10), BootConfig{DataAddr: 0x10000})
	if err == nil || !strings.Contains(err.Error(), "717312 bytes") || !strings.Contains(err.Error(), "588800 bytes") {
		t.Errorf("segmented data too large: %v", err)
	}
	// Padding to a whole sector counts: the BIOS writes whole sectors.
	// At 0x10100, 1149.5 sectors fit; the data's sum takes 4 bytes.
	c := BootConfig{DataAddr: 0x10100}
	if _, err := Link(nil, smallMain(false), make([]byte, 1149*SectorSize-3), c); err == nil {
		t.Errorf("data up to the limit, padded past it: no error")
	}
	if _, err := Link(nil, smallMain(false), make([]byte, 1149*SectorSize-4), c); err != nil {
		t.Errorf("data within the limit: %v", err)
	}

	huge := &x86.Program{}
	huge.Times(MaxCodeSize+1, 0x90)
	if _, err := Link(nil, huge, nil, BootConfig{Flat: true}); err == nil || !strings.Contains(err.Error(), "33281 bytes") {
		t.Errorf("main code too large: %v", err)
	}
	// Segmented data must not overlap the code.
	if _, err := Link(nil, smallMain(false), []byte{1}, BootConfig{DataAddr: CodeAddr}); err == nil || !strings.Contains(err.Error(), "overlaps") {
		t.Errorf("data over the code: %v", err)
	}
	if _, err := Link(nil, smallMain(true), []byte{1}, BootConfig{Flat: true, DataAddr: 0x20000}); err == nil {
		t.Errorf("flat data below 1 MiB: no error")
	}
	if _, err := Link(nil, smallMain(true), []byte{1}, BootConfig{Flat: true, CodeSectors: 5}); err == nil {
		t.Errorf("wrong CodeSectors: no error")
	}
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
		if err != nil {
			t.Fatal(err)
		}
		b, err := p.Assemble(BootAddr)
		if err != nil {
			t.Fatal(err)
		}
		if got := nasm(t, p.Listing()); !bytes.Equal(got, b) {
			t.Errorf("%+v: nasm gives\n% x\nwant\n% x", c, got, b)
		}
	}
	for _, c := range []Console{{Flat: true, PiecesAddr: 0x123456}, {PiecesAddr: 0x12345}, {PiecesAddr: 0x12340},
		{Flat: true, PiecesAddr: 0x100000, BootPutc: 0x7C40, BootExit: 0x7C3A}, {PiecesAddr: 0x10000, BootPutc: 0x7C40, BootExit: 0x7C3A}} {
		p := &x86.Program{}
		EmitConsole(p, c)
		b, err := p.Assemble(CodeAddr)
		if err != nil {
			t.Fatal(err)
		}
		if got := nasm(t, p.Listing()); !bytes.Equal(got, b) {
			t.Errorf("%+v: nasm gives\n% x\nwant\n% x", c, got, b)
		}
	}
}
