package format

import (
	"bufio"
	"fmt"
	"os"

	"github.com/countydatasync/countysync/internal/record"
	"github.com/countydatasync/countysync/internal/safefs"
)

// bufSize is the size of the buffered writer of the text formats.
const bufSize = 256 << 10

// fileOut is the buffered output file of a text writer.
type fileOut struct {
	f   *os.File
	w   *bufio.Writer
	err error // first write error; later writes are skipped
}

func createOut(dataset, format, path string) (*fileOut, error) {
	f, err := safefs.Replace(path)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %s: %w", dataset, format, err)
	}
	return &fileOut{f: f, w: bufio.NewWriterSize(f, bufSize)}, nil
}

func (o *fileOut) write(b []byte) error {
	if o.err == nil {
		_, o.err = o.w.Write(b)
	}
	return o.err
}

// close flushes and closes the file; it is safe to call twice.
func (o *fileOut) close() error {
	if o.f == nil {
		return o.err
	}
	err := o.err
	if err == nil {
		err = o.w.Flush()
	}
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	o.f = nil
	if o.err == nil {
		o.err = err
	}
	return err
}

// checkRow verifies that a row matches the schema width.
func checkRow(dataset string, r record.Row, ncols int) error {
	if len(r) != ncols {
		return fmt.Errorf("dataset %s: row has %d values, schema has %d columns", dataset, len(r), ncols)
	}
	return nil
}

var errClosed = fmt.Errorf("writer is closed")
