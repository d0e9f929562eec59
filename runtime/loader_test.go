package runtime

import (
	"bytes"
	"fmt"
	"testing"
	"time"
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
			if err != nil {
				t.Fatal(err)
			}
			img := bytes.Clone(l.Bytes)
			if tc.spoil != nil {
				tc.spoil(img, l)
			}
			res := boot(t, img, 10*time.Second)
			if string(res.Serial) != tc.want || res.ExitCode != 2 {
				t.Errorf("COM1 %q, exit %d; want %q, exit 2", res.Serial, res.ExitCode, tc.want)
			}
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
			if err != nil {
				t.Fatal(err)
			}
			res := boot(t, img, 10*time.Second)
			if code := map[bool]int{true: 2, false: 0}[tc.want == mem]; string(res.Serial) != tc.want || res.ExitCode != code {
				t.Errorf("COM1 %q, exit %d; want %q, exit %d", res.Serial, res.ExitCode, tc.want, code)
			}
		})
	}
}

func TestGeometry(t *testing.T) {
	for _, tc := range []struct{ n, heads, padded int }{
		{1, 16, 1008}, {615, 16, 1008}, {1008, 16, 1008}, {1009, 16, 2016},
		{16 * 63 * 1024, 16, 16 * 63 * 1024}, {16*63*1024 + 1, 16, 16 * 63 * 1025},
		{17 * 63 * 1024, 32, 17 * 63 * 1024}, {2 << 21, 128, 128 * 63 * 521},
	} {
		if h, s := Geometry(tc.padded); h != tc.heads || s != 63 {
			t.Errorf("Geometry(%d) = %d, %d; want %d, 63", tc.padded, h, s, tc.heads)
		}
		if got := CylinderSectors(tc.n); got != tc.padded {
			t.Errorf("CylinderSectors(%d) = %d, want %d", tc.n, got, tc.padded)
		}
	}
}

// Sector 0 is a valid MBR: one active partition from sector 1 to the end,
// its CHS end the geometry's last head and sector; CheckImage accepts it
// and refuses what is not a tfc image.
func TestMBR(t *testing.T) {
	img, err := Link(nil, smallMain(true), randomData(3000, 1), BootConfig{Flat: true})
	if err != nil {
		t.Fatal(err)
	}
	e := img[partitionOffset:]
	if e[0] != 0x80 || e[4] != PartitionType || e[5] != 15 || e[6]&63 != 63 || !bytes.Equal(img[partitionOffset+16:510], make([]byte, 48)) {
		t.Errorf("partition table % x", img[partitionOffset:512])
	}
	if err := CheckImage(img[:SectorSize], int64(len(img))); err != nil {
		t.Error(err)
	}
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
		if err := CheckImage(tc.b, tc.size); err == nil || err.Error() != tc.want {
			t.Errorf("CheckImage: %v, want %q", err, tc.want)
		}
	}
}
