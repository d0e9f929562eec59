package lang

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Error is a syntax or check error at a position of a .tf file. Error()
// reads "file:line:col: message"; Detail() gives the source line and a caret
// under the column, when the source is known.
type Error struct {
	Pos Pos
	Msg string

	src []byte // the file's text, for Detail
}

// Errorf returns an *Error at pos.
func Errorf(pos Pos, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	if e.Pos.Line == 0 {
		if e.Pos.Filename != "" {
			return e.Pos.Filename + ": " + e.Msg
		}
		return e.Msg
	}
	return fmt.Sprintf("%s: %s", e.Pos, e.Msg)
}

// WithSource returns e with the file's text attached, for Detail.
func (e *Error) WithSource(src []byte) *Error {
	e.src = src
	return e
}

// Detail returns the source line of the error and a caret under its column
// on the line below ("" when the source is not known).
func (e *Error) Detail() string {
	return SourceCaret(e.src, e.Pos)
}

// SourceCaret returns the line of src at pos and, on a second line, a caret
// under pos's column (tabs in the line are kept so that the caret lines up).
// It returns "" when pos is not inside src.
func SourceCaret(src []byte, pos Pos) string {
	if src == nil || pos.Line < 1 {
		return ""
	}
	lines := strings.Split(string(src), "\n")
	if pos.Line > len(lines) {
		return ""
	}
	line := strings.TrimRight(lines[pos.Line-1], "\r")
	if !utf8.ValidString(line) {
		line = strings.ToValidUTF8(line, "\uFFFD")
	}
	var caret strings.Builder
	col := 1
	for _, r := range line {
		if col >= pos.Column {
			break
		}
		if r == '\t' {
			caret.WriteByte('\t')
		} else {
			caret.WriteByte(' ')
		}
		col++
	}
	for ; col < pos.Column; col++ {
		caret.WriteByte(' ')
	}
	caret.WriteByte('^')
	return line + "\n" + caret.String()
}

// FormatError formats err for a person: for an *Error, its first line
// "file:line:col: message" followed by the source line and a caret (taken
// from src, or from the source the error carries when src is nil); for any
// other error, err.Error().
func FormatError(err error, src []byte) string {
	if err == nil {
		return ""
	}
	var e *Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	if src == nil {
		src = e.src
	}
	detail := SourceCaret(src, e.Pos)
	if detail == "" {
		return e.Error()
	}
	return e.Error() + "\n" + detail
}
