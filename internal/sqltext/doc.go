// Package sqltext holds the small pieces of SQL text handling that the
// PostgreSQL source, the SQLite source and the SQLite-based file formats
// share: quoting an identifier and trimming a user's statement before it
// is wrapped in another query.
package sqltext
