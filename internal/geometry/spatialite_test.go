package geometry

import (
	"encoding/hex"
	"testing"

	"github.com/countydatasync/countysync/internal/record"
)

// splPoint is POINT(988000 200000) in EPSG:2263 as GDAL 3.6 writes it into
// a SpatiaLite table (hex(geom) read with sqlite3).
const splPoint = "0001D708000000000000C0262E4100000000006A084100000000C0262E4100000000006A08417C0100000000000000C0262E4100000000006A0841FE"

func TestDecodeSpatiaLitePoint(t *testing.T) {
	b, err := hex.DecodeString(splPoint)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Decode(&record.Value{Kind: record.Bytes, B: b})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(AppendWKT(nil, g)); got != "POINT(988000 200000)" || g.SRID() != 2263 {
		t.Errorf("got %s SRID %d", got, g.SRID())
	}
	// Every truncation, and a wrong end mark, is an error, never a panic.
	for n := range len(b) {
		if _, err := Decode(&record.Value{Kind: record.Bytes, B: b[:n]}); err == nil && n > 0 {
			t.Errorf("%d of %d bytes decoded", n, len(b))
		}
	}
	bad := append([]byte(nil), b...)
	bad[39] = 9 // class type 9
	if _, err := Decode(&record.Value{Kind: record.Bytes, B: bad}); err == nil {
		t.Error("class type 9 decoded")
	}
}
