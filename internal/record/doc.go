// Package record defines the column schema and the typed values that every
// stage of CountyDataSync shares: sources produce them, transformations
// rewrite them, snapshots store them and format writers render them.
//
// A Value is a small tagged struct rather than an interface so the hot path
// (millions of values per run) does not allocate per value. The zero Value is
// SQL NULL. Which field carries the payload depends on Kind:
//
//	Null        nothing
//	Text        S
//	Int         I
//	Float       F
//	Numeric     S, the exact decimal digits as stored ("-12.3400"), or "NaN"
//	Bool        I (0 or 1)
//	Date        T (UTC midnight of the day); S set instead for "infinity"/"-infinity"
//	Timestamp   T (wall clock, location UTC, no zone meaning); S for infinities
//	TimestampTZ T (an instant); S for infinities
//	UUID        S, canonical lower-case text
//	JSON        S, JSON text (json/jsonb)
//	Array       S, JSON text of the array
//	Bytes       B
//	Geometry    B (WKB or EWKB) or S (WKT); G once decoded
//
// Rows handed out by a source are reused between calls to Next: a stage that
// keeps a row past the next call must Clone it.
package record
