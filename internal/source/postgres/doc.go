// Package postgres is the PostgreSQL/PostGIS driver of package source,
// built on github.com/jackc/pgx/v5 (the only package of the program that
// imports pgx; the test helper package testsvc uses it to set up test
// databases).
//
// # Reading
//
// Every Query runs in its own read-only REPEATABLE READ transaction, so a
// dataset is read from one snapshot. The statement is first described
// (Parse/Describe of the unnamed statement) to learn the result's type
// OIDs; the driver then chooses a result format per column and executes it
// with the extended protocol, reading DataRow messages one at a time: the
// result is never buffered, memory does not depend on the row count, and
// values are decoded from the raw wire bytes into a reused record.Row
// without boxing them in interfaces.
//
// # Value mapping
//
// PostgreSQL types become record kinds as below; how each kind is written
// in every format is in docs/ARCHITECTURE.md, Values per format.
//
//	int2, int4, int8                 Int          binary
//	float4, float8                   Float        binary (float4 as its shortest decimal)
//	bool                             Bool         binary
//	text, varchar, bpchar, name      Text         binary
//	numeric                          Numeric      text: the exact digits PostgreSQL prints ("1.5000000000", "NaN")
//	date                             Date         binary; ±infinity in S
//	timestamp                        Timestamp    binary (µs); ±infinity in S
//	timestamptz                      TimestampTZ  binary (µs, UTC); ±infinity in S
//	uuid                             UUID         binary, canonical lower-case text
//	bytea                            Bytes        binary
//	json, jsonb                      JSON         binary (jsonb version byte stripped)
//	geometry, geography (PostGIS)    Geometry     binary: EWKB in B
//	arrays of the types above        Array        binary, rendered as JSON text
//	arrays of other types            Array        text, elements as JSON strings
//	anything else                    Text         text: PostgreSQL's own output (interval, time, inet, money, enums, …)
//
// Domains are read as their base type. Array elements use the same mapping
// as scalars: numbers stay exact JSON numbers (numeric digits as stored),
// temporal values become strings in the record layouts (RFC 3339 UTC for
// timestamptz), bytea becomes base64, json elements stay nested JSON, NULL
// becomes null, and non-finite floats and numerics become the strings
// "NaN", "Infinity" and "-Infinity".
//
// # Incremental filter
//
// A Filter wraps the query as
//
//	SELECT * FROM (<query>) AS countysync_src WHERE ("<col>" >= $1::<type> OR "<col>" IS NULL)
//
// with the cursor bound as a typed parameter at full precision; the NULL
// branch depends on the Filter's NULL policy.
//
// # Key order
//
// With Filter.OrderBy, after describing the statement the driver appends
// (wrapping the query if the filter did not) ORDER BY the key columns:
// integer, boolean and uuid columns as they are, text, varchar and name
// with COLLATE "C" (byte order, as the snapshot compares them), bpchar as
// format('%s', col) COLLATE "C" (its padded text). Keys of other types
// get no ORDER BY and Rows.Ordered is false.
//
// # Transactions in flight
//
// With Filter.Horizon the driver first runs, on the query's connection and
// outside its transaction, one query of pg_stat_activity: the other client
// sessions of the database with a transaction open (xact_start), the
// oldest one's start and pid, the sessions the role may not see, and the
// database clock (Rows.Horizon). Only then does the REPEATABLE READ
// transaction begin, so every transaction open at the snapshot is either
// listed or began after that clock.
//
// # Errors
//
// Connection failures wrap source.ErrUnreachable; errors PostgreSQL raises
// for the query wrap source.ErrQuery and the *pgconn.PgError, and name the
// position (line and column of the user's query), hint and detail. The
// password of the connection URL never appears in an error or log line.
package postgres
