// Package bochs boots raw disk images in Bochs with its own BIOS (not
// SeaBIOS, which QEMU uses) and collects what the guest writes to COM1,
// for the tests that check that images boot on other BIOSes too.
//
// Bochs has no debug-exit port: Boot stops it when Until says the output
// is complete, when the timeout passes, or when it stops by itself. The
// Debian build has its debugger compiled in and no "nogui" display, so
// Bochs runs with the text-terminal display on a pseudo-terminal that
// script(1) provides, and the debugger is told to continue.
package bochs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Binary is the emulator the harness starts.
const Binary = "bochs"

// BIOS and VGABIOS are the ROM images Bochs boots with.
const (
	BIOS    = "/usr/share/bochs/BIOS-bochs-latest"
	VGABIOS = "/usr/share/bochs/VGABIOS-lgpl-latest"
)

// ErrNotInstalled says that Bochs is missing and how to get it.
var ErrNotInstalled = errors.New("bochs is not installed (Debian: apt-get install bochs bochs-term bochsbios vgabios, or run `make deps`)")

// Available reports whether Bochs, its BIOS and script(1) are there.
func Available() bool {
	for _, b := range []string{Binary, "script"} {
		if _, err := exec.LookPath(b); err != nil {
			return false
		}
	}
	for _, f := range []string{BIOS, VGABIOS} {
		if _, err := os.Stat(f); err != nil {
			return false
		}
	}
	return true
}

// Options says how to boot an image.
type Options struct {
	// Timeout stops Bochs after this long (0: one minute).
	Timeout time.Duration
	// MemoryMiB is the guest's memory (0: 32).
	MemoryMiB int
	// Until, when set, is asked about the COM1 output as it grows; true
	// stops Bochs.
	Until func(serial []byte) bool
}

// Result is what one boot produced.
type Result struct {
	Serial  []byte // everything the guest wrote to COM1
	Elapsed time.Duration
	Log     string // Bochs' log (errors and panics only)
}

// Config returns the bochsrc for booting image as a hard disk, COM1 to
// com1 and the log to log.
func Config(image, com1, log string, o Options) string {
	mem := o.MemoryMiB
	if mem == 0 {
		mem = 32
	}
	return strings.Join([]string{
		fmt.Sprintf("megs: %d", mem),
		"romimage: file=" + BIOS,
		"vgaromimage: file=" + VGABIOS,
		"display_library: term",
		"ata0-master: type=disk, path=\"" + image + "\", mode=flat",
		"boot: disk",
		"com1: enabled=1, mode=file, dev=\"" + com1 + "\"",
		"log: \"" + log + "\"",
		"panic: action=fatal",
		"error: action=report",
		"info: action=ignore",
		"debug: action=ignore",
		"speaker: enabled=0",
		"clock: sync=none",
		"cpu: ips=200000000",
		"",
	}, "\n")
}

// Boot runs image (a path to a raw disk image; its size whole cylinders
// of 16 heads and 63 sectors, as every tfc image is) in Bochs.
func Boot(ctx context.Context, image string, o Options) (*Result, error) {
	if !Available() {
		return nil, ErrNotInstalled
	}
	abs, err := filepath.Abs(image)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "tfc-bochs-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	// Bochs locks the image with a file beside it: boot a link in dir.
	img := filepath.Join(dir, "disk.img")
	if err := os.Symlink(abs, img); err != nil {
		return nil, err
	}
	com1, log := filepath.Join(dir, "com1.txt"), filepath.Join(dir, "bochs.log")
	rc, cmds := filepath.Join(dir, "bochsrc"), filepath.Join(dir, "debugger")
	if err := os.WriteFile(rc, []byte(Config(img, com1, log, o)), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(cmds, []byte("c\n"), 0o644); err != nil {
		return nil, err
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = time.Minute
	}
	cmd := exec.Command("script", "-qfec", fmt.Sprintf("%s -q -f %s -rc %s", Binary, rc, cmds), "/dev/null")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TERM=xterm")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bochs: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	res := &Result{}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			runErr = ctx.Err()
			break loop
		case <-deadline.C:
			runErr = fmt.Errorf("bochs: timed out after %v", timeout)
			break loop
		case err := <-done:
			done <- err
			break loop
		case <-tick.C:
			if b, _ := os.ReadFile(com1); o.Until != nil && o.Until(b) {
				break loop
			}
		}
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-done
	res.Elapsed = time.Since(start)
	res.Serial, _ = os.ReadFile(com1)
	if b, err := os.ReadFile(log); err == nil {
		res.Log = string(b)
	}
	if runErr != nil {
		return res, fmt.Errorf("%v (guest wrote %d bytes to COM1; log: %s)", runErr, len(res.Serial), lastLines(res.Log, 5))
	}
	return res, nil
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
