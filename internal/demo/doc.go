// Package demo writes the demo county: a small SQLite database with a
// spatial parcels table (WKT polygons, one with a hole, a multipolygon, a
// clockwise ring, an empty and a broken geometry) and a permits table full
// of the values exports get wrong (NULL vs empty strings, quotes, commas,
// newlines, unicode, exact decimals, dates, timestamps with offsets), plus
// a config that publishes both. `countysync demo` and tests use it.
package demo
