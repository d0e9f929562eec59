package lang

import (
	"errors"
	"io/fs"
	"os"
	"strings"

	"tfc/checkpoint"
)

// openFiles checks the checkpoint (header against the config, then its
// size) and the tokenizer. Errors are at the line naming the file (or, for
// a header value, at the config entry), with paths printed as written.
func (c *checker) openFiles() {
	if w := c.p.Weights; !w.Random {
		c.openCheckpoint(w.Pos, w.Checkpoint, w.Path)
	}
	if t := c.p.Tokenizer; !t.Synthetic {
		_, err := checkpoint.LoadTokenizer(t.Path, c.p.Vocab)
		if err != nil {
			c.failAt(t.Pos, "%s", fileError(err, t.Path, t.Written))
		}
	}
}

func (c *checker) openCheckpoint(pos Pos, written, path string) {
	f, err := os.Open(path)
	if err != nil {
		c.failAt(pos, "%s", fileError(err, path, written))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		c.failAt(pos, "%s", fileError(err, path, written))
	}
	if st.IsDir() {
		c.failAt(pos, "%s is a directory", written)
	}
	h, err := checkpoint.ReadHeader(f)
	if err != nil {
		c.failAt(pos, "%s", fileError(err, path, written))
	}
	c.header = &h
	have := h.Values()
	for _, name := range required {
		if v := c.p.Consts[name]; v != have[name] {
			c.fail(c.constDef[name].Pos, "%s = %d, but the checkpoint has %s %d", name, v, h.HeaderName(name), have[name])
		}
	}
	if want := checkpoint.ExpectedSize(h); st.Size() != want {
		// The checkpoint package words the size error.
		if _, err := checkpoint.Load(path); err != nil {
			c.failAt(pos, "%s", fileError(err, path, written))
		}
		c.failAt(pos, "the checkpoint is %d bytes, but its header needs %d", st.Size(), want)
	}
}

// fileError words a file error with the path as written in the .tf file.
func fileError(err error, path, written string) string {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path {
		pe2 := *pe
		pe2.Path = written
		return pe2.Error()
	}
	msg := err.Error()
	msg = strings.TrimPrefix(msg, path+": ")
	return strings.ReplaceAll(msg, path, written)
}
