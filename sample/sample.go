// Package sample reads samples written one number per line, the input format
// of `judge compare`.
package sample

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// The errors returned by Read, wrapped with the file name and line.
var (
	// ErrSyntax is returned for a line that is not a finite number.
	ErrSyntax = errors.New("not a finite number")
	// ErrEmpty is returned when a file holds no numbers.
	ErrEmpty = errors.New("no values")
	// ErrTooLarge is returned when a file holds more than MaxValues values.
	ErrTooLarge = errors.New("too many values")
)

// MaxValues bounds the number of values Read accepts from one file.
const MaxValues = 10_000_000

// Read parses one number per line from r. Blank lines and lines starting
// with '#' are skipped; surrounding white space is ignored. name is used in
// errors, which take the form "name:line: ...".
func Read(r io.Reader, name string) ([]float64, error) {
	var values []float64
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		v, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%s:%d: %q: %w", name, line, truncate(text, 40), ErrSyntax)
		}
		if len(values) == MaxValues {
			return nil, fmt.Errorf("%s:%d: more than %d values: %w", name, line, MaxValues, ErrTooLarge)
		}
		values = append(values, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: read: %w", name, line+1, err)
	}
	if len(values) == 0 {
		return nil, fmt.Errorf("%s: %w", name, ErrEmpty)
	}
	return values, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
