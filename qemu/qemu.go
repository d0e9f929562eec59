// Package qemu boots raw disk images in qemu-system-i386 and collects what the
// guest writes to COM1 and the code it exits with. The tests and the CLI share it.
package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"tfc/runtime/ioport"
)

// Binary is the emulator the harness starts.
const Binary = "qemu-system-i386"

// ErrNotInstalled says that qemu-system-i386 is missing and how to get it.
var ErrNotInstalled = errors.New(Binary + " is not installed (Debian: apt-get install qemu-system-x86, or run `make deps`)")

// Options says how to boot an image.
type Options struct {
	// Icount runs the guest under -icount shift=0,sleep=off, which makes rdtsc
	// count executed instructions exactly and the run repeatable.
	Icount bool
	// Timeout kills QEMU after this long (0: one minute).
	Timeout time.Duration
	// Display shows the VGA window instead of running headless.
	Display bool
	// KeepOpen (with Display) leaves the window open after the guest
	// exits, until the user closes it.
	KeepOpen bool
	// Screenshot, when set, is a PNG file that receives the screen as the
	// guest left it (at its exit, or at the timeout).
	Screenshot string
	// Frames, when set, is a folder that receives the screen as PNG files
	// frame-0001.png, … every FrameEvery (0: 250 ms) while the guest runs,
	// and once more at its end.
	Frames     string
	FrameEvery time.Duration
	// Memory in MiB (0: QEMU's default).
	MemoryMiB int
	// Machine is the machine type: "" or "pc" (i440FX, the disk on IDE),
	// "q35" (ICH9, the disk on its AHCI controller).
	Machine string
	// Disk is how the image is attached: "" (a hard disk on the machine's
	// disk controller: IDE on pc, AHCI on q35), "usb" (a USB stick,
	// usb-storage on an xHCI controller) or "floppy" (drive A:, the image
	// a 1.44 MB floppy: FloppyBytes at most, padded to that by Boot).
	Disk string
	// CPU is the CPU model ("486"; "": QEMU's default).
	CPU string
	// Stdout, when set, receives COM1 output as it arrives (it is still
	// collected in Result.Serial).
	Stdout io.Writer
	// Stdin, when set, is what the guest reads from COM1, as it comes
	// (a typed prompt's lines). At its end the guest reads EOT (0x04),
	// after a '\n' when it did not end with one: a serial line has no end
	// of its own. Without it COM1 receives nothing.
	Stdin io.Reader
	// Debugcon, when set, is a file that receives what the guest writes to
	// port 0xE9 (QEMU's debug console): statistics that must not mix with
	// the story on COM1.
	Debugcon string
}

// Result is what one boot produced.
type Result struct {
	Serial []byte // everything the guest wrote to COM1
	// ExitCode is the value the guest wrote to the debug-exit port, or -1 when
	// QEMU ended some other way (see Status).
	ExitCode int
	Status   int // QEMU's own exit status
	Stderr   string
	Elapsed  time.Duration
	// FirstOutput and LastOutput are when the first and the last COM1
	// bytes arrived, from QEMU's start: the story's pace without the boot.
	FirstOutput, LastOutput time.Duration
	// Frames is the number of frames written to Options.Frames.
	Frames int
}

// Available reports whether qemu-system-i386 can be started.
func Available() bool {
	_, err := exec.LookPath(Binary)
	return err == nil
}

// FloppyBytes is the size of a 1.44 MB floppy image.
const FloppyBytes = 1474560

// Args returns the qemu-system-i386 command line for booting image.
func Args(image string, o Options) []string {
	return args(image, o, "", "")
}

