package format

import (
	"database/sql/driver"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/countydatasync/countysync/internal/geometry"
	"github.com/countydatasync/countysync/internal/record"
	"github.com/countydatasync/countysync/internal/sqltext"
)

// GeoPackage 1.3 file identity (OGC 12-128r18 §1.1.1.1.1): the SQLite
// header's application_id is "GPKG" and user_version 10300.
const (
	gpkgApplicationID = 0x47504B47
	gpkgUserVersion   = 10300
	gpkgSRID          = 4326 // WGS 84 lon/lat, the only SRS features are written in
)

// gpkgDateTime is the GeoPackage DATETIME form: ISO 8601 in UTC with
// milliseconds (GDAL warns about any other precision).
const gpkgDateTime = "2006-01-02T15:04:05.000Z"

// The metadata tables GeoPackage 1.3 requires, as its Annex C defines them.
const (
	gpkgCreateSpatialRefSys = `CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, ` +
		`organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT)`
	gpkgCreateContents = `CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, ` +
		`identifier TEXT UNIQUE, description TEXT DEFAULT '', ` +
		`last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')), ` +
		`min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER, ` +
		`CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))`
	gpkgCreateGeometryColumns = `CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, ` +
		`geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL, ` +
		`CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name), CONSTRAINT uk_gc_table_name UNIQUE (table_name), ` +
		`CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name), ` +
		`CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))`
)

// gpkgWGS84 is the definition of EPSG:4326 in gpkg_spatial_ref_sys, the
// OGC WKT the GeoPackage standard gives for it.
const gpkgWGS84 = `GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],` +
	`AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],` +
	`UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4326"]]`

// gpkgSpatialRefSys holds the three rows GeoPackage requires: the
// undefined cartesian and geographic systems and WGS 84.
var gpkgSpatialRefSys = sqlStmt{
	query: "INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?)",
	args: []driver.Value{
		"Undefined cartesian SRS", int64(-1), "NONE", int64(-1), "undefined", "undefined cartesian coordinate reference system",
		"Undefined geographic SRS", int64(0), "NONE", int64(0), "undefined", "undefined geographic coordinate reference system",
		"WGS 84 geodetic", int64(gpkgSRID), "EPSG", int64(gpkgSRID), gpkgWGS84,
		"longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid",
	},
}

// newGPKG creates an OGC GeoPackage 1.3 file with one feature table named
// after the dataset (the layer name GIS tools show):
//
//   - gpkg_spatial_ref_sys with the required rows (-1, 0, 4326);
//   - gpkg_contents: data_type 'features', identifier the dataset, srs_id
//     4326, last_change and the bounds of all written geometries (NULL
//     without any) set when the file is closed;
//   - gpkg_geometry_columns: geometry_type_name 'GEOMETRY' (any type),
//     srs_id 4326, z and m 2 (optional);
//   - the feature table: "fid" INTEGER PRIMARY KEY AUTOINCREMENT (fid_1,
//     fid_2, … when the dataset has a column fid), numbered in the order
//     the rows are written, then the dataset's columns; the key columns
//     are NOT NULL with a UNIQUE index, so a duplicate or NULL key fails as
//     in the sqlite format.
//
// Declared types are GeoPackage's: as the sqlite format's (gpkgType), but
// numeric is REAL (NaN is NULL),
// timestamptz a DATETIME with milliseconds, timestamp (no zone) TEXT, and
// the geometry column GEOMETRY, a StandardGeoPackageBinary blob in WGS 84
// lon/lat (geometry.AppendGeoPackage); ±infinity in a DATE or DATETIME is
// NULL. Table names starting with gpkg_ or sqlite_ are refused. The layer
// has GDAL's spatial index (gpkgRTree: gpkg_extensions, the R-tree filled
// as rows are written, its triggers created after the last row).
func newGPKG(path string, opts Options, keyIdx []int, geomIdx int) (*sqliteWriter, error) {
	if geomIdx < 0 {
		return nil, fmt.Errorf("dataset %s: gpkg needs a geometry column (geometry: {column: …})", opts.Dataset)
	}
	if reservedGPKGName(opts.Dataset) {
		return nil, fmt.Errorf("dataset %s: gpkg: table names starting with gpkg_ or sqlite_ are reserved; rename the dataset", opts.Dataset)
	}
	cols := opts.Schema.Columns
	name, geomCol := opts.Dataset, cols[geomIdx].Name
	t := sqliteTable{format: "gpkg", name: name, extra: 1, decls: make([]string, len(cols)), appendTime: appendGPKGTime}
	for i, c := range cols {
		t.decls[i] = gpkgType(c)
	}
	t.decls[geomIdx] = "GEOMETRY"

	var create strings.Builder
	create.WriteString("CREATE TABLE ")
	create.WriteString(sqltext.QuoteIdent(name))
	create.WriteString(" (")
	create.WriteString(sqltext.QuoteIdent(fidColumn(cols)))
	create.WriteString(" INTEGER PRIMARY KEY AUTOINCREMENT, ")
	columnDefs(&create, cols, t.decls, keyIdx)
	create.WriteString(")")
	t.setup = []sqlStmt{
		{query: "PRAGMA application_id=" + strconv.Itoa(gpkgApplicationID)},
		{query: "PRAGMA user_version=" + strconv.Itoa(gpkgUserVersion)},
		{query: gpkgCreateSpatialRefSys},
		gpkgSpatialRefSys,
		{query: gpkgCreateContents},
		{query: gpkgCreateGeometryColumns},
		{query: create.String()},
		{query: "INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) VALUES (?, 'features', ?, ?)",
			args: []driver.Value{name, name, int64(gpkgSRID)}},
		{query: "INSERT INTO gpkg_geometry_columns VALUES (?, ?, 'GEOMETRY', ?, 2, 2)",
			args: []driver.Value{name, geomCol, int64(gpkgSRID)}},
	}
	if len(keyIdx) > 0 {
		t.setup = append(t.setup, sqlStmt{query: "CREATE UNIQUE INDEX " + sqltext.QuoteIdent(name+"_key") +
			" ON " + sqltext.QuoteIdent(name) + " (" + keyList(cols, keyIdx) + ")"})
	}
	rtree := &gpkgRTree{table: name, column: geomCol, fid: fidColumn(cols)}
	t.setup = append(t.setup, rtree.setup()...)

	var extent geometry.Envelope // of every geometry bound so far
	t.geom = func(dst []byte, v *record.Value, fid int64) ([]byte, error) {
		dst, env, err := appendGeoPackageGeometry(dst, v)
		if err == nil {
			extent.Extend(env)
			rtree.add(fid, env)
		}
		return dst, err
	}
	t.flushed = func() []sqlStmt { return rtree.flush(false) }
	t.finish = func() []sqlStmt {
		stmts := append(rtree.flush(true), rtree.triggers()...)
		bounds := []driver.Value{nil, nil, nil, nil}
		if !extent.IsEmpty() {
			bounds = []driver.Value{extent.MinX, extent.MinY, extent.MaxX, extent.MaxY}
		}
		return append(stmts, sqlStmt{
			query: "UPDATE gpkg_contents SET last_change = ?, min_x = ?, min_y = ?, max_x = ?, max_y = ? WHERE table_name = ?",
			args:  append(append([]driver.Value{time.Now().UTC().Format(gpkgDateTime)}, bounds...), name),
		})
	}
	return openSQLite(path, opts, keyIdx, geomIdx, t)
}

