package format

import (
	"database/sql/driver"
	"strconv"

	"github.com/countydatasync/countysync/internal/geometry"
	"github.com/countydatasync/countysync/internal/sqltext"
)

// gpkgRTree is a GeoPackage's spatial index (the gpkg_rtree_index
// extension, OGC GeoPackage 1.3 annex F.3), as GDAL writes it: the SQLite
// R*Tree virtual table rtree_<table>_<column> holding each non-empty
// geometry's envelope by fid, registered in gpkg_extensions, and the six
// triggers that keep it in step when a GIS tool edits the layer later. The
// entries are inserted as the rows are (a batch at a time, so memory stays
// flat), and the triggers, which call GeoPackage SQL functions SQLite
// alone does not have (ST_IsEmpty, ST_MinX, …), are created after the last
// row.
type gpkgRTree struct {
	table, column, fid string
	// pending holds the VALUES of the entries not inserted yet, as SQL
	// literals "(fid,minx,maxx,miny,maxy)" (shortest round-trip digits;
	// literals rather than bound parameters spare an allocation per
	// value), n how many.
	pending []byte
	n       int
}

// gpkgRTreeBatch is the number of entries of one INSERT into the R-tree.
const gpkgRTreeBatch = 1000

// gpkgCreateExtensions is the gpkg_extensions table of GeoPackage 1.3.
const gpkgCreateExtensions = `CREATE TABLE gpkg_extensions (table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, ` +
	`definition TEXT NOT NULL, scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))`

func (r *gpkgRTree) name() string { return "rtree_" + r.table + "_" + r.column }

// setup creates the extension's table, its row and the R-tree.
func (r *gpkgRTree) setup() []sqlStmt {
	return []sqlStmt{
		{query: gpkgCreateExtensions},
		{query: "INSERT INTO gpkg_extensions VALUES (?, ?, 'gpkg_rtree_index', 'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')",
			args: []driver.Value{r.table, r.column}},
		{query: "CREATE VIRTUAL TABLE " + sqltext.QuoteIdent(r.name()) + " USING rtree(id, minx, maxx, miny, maxy)"},
	}
}

// add records the envelope of feature fid; empty geometries have none.
func (r *gpkgRTree) add(fid int64, env geometry.Envelope) {
	if env.IsEmpty() {
		return
	}
	if r.n > 0 {
		r.pending = append(r.pending, ',')
	}
	r.pending = append(r.pending, '(')
	r.pending = strconv.AppendInt(r.pending, fid, 10)
	for _, v := range [...]float64{env.MinX, env.MaxX, env.MinY, env.MaxY} {
		r.pending = append(r.pending, ',')
		r.pending = strconv.AppendFloat(r.pending, v, 'g', -1, 64)
	}
	r.pending = append(r.pending, ')')
	r.n++
}

// flush returns the INSERT of the pending entries once there are enough
// of them (all of them when all is set).
func (r *gpkgRTree) flush(all bool) []sqlStmt {
	if r.n == 0 || (!all && r.n < gpkgRTreeBatch) {
		return nil
	}
	q := "INSERT INTO " + sqltext.QuoteIdent(r.name()) + " VALUES " + string(r.pending)
	r.pending, r.n = r.pending[:0], 0
	return []sqlStmt{{query: q}}
}

// triggers returns GeoPackage 1.3's six R-tree triggers for the table.
func (r *gpkgRTree) triggers() []sqlStmt {
	t, c, i := sqltext.QuoteIdent(r.table), sqltext.QuoteIdent(r.column), sqltext.QuoteIdent(r.fid)
	rt := sqltext.QuoteIdent(r.name())
	trig := func(suffix string) string { return sqltext.QuoteIdent(r.name() + "_" + suffix) }
	insert := "INSERT OR REPLACE INTO " + rt + " VALUES (NEW." + i + ", ST_MinX(NEW." + c + "), ST_MaxX(NEW." + c + "), ST_MinY(NEW." + c + "), ST_MaxY(NEW." + c + "));"
	nonEmpty := "(NEW." + c + " NOTNULL AND NOT ST_IsEmpty(NEW." + c + "))"
	empty := "(NEW." + c + " ISNULL OR ST_IsEmpty(NEW." + c + "))"
	return []sqlStmt{
		{query: "CREATE TRIGGER " + trig("insert") + " AFTER INSERT ON " + t + " WHEN " + nonEmpty + " BEGIN " + insert + " END"},
		{query: "CREATE TRIGGER " + trig("update1") + " AFTER UPDATE OF " + c + " ON " + t + " WHEN OLD." + i + " = NEW." + i + " AND " + nonEmpty +
			" BEGIN " + insert + " END"},
		{query: "CREATE TRIGGER " + trig("update2") + " AFTER UPDATE OF " + c + " ON " + t + " WHEN OLD." + i + " = NEW." + i + " AND " + empty +
			" BEGIN DELETE FROM " + rt + " WHERE id = OLD." + i + "; END"},
		{query: "CREATE TRIGGER " + trig("update3") + " AFTER UPDATE ON " + t + " WHEN OLD." + i + " != NEW." + i + " AND " + nonEmpty +
			" BEGIN DELETE FROM " + rt + " WHERE id = OLD." + i + "; " + insert + " END"},
		{query: "CREATE TRIGGER " + trig("update4") + " AFTER UPDATE ON " + t + " WHEN OLD." + i + " != NEW." + i + " AND " + empty +
			" BEGIN DELETE FROM " + rt + " WHERE id IN (OLD." + i + ", NEW." + i + "); END"},
		{query: "CREATE TRIGGER " + trig("delete") + " AFTER DELETE ON " + t + " WHEN OLD." + c + " NOT NULL" +
			" BEGIN DELETE FROM " + rt + " WHERE id = OLD." + i + "; END"},
	}
}