// args is Args; with a monitor socket, QEMU connects its QMP monitor to
// mon and its exit port, an isa-debugcon device, to exit.
func args(image string, o Options, mon, exit string) []string {
	machine := "accel=tcg"
	if o.Machine != "" {
		machine = o.Machine + "," + machine
	}
	args := []string{
		"-machine", machine,
		"-nodefaults",
		"-serial", "stdio",
	}
	if mon != "" {
		args = append(args,
			"-chardev", "socket,id=tfcmon,path="+mon, "-mon", "chardev=tfcmon,mode=control",
			"-chardev", "socket,id=tfcexit,path="+exit,
			"-device", fmt.Sprintf("isa-debugcon,iobase=%#x,chardev=tfcexit", ioport.DebugExit))
	} else {
		args = append(args, "-device", fmt.Sprintf("isa-debug-exit,iobase=%#x,iosize=%#02x", ioport.DebugExit, ioport.DebugExitSize))
	}
	switch o.Disk {
	case "usb":
		args = append(args, "-device", "qemu-xhci,id=xhci",
			"-drive", "if=none,id=stick,format=raw,snapshot=on,file="+image,
			"-device", "usb-storage,bus=xhci.0,drive=stick,bootindex=0")
	case "floppy":
		args = append(args, "-drive", "file="+image+",format=raw,snapshot=on,if=floppy,index=0", "-boot", "a")
	default:
		args = append(args, "-drive", "file="+image+",format=raw,snapshot=on,if=ide,index=0,media=disk", "-boot", "c")
	}
	args = append(args, "-no-reboot")
	if o.CPU != "" {
		args = append(args, "-cpu", o.CPU)
	}
	if o.Display {
		args = append(args, "-vga", "std")
	} else if o.monitored() {
		args = append(args, "-vga", "std", "-display", "none")
	} else {
		args = append(args, "-display", "none")
	}
	if o.Icount {
		args = append(args, "-icount", "shift=0,sleep=off")
	}
	if o.Debugcon != "" {
		args = append(args, "-debugcon", "file:"+o.Debugcon)
	}
	if o.MemoryMiB > 0 {
		args = append(args, "-m", strconv.Itoa(o.MemoryMiB))
	}
	return args
}

// Boot runs image (a path to a raw disk image) until the guest exits through
// the debug-exit port, QEMU stops, or the timeout passes.
func Boot(ctx context.Context, image string, o Options) (*Result, error) {
	if !Available() {
		return nil, ErrNotInstalled
	}
	st, err := os.Stat(image)
	if err != nil {
		return nil, err
	}
	if o.Disk == "floppy" && st.Size() != FloppyBytes {
		if st.Size() > FloppyBytes {
			return nil, fmt.Errorf("qemu: %s is %d bytes, more than a 1.44 MB floppy", image, st.Size())
		}
		b, err := os.ReadFile(image)
		if err != nil {
			return nil, err
		}
		f, err := os.CreateTemp("", "tfc-floppy-*.img")
		if err != nil {
			return nil, err
		}
		defer os.Remove(f.Name())
		_, err = f.Write(append(b, make([]byte, FloppyBytes-len(b))...))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
		image = f.Name()
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = time.Minute
	}
	if o.monitored() {
		return bootMonitored(ctx, image, o, timeout)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, Binary, Args(image, o)...)
	out, closeIn, err := capture(cmd, o)
	if err != nil {
		return nil, err
	}
	defer closeIn()
	err = cmd.Run()
	res := &Result{ExitCode: -1}
	out.fill(res)
	if ctx.Err() == context.DeadlineExceeded {
		return res, fmt.Errorf("qemu: timed out after %v (guest wrote %d bytes to COM1)", timeout, out.serial.Len())
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		res.Status = 0
	case errors.As(err, &ee):
		res.Status = ee.ExitCode()
	default:
		return res, fmt.Errorf("qemu: %v", err)
	}
	// isa-debug-exit makes QEMU exit with (value<<1)|1; a plain shutdown is 0.
	if res.Status&1 == 1 {
		res.ExitCode = res.Status >> 1
	}
	return res, nil
}

