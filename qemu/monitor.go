package qemu

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// The screen is read through QEMU's machine protocol (QMP) on a Unix
// socket that QEMU connects to: screendump writes the screen as PPM,
// which ScreenPNG turns into PNG. While a screen is wanted the guest's
// exit port is an isa-debugcon device rather than isa-debug-exit: the exit
// code arrives as one byte on a second socket, the guest halts (the
// runtime's exit halts for good when the port does not end QEMU), and the
// harness takes the screen and then quits QEMU, or, with KeepOpen, leaves
// the window until the user closes it.

// monitored reports whether o needs the monitor.
func (o Options) monitored() bool {
	return o.Screenshot != "" || o.Frames != "" || o.KeepOpen
}

// monitor is one QMP connection.
type monitor struct {
	mu   sync.Mutex
	conn net.Conn
	r    *bufio.Reader
}

// dialMonitor accepts QEMU's connection on l and negotiates capabilities.
func dialMonitor(l net.Listener, deadline time.Time) (*monitor, error) {
	if ul, ok := l.(*net.UnixListener); ok {
		ul.SetDeadline(deadline)
	}
	c, err := l.Accept()
	if err != nil {
		return nil, fmt.Errorf("qemu: the monitor did not connect: %v", err)
	}
	m := &monitor{conn: c, r: bufio.NewReader(c)}
	if _, err := m.reply(); err != nil { // the greeting
		c.Close()
		return nil, err
	}
	if err := m.execute("qmp_capabilities", nil); err != nil {
		c.Close()
		return nil, err
	}
	return m, nil
}

// reply reads the next message that is not an event.
func (m *monitor) reply() (map[string]json.RawMessage, error) {
	for {
		line, err := m.r.ReadBytes('\n')
		if err != nil {
			return nil, fmt.Errorf("qemu: monitor: %v", err)
		}
		var msg map[string]json.RawMessage
		if err := json.Unmarshal(line, &msg); err != nil {
			return nil, fmt.Errorf("qemu: monitor: %v in %q", err, line)
		}
		if _, ok := msg["event"]; ok {
			continue
		}
		return msg, nil
	}
}

// execute runs one QMP command and waits for its answer.
func (m *monitor) execute(cmd string, args map[string]any) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	req := map[string]any{"execute": cmd}
	if args != nil {
		req["arguments"] = args
	}
	b, _ := json.Marshal(req)
	m.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := m.conn.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("qemu: monitor: %v", err)
	}
	if cmd == "quit" {
		return nil // QEMU may close the socket before it answers
	}
	msg, err := m.reply()
	if err != nil {
		return err
	}
	if e, ok := msg["error"]; ok {
		return fmt.Errorf("qemu: %s: %s", cmd, e)
	}
	return nil
}

// screenshot writes the screen to path as PNG.
func (m *monitor) screenshot(path string) error {
	ppm, err := os.CreateTemp("", "tfc-screen-*.ppm")
	if err != nil {
		return err
	}
	ppm.Close()
	defer os.Remove(ppm.Name())
	if err := m.execute("screendump", map[string]any{"filename": ppm.Name()}); err != nil {
		return err
	}
	b, err := os.ReadFile(ppm.Name())
	if err != nil {
		return err
	}
	img, err := DecodePPM(b)
	if err != nil {
		return err
	}
	return WritePNG(path, img)
}

func (m *monitor) close() { m.conn.Close() }

// DecodePPM reads a binary PPM (P6, maxval 255) as QEMU's screendump
// writes it.
func DecodePPM(b []byte) (*image.RGBA, error) {
	r := bytes.NewReader(b)
	var fields []int
	magic := ""
	for len(fields) < 3 {
		tok, err := ppmToken(r)
		if err != nil {
			return nil, fmt.Errorf("ppm: %v", err)
		}
		if magic == "" {
			if tok != "P6" {
				return nil, fmt.Errorf("ppm: not a binary PPM (%q)", tok)
			}
			magic = tok
			continue
		}
		n, err := strconv.Atoi(tok)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("ppm: bad header field %q", tok)
		}
		fields = append(fields, n)
	}
	w, h, maxval := fields[0], fields[1], fields[2]
	if maxval != 255 {
		return nil, fmt.Errorf("ppm: maxval %d (want 255)", maxval)
	}
	pix := b[len(b)-r.Len():]
	if len(pix) < 3*w*h {
		return nil, fmt.Errorf("ppm: %d bytes of pixels for %dx%d", len(pix), w, h)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < w*h; i++ {
		img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = pix[3*i], pix[3*i+1], pix[3*i+2], 0xff
	}
	return img, nil
}

// ppmToken reads one header token and the single whitespace after it.
func ppmToken(r *bytes.Reader) (string, error) {
	var tok []byte
	for {
		c, err := r.ReadByte()
		if err != nil {
			return "", errors.New("truncated header")
		}
		switch {
		case c == '#' && len(tok) == 0:
			for c != '\n' {
				if c, err = r.ReadByte(); err != nil {
					return "", errors.New("truncated header")
				}
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if len(tok) > 0 {
				return string(tok), nil
			}
		default:
			tok = append(tok, c)
		}
	}
}

// WritePNG writes img to path as a PNG, as a paletted image when it has
// few colours (a text screen has at most 16: a much smaller file).
func WritePNG(path string, img image.Image) error {
	var out image.Image = img
	if p := palettize(img, 256); p != nil {
		out = p
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(f, out); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// palettize returns img as a paletted image, or nil when it has more
// than max colours.
func palettize(img image.Image, max int) *image.Paletted {
	b := img.Bounds()
	index := map[color.RGBA]uint8{}
	var pal color.Palette
	out := image.NewPaletted(b, nil)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			i, ok := index[c]
			if !ok {
				if len(pal) == max {
					return nil
				}
				i = uint8(len(pal))
				index[c] = i
				pal = append(pal, c)
			}
			out.SetColorIndex(x, y, i)
		}
	}
	out.Palette = pal
	return out
}

// exitWatcher reads the guest's exit code, one byte on the isa-debugcon
// socket that stands for the exit port.
type exitWatcher struct {
	code chan int
}

func watchExit(l net.Listener) *exitWatcher {
	w := &exitWatcher{code: make(chan int, 1)}
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		var b [1]byte
		if _, err := io.ReadFull(c, b[:]); err == nil {
			w.code <- int(b[0])
		}
	}()
	return w
}

// frameName is the file of frame i in dir.
func frameName(dir string, i int) string {
	return filepath.Join(dir, fmt.Sprintf("frame-%04d.png", i))
}
