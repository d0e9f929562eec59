package main

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"tfc/runtime/ioport"
)

//go:embed webpage/index.html
var webFiles embed.FS

// The BIOS images tfc web puts beside the page: Debian's seabios package's
// (v86 runs SeaBIOS; its VGA BIOS for the Bochs/QEMU standard VGA, which v86
// emulates).
const (
	defaultBIOS    = "/usr/share/seabios/bios.bin"
	defaultVGABIOS = "/usr/share/seabios/vgabios-stdvga.bin"
)

// cmdWeb writes a static page that boots the image in the browser with
// the v86 emulator: index.html, the image, v86's script and WebAssembly
// module, and the BIOS images.
func cmdWeb(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("web", "web FILE.tf|disk.img -o site/ [--serve ADDR] [flags]")
	b := addBuildFlags(fs)
	out := fs.String("o", "site", "the folder to write the page into")
	v86 := fs.String("v86", "", "the folder holding v86's libv86.js and v86.wasm (default: web/node_modules/v86/build here or in a parent folder, as make deps installs it)")
	bios := fs.String("bios", defaultBIOS, "the BIOS image (SeaBIOS)")
	vgaBIOS := fs.String("vga-bios", defaultVGABIOS, "the VGA BIOS image")
	serve := fs.String("serve", "", "then serve the folder at this address (localhost:8086) until interrupted")
	path, err := parseFlags(fs, args, stderr)
	if err != nil {
		return err
	}
	if err := checkOut(fs, *out); err != nil {
		return err
	}
	dir := *v86
	if dir == "" {
		if dir = findV86(); dir == "" {
			return &exitError{1, "web: v86 is not installed: run make deps (npm install in web/), or name its build folder with --v86"}
		}
	}
	for _, f := range []string{filepath.Join(dir, "libv86.js"), filepath.Join(dir, "v86.wasm"), *bios, *vgaBIOS} {
		if _, err := os.Stat(f); err != nil {
			hint := ""
			if strings.HasPrefix(f, "/usr/share/seabios/") {
				hint = " (Debian: apt-get install seabios, or make deps)"
			}
			return &exitError{1, fmt.Sprintf("web: %v%s", err, hint)}
		}
	}

	var img []byte
	name := filepath.Base(path)
	title := strings.TrimSuffix(name, filepath.Ext(name))
	memory := 0
	if strings.HasSuffix(path, ".tf") {
		p, im, err := b.compile(fs, path, stderr)
		if err != nil {
			return err
		}
		img, memory, title = im.Bytes, webMemoryMiB(im.MemoryBytes()), p.Name
	} else {
		if _, err := checkImage(path); err != nil {
			return err
		}
		if img, err = os.ReadFile(path); err != nil {
			return err
		}
		// An image file: its data and a quarter more, as tfc run.
		memory = webMemoryMiB(1<<20 + int64(len(img)) + int64(len(img))/4)
	}

	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	copies := map[string]string{
		"libv86.js":   filepath.Join(dir, "libv86.js"),
		"v86.wasm":    filepath.Join(dir, "v86.wasm"),
		"bios.bin":    *bios,
		"vgabios.bin": *vgaBIOS,
	}
	for to, from := range copies {
		if err := copyFile(from, filepath.Join(*out, to)); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(*out, "disk.img"), img, 0o644); err != nil {
		return err
	}
	page, err := template.ParseFS(webFiles, "webpage/index.html")
	if err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(*out, "index.html"))
	if err != nil {
		return err
	}
	err = page.Execute(f, map[string]any{
		"Title":    title,
		"Image":    "disk.img",
		"Bytes":    len(img),
		"Source":   name,
		"ExitPort": ioport.DebugExit,
		"Config":   map[string]int{"bytes": len(img), "memoryMiB": memory},
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "tfc: wrote %s: index.html boots %s (%d bytes, %d MiB of memory) in v86\n", *out, name, len(img), memory)
	if *serve == "" {
		return nil
	}
	l, err := net.Listen("tcp", *serve)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "tfc: serving %s at http://%s/ (Ctrl-C stops)\n", *out, l.Addr())
	return http.Serve(l, http.FileServer(http.Dir(*out)))
}

// webMemoryMiB is the memory v86 gives a guest that needs end bytes: 2
// MiB more for the BIOS, rounded up to MiB, at least 32 MiB (the browser
// allocates all of it).
func webMemoryMiB(end int64) int {
	return max(int((end+3<<20-1)>>20), 32)
}

// findV86 looks for v86's build folder where make deps installs it
// (web/node_modules/v86/build) in the current folder and its parents, then
// beside the executable, then among npm's global packages.
func findV86() string {
	var dirs []string
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			dirs = append(dirs, filepath.Join(d, "web", "node_modules", "v86", "build"), filepath.Join(d, "node_modules", "v86", "build"))
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Join(filepath.Dir(exe), "web", "node_modules", "v86", "build"))
	}
	dirs = append(dirs, "/usr/local/lib/node_modules/v86/build", "/usr/lib/node_modules/v86/build")
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "libv86.js")); err == nil {
			return d
		}
	}
	return ""
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Close(); err != nil {
		return err
	}
	return nil
}