// bootMonitored boots with the QMP monitor and the exit port on sockets:
// it takes frames while the guest runs and the screenshot when it exits,
// then quits QEMU (or, with KeepOpen, waits for the user to close the
// window).
func bootMonitored(ctx context.Context, image string, o Options, timeout time.Duration) (*Result, error) {
	dir, err := os.MkdirTemp("", "tfc-qmp")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	monPath, exitPath := filepath.Join(dir, "qmp"), filepath.Join(dir, "exit")
	monL, err := net.Listen("unix", monPath)
	if err != nil {
		return nil, err
	}
	defer monL.Close()
	exitL, err := net.Listen("unix", exitPath)
	if err != nil {
		return nil, err
	}
	defer exitL.Close()
	if o.Frames != "" {
		if err := os.MkdirAll(o.Frames, 0o755); err != nil {
			return nil, err
		}
	}
	exited := watchExit(exitL)

	// QEMU runs until it is told to quit (or, with KeepOpen, its window
	// is closed): the context only ends it at the timeout.
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(qctx, Binary, args(image, o, monPath, exitPath)...)
	out, closeIn, err := capture(cmd, o)
	if err != nil {
		return nil, err
	}
	defer closeIn()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("qemu: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	res := &Result{ExitCode: -1}
	finish := func(err error) (*Result, error) {
		cancel()
		werr := <-done
		out.fill(res)
		var ee *exec.ExitError
		if errors.As(werr, &ee) {
			res.Status = ee.ExitCode()
		}
		return res, err
	}
	mon, err := dialMonitor(monL, out.clock.start.Add(30*time.Second))
	if err != nil {
		return finish(fmt.Errorf("%v (%s)", err, bytes.TrimSpace(out.stderr.Bytes())))
	}
	defer mon.close()
	every := o.FrameEvery
	if every <= 0 {
		every = 250 * time.Millisecond
	}
	var tick <-chan time.Time
	if o.Frames != "" {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	frame := func() error {
		res.Frames++
		return mon.screenshot(frameName(o.Frames, res.Frames))
	}
	// end takes the last frame and the screenshot.
	end := func() error {
		if o.Frames != "" {
			if err := frame(); err != nil {
				return err
			}
		}
		if o.Screenshot != "" {
			return mon.screenshot(o.Screenshot)
		}
		return nil
	}
	for {
		select {
		case code := <-exited.code:
			res.ExitCode = code
			if err := end(); err != nil {
				return finish(err)
			}
			if o.KeepOpen && o.Display {
				// The window stays until the user closes it (or the
				// context ends).
				select {
				case <-done:
					done <- nil
				case <-ctx.Done():
				}
				return finish(nil)
			}
			mon.execute("quit", nil)
			select {
			case werr := <-done:
				done <- werr
			case <-time.After(5 * time.Second):
			}
			return finish(nil)
		case <-tick:
			if err := frame(); err != nil {
				return finish(err)
			}
		case werr := <-done:
			// QEMU ended before the guest exited (a window closed, a
			// crash, a triple fault with -no-reboot).
			done <- werr
			return finish(nil)
		case <-deadline.C:
			end()
			return finish(fmt.Errorf("qemu: timed out after %v (guest wrote %d bytes to COM1)", timeout, out.serial.Len()))
		case <-ctx.Done():
			return finish(ctx.Err())
		}
	}
}

// BootBytes writes image to a temporary file and boots it.
func BootBytes(ctx context.Context, image []byte, o Options) (*Result, error) {
	f, err := os.CreateTemp("", "tfc-*.img")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(image); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return Boot(ctx, f.Name(), o)
}

// timedWriter notes when output arrives.
// output is what a QEMU run wrote: COM1 (its stdout), its stderr, and
// when COM1 output came.
type output struct {
	serial, stderr bytes.Buffer
	clock          *timedWriter
}

// capture sends cmd's stdout to COM1's buffer (and o.Stdout), its stderr
// to a buffer, and o.Stdin to its stdin; closeIn ends that.
func capture(cmd *exec.Cmd, o Options) (out *output, closeIn func(), err error) {
	out = &output{clock: &timedWriter{start: time.Now()}}
	if o.Stdout != nil {
		cmd.Stdout = io.MultiWriter(&out.serial, o.Stdout, out.clock)
	} else {
		cmd.Stdout = io.MultiWriter(&out.serial, out.clock)
	}
	cmd.Stderr = &out.stderr
	closeIn, err = attachStdin(cmd, o.Stdin)
	return out, closeIn, err
}

// fill sets res's output fields.
func (out *output) fill(res *Result) {
	res.Serial, res.Stderr, res.Elapsed = out.serial.Bytes(), out.stderr.String(), time.Since(out.clock.start)
	res.FirstOutput, res.LastOutput = out.clock.first, out.clock.last
}

type timedWriter struct {
	start       time.Time
	first, last time.Duration
}

func (w *timedWriter) Write(b []byte) (int, error) {
	now := time.Since(w.start)
	if w.first == 0 {
		w.first = now
	}
	w.last = now
	return len(b), nil
}

// attachStdin gives cmd in (Options.Stdin) as its standard input, through
// a pipe of our own rather than exec's copy, which Wait would wait for
// while it blocks on a terminal after QEMU has stopped; close ends the
// pipe once QEMU has.
func attachStdin(cmd *exec.Cmd, in io.Reader) (close func(), err error) {
	if in == nil {
		return func() {}, nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdin = r
	go forward(w, in)
	return func() { r.Close(); w.Close() }, nil
}

// forward copies in to w, then ends it as Options.Stdin says. Errors end
// it quietly: QEMU has stopped.
func forward(w io.Writer, in io.Reader) {
	buf := make([]byte, 4096)
	last := byte('\n')
	for {
		n, err := in.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			last = buf[n-1]
		}
		if err != nil {
			break
		}
	}
	if last != '\n' {
		w.Write([]byte{'\n'})
	}
	w.Write([]byte{EOT})
}

// EOT is the byte that ends a guest's input on COM1 (Options.Stdin).
const EOT = 0x04
