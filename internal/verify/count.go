package verify

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	_ "github.com/mattn/go-sqlite3" // database/sql driver "sqlite3"

	"github.com/countydatasync/countysync/internal/sqltext"
)

// countStream counts the rows of a file of a text format as it streams
// by; countFile counts the rows of a file of a SQLite-based format,
// which needs the whole file on disk.
type (
	countStream func(r io.Reader) (int64, error)
	countFile   func(ctx context.Context, path, dataset string) (int64, error)
)

// counters maps each format to its independent row counter. The table
// names are those of docs/ARCHITECTURE.md, Values per format.
var (
	streamCounters = map[string]countStream{
		"csv":     countCSV,
		"json":    countJSON,
		"geojson": countGeoJSON,
	}
	fileCounters = map[string]countFile{
		"sqlite": func(ctx context.Context, path, dataset string) (int64, error) {
			return countTable(ctx, path, dataset+"_data")
		},
		"gpkg": func(ctx context.Context, path, dataset string) (int64, error) {
			return countTable(ctx, path, dataset)
		},
	}
)

// countCSV counts the records after the header row.
func countCSV(r io.Reader) (int64, error) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<16))
	cr.ReuseRecord = true
	var n int64
	for {
		_, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
		n++
	}
	if n == 0 {
		return 0, errors.New("no header row")
	}
	return n - 1, nil
}

// countJSON counts the elements of the top-level array.
func countJSON(r io.Reader) (int64, error) {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<16))
	n, err := countArray(dec)
	if err != nil {
		return 0, err
	}
	return n, atEOF(dec)
}

// countGeoJSON counts the features of the top-level FeatureCollection.
func countGeoJSON(r io.Reader) (int64, error) {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<16))
	if err := expectDelim(dec, '{'); err != nil {
		return 0, err
	}
	var n int64
	found := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return 0, err
		}
		if key, _ := tok.(string); key == "features" && !found {
			found = true
			if n, err = countArray(dec); err != nil {
				return 0, fmt.Errorf("features: %w", err)
			}
			continue
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return 0, err
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return 0, err
	}
	if !found {
		return 0, errors.New("no features member")
	}
	return n, atEOF(dec)
}

// countArray reads a whole JSON array and counts its elements.
func countArray(dec *json.Decoder) (int64, error) {
	if err := expectDelim(dec, '['); err != nil {
		return 0, err
	}
	var n int64
	var elem json.RawMessage
	for dec.More() {
		if err := dec.Decode(&elem); err != nil {
			return 0, err
		}
		n++
	}
	return n, expectDelim(dec, ']')
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("found %v where %q was expected", tok, want)
	}
	return nil
}

func atEOF(dec *json.Decoder) error {
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON value")
	}
	return nil
}

// countTable opens the SQLite file read-only with database/sql and counts
// the rows of table.
func countTable(ctx context.Context, path, table string) (int64, error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&immutable=1")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int64
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+sqltext.QuoteIdent(table)).Scan(&n); err != nil {
		return 0, err
	}
	return n, nil
}
