package postgres

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/countydatasync/countysync/internal/record"
)

// decoder says how the raw wire bytes of a column become a record.Value.
type decoder uint8

const (
	decText        decoder = iota // text format: PostgreSQL's output, as Text
	decTextBin                    // text, varchar, bpchar, name
	decInt2                       // int2
	decInt4                       // int4
	decInt8                       // int8
	decFloat4                     // float4
	decFloat8                     // float8
	decBool                       // bool
	decNumeric                    // numeric, text format (scalars)
	decNumericBin                 // numeric, binary format (array elements)
	decDate                       // date
	decTimestamp                  // timestamp
	decTimestamptz                // timestamptz
	decUUID                       // uuid
	decBytea                      // bytea
	decJSON                       // json
	decJSONB                      // jsonb
	decGeometry                   // PostGIS geometry/geography: EWKB
	decArray                      // binary array of a binary-decodable element
	decArrayText                  // text array of any other element
)

// pgType is what the driver knows about one PostgreSQL type.
type pgType struct {
	name  string  // type name as shown in record.Column.SourceType
	dec   decoder // how values are decoded
	elem  *pgType // element type of arrays
	delim byte    // array delimiter of the type (',' except box)
	// padded marks bpchar (and domains over it): its values keep their
	// trailing blanks, which its comparison and its cast to text drop.
	padded bool
}

// kind is the record kind of the type's values.
func (t *pgType) kind() record.Kind {
	switch t.dec {
	case decTextBin, decText:
		return record.Text
	case decInt2, decInt4, decInt8:
		return record.Int
	case decFloat4, decFloat8:
		return record.Float
	case decBool:
		return record.Bool
	case decNumeric, decNumericBin:
		return record.Numeric
	case decDate:
		return record.Date
	case decTimestamp:
		return record.Timestamp
	case decTimestamptz:
		return record.TimestampTZ
	case decUUID:
		return record.UUID
	case decBytea:
		return record.Bytes
	case decJSON, decJSONB:
		return record.JSON
	case decGeometry:
		return record.Geometry
	case decArray, decArrayText:
		return record.Array
	}
	return record.Text
}

// format is the result format requested for the type's columns.
func (t *pgType) format() int16 {
	switch t.dec {
	case decText, decNumeric, decArrayText:
		return pgtype.TextFormatCode
	}
	return pgtype.BinaryFormatCode
}

// binaryElement reports whether the type can be decoded as an element of
// a binary array.
func (t *pgType) binaryElement() bool {
	switch t.dec {
	case decText, decArray, decArrayText:
		return false
	}
	return true
}

// builtin holds the types decoded without a catalog lookup.
var builtin = func() map[uint32]*pgType {
	m := map[uint32]*pgType{}
	add := func(oid, arrayOID uint32, name string, dec decoder) {
		t := &pgType{name: name, dec: dec, delim: ','}
		m[oid] = t
		m[arrayOID] = &pgType{name: name + "[]", dec: decArray, elem: t, delim: ','}
	}
	add(pgtype.Int2OID, pgtype.Int2ArrayOID, "int2", decInt2)
	add(pgtype.Int4OID, pgtype.Int4ArrayOID, "int4", decInt4)
	add(pgtype.Int8OID, pgtype.Int8ArrayOID, "int8", decInt8)
	add(pgtype.Float4OID, pgtype.Float4ArrayOID, "float4", decFloat4)
	add(pgtype.Float8OID, pgtype.Float8ArrayOID, "float8", decFloat8)
	add(pgtype.BoolOID, pgtype.BoolArrayOID, "bool", decBool)
	add(pgtype.TextOID, pgtype.TextArrayOID, "text", decTextBin)
	add(pgtype.VarcharOID, pgtype.VarcharArrayOID, "varchar", decTextBin)
	add(pgtype.BPCharOID, pgtype.BPCharArrayOID, "bpchar", decTextBin)
	add(pgtype.NameOID, pgtype.NameArrayOID, "name", decTextBin)
	add(pgtype.NumericOID, pgtype.NumericArrayOID, "numeric", decNumeric)
	add(pgtype.DateOID, pgtype.DateArrayOID, "date", decDate)
	add(pgtype.TimestampOID, pgtype.TimestampArrayOID, "timestamp", decTimestamp)
	add(pgtype.TimestamptzOID, pgtype.TimestamptzArrayOID, "timestamptz", decTimestamptz)
	add(pgtype.UUIDOID, pgtype.UUIDArrayOID, "uuid", decUUID)
	add(pgtype.ByteaOID, pgtype.ByteaArrayOID, "bytea", decBytea)
	add(pgtype.JSONOID, pgtype.JSONArrayOID, "json", decJSON)
	add(pgtype.JSONBOID, pgtype.JSONBArrayOID, "jsonb", decJSONB)
	m[pgtype.BPCharOID].padded = true
	return m
}()