// gpkgType is the declared GeoPackage type of a column other than the
// geometry column: the sqlite format's type where GeoPackage has it,
// numeric REAL whatever its precision (as ogr2ogr declares numeric(24,15),
// numeric(38,8) and unbounded numeric, so GIS tools see numbers; digits
// beyond a double's 15-17 are rounded, the exact digits stay in csv, json
// and sqlite), timestamp (no zone) TEXT because a GeoPackage DATETIME is
// UTC (every value of such a column keeps its canonical text, also one a
// SQLite source read with a zone), and other geometry columns TEXT (WKT).
func gpkgType(c record.Column) string {
	switch t := sqliteType(c); {
	case c.Kind == record.Numeric:
		return "REAL"
	case c.Kind == record.Timestamp:
		return "TEXT"
	default:
		return t // INTEGER, REAL, BOOLEAN, DATE, DATETIME, BLOB, TEXT
	}
}

// appendGPKGTime appends a temporal value as GeoPackage stores it: a
// timestamptz in gpkgDateTime form (sub-millisecond digits cut), a date
// and a zone-less timestamp (TEXT) as record.AppendText writes them. It
// reports false (NULL) for ±infinity in a DATE or DATETIME column, which
// GeoPackage cannot hold.
func appendGPKGTime(dst []byte, v *record.Value) ([]byte, bool) {
	switch {
	case v.Kind == record.Timestamp:
		return record.AppendText(dst, v), true
	case v.S != "": // infinity
		return dst, false
	case v.Kind == record.TimestampTZ:
		return v.T.UTC().AppendFormat(dst, gpkgDateTime), true
	}
	return record.AppendText(dst, v), true
}

// fidColumn returns the name of the feature id column: "fid", or "fid_1",
// "fid_2", … when the dataset has a column of that name (SQLite compares
// names without regard to ASCII case).
func fidColumn(cols []record.Column) string {
	for n := 0; ; n++ {
		name := "fid"
		if n > 0 {
			name += "_" + strconv.Itoa(n)
		}
		if !slices.ContainsFunc(cols, func(c record.Column) bool { return strings.EqualFold(c.Name, name) }) {
			return name
		}
	}
}

// reservedGPKGName reports whether a feature table may not be called name:
// GeoPackage keeps the gpkg_ prefix for its own tables and SQLite the
// sqlite_ prefix.
func reservedGPKGName(name string) bool {
	n := strings.ToLower(name)
	return strings.HasPrefix(n, "gpkg_") || strings.HasPrefix(n, "sqlite_")
}
