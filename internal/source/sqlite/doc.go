// Package sqlite is the SQLite driver of package source, built on
// github.com/mattn/go-sqlite3 (which the SQLite writers of packages format
// and format/snapshot use too).
//
// The database file is opened read-only (file:<path>?mode=ro, with
// query_only), and every connection has an authorizer that lets a dataset
// query read and nothing else: ATTACH, DETACH, writes, schema changes and
// pragma assignments fail with source.ErrQuery before they run, so a query
// that closes the subquery and smuggles in statements cannot modify the
// source or create files. A missing file is an error wrapping
// source.ErrUnreachable and is never created.
//
// # Value mapping
//
// SQLite stores a storage class per value, not per column, so kinds come
// from the declared column type and, per value, from its storage class:
//
//	INT…, …INT… (BIGINT, SMALLINT)    Int
//	REAL, FLOA…, DOUB…                 Float
//	NUMERIC, DECIMAL…                  Numeric: integers as digits, reals as the shortest
//	                                   round-trip decimal, numeric-looking text as is;
//	                                   other text stays a Text value
//	BOOL…                              Bool (0/1, true/false, t/f, yes/no); anything else keeps its storage kind
//	DATE                               Date from "YYYY-MM-DD" text; anything else is a Text value
//	DATETIME, TIMESTAMP…               per value: text with "Z" or an offset → TimestampTZ,
//	                                   without → Timestamp (record.ParseTimestamp); unparsable → Text;
//	                                   numbers keep their storage kind (no epoch guessing)
//	JSON…                              JSON if the text is valid JSON (numbers too), else Text
//	BLOB                               Bytes
//	GEOMETRY, POINT, POLYGON, …        Geometry: WKT text in S, WKB/GPKG/SpatiaLite blob in B
//	CHAR, CLOB, TEXT…                  Text
//	no declared type (expressions)     by storage class: integer → Int, real → Float,
//	and unknown declared types         text → Text, blob → Bytes
//
// A value whose storage class does not fit its column (text in an INTEGER
// column, say) keeps a kind of its own instead of being coerced: nothing is
// silently turned into zero. The Schema's kind of a column without a usable
// declared type is the kind of its value in the first row (Text if NULL or
// no rows).
//
// go-sqlite3 itself turns TEXT and INTEGER values of columns declared DATE,
// DATETIME or TIMESTAMP into time.Time (the zero time when the text does
// not parse, and dropping the offset) and those declared BOOLEAN into bool.
// To read the stored values, the driver first probes the query
// ("SELECT * FROM (<query>) LIMIT 0", which does not run it) for the
// column names and declared types, and then reads such columns through
// "+"col"", a no-op expression that keeps the value and its storage class
// but has no declared type.
//
// Invalid UTF-8 in text is replaced with U+FFFD. When the query ends, one
// warning per affected column, with the number of values replaced, goes to
// the Source's log; the rows themselves carry only valid UTF-8, so the
// replacement does not show up in the run report.
//
// # Incremental filter
//
// The query is wrapped as SELECT … FROM (<query>) AS countysync_src WHERE
// "<col>" >= ? with the NULL policy of the Filter, and Min is bound in
// SQLite's storage form: integers as int64, floats as float64, numerics as
// int64 or float64 when they parse (text otherwise), text as text, dates as
// "YYYY-MM-DD" text.
//
// Timestamps are compared as text by SQLite, which is only correct when
// every cursor value is ISO 8601 in one consistent layout (same separator
// "T" or " ", same zone suffix). The driver does not rely on it: it binds
// the UTC day before Min ("YYYY-MM-DD", a prefix that sorts before every
// timestamp of that day in any ISO layout or offset up to ±24h), so SQLite
// returns a superset, and then drops rows whose parsed cursor is before Min
// exactly (Min truncated to µs, offsets applied; a timestamp without
// offset is taken as UTC). The assumption that remains: cursor values are ISO 8601 text (not
// numbers, not "04/11/2025"); unparsable text cursors at or after that day
// are kept.
//
// # Key order and transactions in flight
//
// With Filter.OrderBy the wrapper ends in ORDER BY "<key>" COLLATE BINARY
// for key columns declared INTEGER (…INT…) or TEXT (CHAR, CLOB, TEXT):
// SQLite sorts integers numerically before text, and text byte by byte,
// which is the snapshot's order. Keys of other declared types get no
// ORDER BY (their values' kinds depend on each value's storage class) and
// Rows.Ordered is false.
//
// Rows.Horizon is nil: SQLite has one writer at a time and a reader sees
// only committed rows, so no transaction can be in flight with rows below
// the cursor values a reader saw, provided the cursor is set inside the
// writing transaction (CURRENT_TIMESTAMP, an INTEGER PRIMARY KEY).
package sqlite
