package runtime

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The loader's checks: each failure prints its message and exits with 2.
func TestLoaderChecks(t *testing.T) {
	data := randomData(50<<10, 9)
	for _, tc := range []struct {
		name  string
		c     BootConfig
		spoil func(img []byte, l *Linked)
		want  string
	}{
		{"zeroed_code", BootConfig{Flat: true}, func(img []byte, l *Linked) {
			at := (1 + l.Config.LoaderSectors) * SectorSize
			copy(img[at:], make([]byte, l.Config.CodeSectors*SectorSize))
		}, "checksum error\n"},
		{"zeroed_loader", BootConfig{}, func(img []byte, l *Linked) {
			copy(img[SectorSize:], make([]byte, l.Config.LoaderSectors*SectorSize))
		}, "checksum error\n"},
		{"flipped_data_flat", BootConfig{Flat: true}, func(img []byte, l *Linked) {
			img[(1+l.Config.LoaderSectors+l.Config.CodeSectors)*SectorSize+1234] ^= 0x10
		}, "checksum error\n"},
		{"flipped_data_segmented", BootConfig{}, func(img []byte, l *Linked) {
			img[l.StreamsEnd()-SectorSize] ^= 1
		}, "checksum error\n"},
		{"memory", BootConfig{Flat: true, End: 0xF0000000}, nil, "not enough memory\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, err := LinkImage(nil, sumProgram(tc.c.Flat, tc.c.dataAddr(), len(data)), data, tc.c)
			require.NoError(t, err)
			img := bytes.Clone(l.Bytes)
			if tc.spoil != nil {
				tc.spoil(img, l)
			}
			res := boot(t, img, 10*time.Second)
			assert.Equal(t, tc.want, string(res.Serial), "COM1 (exit %d)", res.ExitCode)
			assert.Equal(t, 2, res.ExitCode, "exit code (COM1 %q)", res.Serial)
		})
	}
}

// A flat image needs memory up to End, which the loader learns from E820,
// else E801, else 88h (QEMU's default is 128 MiB; 88h tells 63 MiB at
// most): just enough boots, more prints "not enough memory".
func TestLoaderMemory(t *testing.T) {
	data := randomData(10<<10, 3)
	sum := fmt.Sprintf("%08X\n", sum32(data))
	const mem = "not enough memory\n"
	for _, tc := range []struct {
		name string
		c    BootConfig
		want string
	}{
		{"e820", BootConfig{End: 120 << 20}, sum},
		{"e820_short", BootConfig{End: 130 << 20}, mem},
		{"e801", BootConfig{End: 120 << 20, noE820: true}, sum},
		{"e801_short", BootConfig{End: 130 << 20, noE820: true}, mem},
		{"88h", BootConfig{End: 60 << 20, noE820: true, noE801: true}, sum},
		{"88h_short", BootConfig{End: 100 << 20, noE820: true, noE801: true}, mem},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := tc.c
			c.Flat = true
			img, err := Link(nil, sumProgram(true, c.dataAddr(), len(data)), data, c)
			require.NoError(t, err)
			res := boot(t, img, 10*time.Second)
			assert.Equal(t, tc.want, string(res.Serial), "COM1 (exit %d)", res.ExitCode)
			assert.Equal(t, map[bool]int{true: 2, false: 0}[tc.want == mem], res.ExitCode, "exit code (COM1 %q)", res.Serial)
		})
	}
}

func TestGeometry(t *testing.T) {
	for _, tc := range []struct{ n, heads, padded int }{
		{1, 16, 1008}, {615, 16, 1008}, {1008, 16, 1008}, {1009, 16, 2016},
		{16 * 63 * 1024, 16, 16 * 63 * 1024}, {16*63*1024 + 1, 16, 16 * 63 * 1025},
		{17 * 63 * 1024, 32, 17 * 63 * 1024}, {2 << 21, 128, 128 * 63 * 521},
	} {
		h, s := Geometry(tc.padded)
		assert.Equal(t, tc.heads, h, "Geometry(%d): heads", tc.padded)
		assert.Equal(t, 63, s, "Geometry(%d): sectors per track", tc.padded)
		assert.Equal(t, tc.padded, CylinderSectors(tc.n), "CylinderSectors(%d)", tc.n)
	}
}

// Sector 0 is a valid MBR: one active partition from sector 1 to the end,
// its CHS end the geometry's last head and sector; CheckImage accepts it
// and refuses what is not a tfc image.
func TestMBR(t *testing.T) {
	img, err := Link(nil, smallMain(true), randomData(3000, 1), BootConfig{Flat: true})
	require.NoError(t, err)
	e := img[partitionOffset:]
	table := fmt.Sprintf("partition table % x", img[partitionOffset:512])
	assert.Equal(t, byte(0x80), e[0], "active: "+table)
	assert.Equal(t, byte(PartitionType), e[4], "type: "+table)
	assert.Equal(t, byte(15), e[5], "CHS end head: "+table)
	assert.Equal(t, byte(63), e[6]&63, "CHS end sector: "+table)
	assert.Equal(t, make([]byte, 48), img[partitionOffset+16:510], "the other entries: "+table)
	assert.NoError(t, CheckImage(img[:SectorSize], int64(len(img))))
	for _, tc := range []struct {
		b    []byte
		size int64
		want string
	}{
		{[]byte("# tfc\n"), 6, "not a tfc image: 6 bytes, less than a sector"},
		{make([]byte, 512), 512, "not a tfc image: no boot signature (0x55 0xAA) at the end of its first sector"},
		{append(make([]byte, 510), 0x55, 0xAA), 512, "not a tfc image: no tfc signature in its first sector"},
		{img[:SectorSize], int64(len(img) - SectorSize), fmt.Sprintf("a tfc image of %d bytes, but its partition table says %d sectors: cut short or padded?", len(img)-SectorSize, len(img)/SectorSize)},
	} {
		assert.EqualError(t, CheckImage(tc.b, tc.size), tc.want, "CheckImage")
	}
}
