package format

import (
	"fmt"

	"github.com/countydatasync/countysync/internal/record"
)

// jsonWriter writes one JSON array of objects, one object per line, keys in
// column order: "[\n{...},\n{...}\n]\n", or "[]\n" without rows. Values
// are written by appendJSONValue (docs/ARCHITECTURE.md, Values per format).
type jsonWriter struct {
	dataset string
	keys    [][]byte // `"name":` per column, escaped once
	out     *fileOut
	buf     []byte
	rows    int64
}

func newJSON(path string, opts Options) (*jsonWriter, error) {
	out, err := createOut(opts.Dataset, "json", path)
	if err != nil {
		return nil, err
	}
	return &jsonWriter{
		dataset: opts.Dataset,
		keys:    jsonKeys(opts.Schema.Columns),
		out:     out,
		buf:     make([]byte, 0, 4096),
	}, nil
}

// jsonKeys returns the escaped `"name":` prefix of every column.
func jsonKeys(cols []record.Column) [][]byte {
	keys := make([][]byte, len(cols))
	for i, c := range cols {
		keys[i] = append(record.AppendJSONString(nil, c.Name), ':')
	}
	return keys
}

// WriteRow implements Writer.
func (w *jsonWriter) WriteRow(r record.Row) error {
	if w.out.f == nil {
		return fmt.Errorf("dataset %s: json: %w", w.dataset, errClosed)
	}
	if err := checkRow(w.dataset, r, len(w.keys)); err != nil {
		return err
	}
	b := w.buf[:0]
	if w.rows == 0 {
		b = append(b, "[\n{"...)
	} else {
		b = append(b, ",\n{"...)
	}
	for i := range r {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, w.keys[i]...)
		b = appendJSONValue(b, &r[i])
	}
	b = append(b, '}')
	w.buf = b
	w.rows++
	if err := w.out.write(b); err != nil {
		return fmt.Errorf("dataset %s: json: %w", w.dataset, err)
	}
	return nil
}

// Close implements Writer.
func (w *jsonWriter) Close() error {
	if w.out.f != nil {
		tail := "\n]\n"
		if w.rows == 0 {
			tail = "[]\n"
		}
		w.out.write([]byte(tail))
	}
	if err := w.out.close(); err != nil {
		return fmt.Errorf("dataset %s: json: %w", w.dataset, err)
	}
	return nil
}
