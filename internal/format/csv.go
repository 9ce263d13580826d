package format

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/countydatasync/countysync/internal/record"
)

// csvWriter writes CSV exactly as PostgreSQL's
// COPY ... TO STDOUT (FORMAT csv, HEADER) does: a header row, ',' between
// fields, "\n" after each line, NULL as an empty unquoted field, and a
// field quoted (with "" doubling) only when it contains ',', '"', '\r' or
// '\n', is empty, or is exactly `\.`.
type csvWriter struct {
	dataset string
	ncols   int
	out     *fileOut
	buf     []byte
}

func newCSV(path string, opts Options) (*csvWriter, error) {
	out, err := createOut(opts.Dataset, "csv", path)
	if err != nil {
		return nil, err
	}
	w := &csvWriter{dataset: opts.Dataset, ncols: len(opts.Schema.Columns), out: out, buf: make([]byte, 0, 4096)}
	b := w.buf[:0]
	for i, c := range opts.Schema.Columns {
		if i > 0 {
			b = append(b, ',')
		}
		start := len(b)
		b = append(b, c.Name...)
		b = quoteCSVField(b, start)
	}
	b = append(b, '\n')
	w.buf = b
	if err := out.write(b); err != nil {
		out.close()
		return nil, fmt.Errorf("dataset %s: csv: %w", opts.Dataset, err)
	}
	return w, nil
}

// WriteRow implements Writer.
func (w *csvWriter) WriteRow(r record.Row) error {
	if w.out.f == nil {
		return fmt.Errorf("dataset %s: csv: %w", w.dataset, errClosed)
	}
	if err := checkRow(w.dataset, r, w.ncols); err != nil {
		return err
	}
	b := w.buf[:0]
	for i := range r {
		if i > 0 {
			b = append(b, ',')
		}
		v := &r[i]
		switch v.Kind {
		case record.Null:
			continue
		case record.Geometry:
			start := len(b)
			if v.G == nil { // did not decode: the source's own text
				if !undecoded(v) {
					continue
				}
				b = appendUndecoded(b, v)
			} else {
				b = appendWKT(b, v)
			}
			b = quoteCSVField(b, start)
		default:
			start := len(b)
			b = record.AppendText(b, v)
			b = quoteCSVField(b, start)
		}
	}
	b = append(b, '\n')
	w.buf = b
	if err := w.out.write(b); err != nil {
		return fmt.Errorf("dataset %s: csv: %w", w.dataset, err)
	}
	return nil
}

// Close implements Writer.
func (w *csvWriter) Close() error {
	if err := w.out.close(); err != nil {
		return fmt.Errorf("dataset %s: csv: %w", w.dataset, err)
	}
	return nil
}

// quoteCSVField quotes the field b[start:] in place if PostgreSQL would:
// it wraps it in '"' and doubles inner quotes.
func quoteCSVField(b []byte, start int) []byte {
	field := b[start:]
	if bytes.IndexByte(field, '"') < 0 {
		// Fast path (most fields, and every WKT, which has commas but no
		// quotes): quote without doubling, one copy.
		need := len(field) == 0 || (len(field) == 2 && field[0] == '\\' && field[1] == '.') ||
			bytes.IndexByte(field, ',') >= 0 || bytes.IndexByte(field, '\n') >= 0 || bytes.IndexByte(field, '\r') >= 0
		if !need {
			return b
		}
		b = append(b, 0, 0)
		copy(b[start+1:], b[start:len(b)-2])
		b[start] = '"'
		b[len(b)-1] = '"'
		return b
	}
	quotes := bytes.Count(field, []byte{'"'})
	old := len(b)
	b = slices.Grow(b, 2+quotes)[:old+2+quotes]
	d := len(b) - 1
	b[d] = '"'
	d--
	for s := old - 1; s >= start; s-- {
		c := b[s]
		b[d] = c
		d--
		if c == '"' {
			b[d] = '"'
			d--
		}
	}
	b[d] = '"' // d == start
	return b
}