// catalogRow is one pg_type row.
type catalogRow struct {
	name     string
	typtype  string
	category string
	elem     uint32
	base     uint32
	delim    byte
	length   int32
}

// typeCache resolves the other type OIDs through pg_catalog.pg_type and
// remembers them for the life of the Source.
type typeCache struct {
	mu    sync.Mutex
	raw   map[uint32]catalogRow
	geo   map[uint32]bool
	byOID map[uint32]*pgType
}

func (c *typeCache) init() {
	c.raw = map[uint32]catalogRow{}
	c.geo = map[uint32]bool{}
	c.byOID = map[uint32]*pgType{}
}

func (c *typeCache) hasPostGIS() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.geo) > 0
}

// loadPostGIS looks up the OIDs of PostGIS geometry and geography.
func (c *typeCache) loadPostGIS(ctx context.Context, conn *pgx.Conn) error {
	rows, err := conn.Query(ctx, `SELECT oid::int8, typname::text FROM pg_catalog.pg_type
		WHERE typname IN ('geometry', 'geography') AND typtype = 'b'`)
	if err != nil {
		return err
	}
	defer rows.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	for rows.Next() {
		var oid int64
		var name string
		if err := rows.Scan(&oid, &name); err != nil {
			return err
		}
		c.geo[uint32(oid)] = true
		c.byOID[uint32(oid)] = &pgType{name: name, dec: decGeometry, delim: ':'}
	}
	return rows.Err()
}

// resolve returns the types of the given OIDs, querying the catalog (on
// conn, inside the query's transaction) for the ones not known yet.
func (c *typeCache) resolve(ctx context.Context, conn *pgx.Conn, oids []uint32) ([]*pgType, error) {
	want := oids
	for round := 0; len(want) > 0; round++ {
		c.mu.Lock()
		var missing []uint32
		for _, oid := range want {
			if builtin[oid] == nil && c.byOID[oid] == nil && !slices.Contains(missing, oid) {
				if _, ok := c.raw[oid]; !ok {
					missing = append(missing, oid)
				}
			}
		}
		c.mu.Unlock()
		if len(missing) == 0 || round > 8 {
			break
		}
		found, err := queryCatalog(ctx, conn, missing)
		if err != nil {
			return nil, err
		}
		want = want[:0:0]
		c.mu.Lock()
		for oid, r := range found {
			c.raw[oid] = r
			if r.elem != 0 {
				want = append(want, r.elem)
			}
			if r.base != 0 {
				want = append(want, r.base)
			}
		}
		c.mu.Unlock()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*pgType, len(oids))
	for i, oid := range oids {
		out[i] = c.build(oid, 0)
	}
	return out, nil
}

// build makes the pgType of oid from the catalog rows. c.mu is held.
func (c *typeCache) build(oid uint32, depth int) *pgType {
	if t := builtin[oid]; t != nil {
		return t
	}
	if t := c.byOID[oid]; t != nil {
		return t
	}
	r, ok := c.raw[oid]
	if !ok || depth > 8 {
		return &pgType{name: "oid " + strconv.FormatUint(uint64(oid), 10), dec: decText, delim: ','}
	}
	var t *pgType
	switch {
	case r.typtype == "d" && r.base != 0: // domain: its base type's decoding
		b := c.build(r.base, depth+1)
		t = &pgType{name: r.name, dec: b.dec, elem: b.elem, delim: b.delim, padded: b.padded}
	case r.category == "A" && r.elem != 0 && r.length == -1:
		e := c.build(r.elem, depth+1)
		t = &pgType{name: e.name + "[]", dec: decArrayText, elem: e, delim: e.delim}
		if e.binaryElement() {
			t.dec = decArray
		}
	default:
		t = &pgType{name: r.name, dec: decText, delim: r.delim}
	}
	c.byOID[oid] = t
	return t
}

// queryCatalog reads the pg_type rows of oids.
func queryCatalog(ctx context.Context, conn *pgx.Conn, oids []uint32) (map[uint32]catalogRow, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, oid := range oids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(oid), 10))
	}
	b.WriteByte('}')
	rows, err := conn.Query(ctx, `SELECT oid::int8, typname::text, typtype::text, typcategory::text,
			typelem::int8, typbasetype::int8, typdelim::text, typlen::int4
		FROM pg_catalog.pg_type WHERE oid = ANY($1::text::oid[])`, b.String())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[uint32]catalogRow{}
	for rows.Next() {
		var oid, elem, base int64
		var r catalogRow
		var delim string
		if err := rows.Scan(&oid, &r.name, &r.typtype, &r.category, &elem, &base, &delim, &r.length); err != nil {
			return nil, fmt.Errorf("read pg_type: %w", err)
		}
		r.elem, r.base = uint32(elem), uint32(base)
		r.delim = ','
		if len(delim) == 1 {
			r.delim = delim[0]
		}
		out[uint32(oid)] = r
	}
	return out, rows.Err()
}
