// Package transform applies the per-column expressions of a dataset's
// config (its transformations: section, column name to expression) to
// its rows.
//
// Expressions are written in expr (github.com/expr-lang/expr). They are
// compiled once, when the config is loaded, without knowing the schema:
//
//	set, err := transform.Compile(map[string]string{
//		"amount": "round(value, 2)",
//		"status": "upper(value)",
//		"owner":  "value == nil ? '' : trim(value)",
//		"full":   "row.first + ' ' + row.last",
//	})
//
// A failing expression is a *CompileError naming the column, e.g.
//
//	transformation of column "amount": unknown function rond (1:1)
//
// Several failures come back together as CompileErrors, sorted by column.
// Once a run knows the columns of its query, Set.Bind checks that every
// transformed column (and every column named as row.name) exists and
// returns a Bound, whose Apply rewrites rows in place. Set and Bound are
// safe for concurrent use.
//
// # Names
//
// An expression knows two names besides the functions below:
//
//	value   the current value of the transformed column
//	row     the whole row, a map by column name: row.first, row["first name"]
//
// Both hold the values as the source gave them: every transformation of a
// row sees the row before any transformation of that row, whatever the
// order of the columns. Using an unknown name is a compile error; naming a
// column that the query does not return (row.middle) is a Bind error.
//
// # Values
//
// Record values reach expressions as:
//
//	NULL                              nil
//	text, uuid                        string
//	integer                           int
//	float                             float64
//	numeric                           *Decimal (exact; "NaN" becomes float64 NaN)
//	boolean                           bool
//	date, timestamp, timestamptz      time.Time (UTC; "infinity"/"-infinity" stay strings)
//	json, array                       decoded: nil, bool, string, int (integers that fit),
//	                                  *Decimal (other numbers, exact), []any, map[string]any
//	bytes                             []byte
//	geometry                          WKT string, exactly as the csv, json and sqlite
//	                                  files write it (PostGIS ST_AsText's spelling:
//	                                  POLYGON((0 0,1 0,1 1,0 0))), whether the source
//	                                  gave WKT, EWKT, hex WKB, WKB/EWKB bytes or a
//	                                  decoded geometry; a value that does not decode
//	                                  comes as the source gave it (string or []byte)
//
// A result is converted back to the kind of its column; a transformation
// never changes a column's kind, so the output schema equals the input
// schema. The accepted results per column kind:
//
//	any kind          nil gives NULL
//	text              string
//	uuid              string holding a UUID (stored in canonical form)
//	numeric           *Decimal (exact, never through float64), int, float64 (its
//	                  shortest round-trip digits; NaN gives "NaN"), numeric string
//	integer           int, or a float64/*Decimal with an integral value that fits
//	float             float64, int, *Decimal
//	boolean           bool
//	date, timestamp,  time.Time, an ISO 8601 string, "infinity"/"-infinity"
//	timestamptz
//	json              any value; it is encoded as JSON (a string becomes a JSON string)
//	array             an array; it is encoded as JSON
//	bytes             []byte, string
//	geometry          string (WKT) or []byte (WKB)
//
// Anything else is a *RowError naming the column, the expression and the
// kind of the result in the words config authors use (text, integer,
// float, numeric, boolean, array, JSON object, timestamp, bytes, null);
// write string(x), to_int(x) ... to convert.
//
// # Operators
//
// expr's operators work as documented by expr, with these additions for
// values whose type is only known at run time (everything read from value
// and row):
//
//   - Arithmetic (+ - * / %) with a *Decimal operand is exact. An int
//     operand is exact too; a float operand is taken as its shortest
//     decimal form, so value * 1.1 multiplies by exactly 1.1. Scales follow
//     PostgreSQL: addition and subtraction keep the larger scale
//     (1.10 + 2.205 = 3.305), multiplication adds them (1.20 * 3 = 3.60),
//     division keeps at least 16 significant digits and the larger scale
//     (10 / 4 = 2.5000000000000000; wrap it in round), and the remainder
//     takes the dividend's sign. Division by zero is an error. Powers
//     (** or ^) and math on NaN or infinite floats compute in float64.
//   - Arithmetic with nil gives nil, as SQL's NULL arithmetic does; this
//     includes string concatenation with +, so row.first + ' ' + row.last is
//     nil when either part is NULL (use concat to skip NULLs instead).
//   - == and != compare Decimals by value with any number (1.50 == 1.5);
//     nil equals only nil, so value == nil tests for NULL.
//   - < > <= >= with nil are false, as a SQL CASE treats an unknown
//     condition: value > 100 ? 'big' : 'small' gives 'small' for NULL.
//   - Unary minus negates Decimals and keeps nil.
//
// Known gaps: the in operator, expr's builtins sum, min, max, mean, median,
// ceil and floor, and sorting do not understand *Decimal; convert with
// float(x) or compare explicitly.
//
// # Functions
//
// All functions return nil when a required argument is nil (NULL in, NULL
// out), except coalesce, nullif and concat, which exist to handle NULLs.
// Text positions and lengths count characters (runes), not bytes.
//
//	round(x[, n])        rounds half away from zero to n decimals (default 0), like
//	                     PostgreSQL's round(numeric, int). On a *Decimal the result
//	                     has exactly n decimals: round(1.005, 2) = 1.01,
//	                     round(7, 2) = 7.00 on a numeric column, round(1250, -2) = 1300.
//	                     On a float it rounds the shortest decimal form
//	                     (round(1.005, 2) = 1.01) and returns a float; on an int
//	                     with n >= 0 it returns the int.
//	abs(x)               absolute value of a Decimal, int or float.
//	upper(s), lower(s)   Unicode case mapping per character: upper('straße') = 'STRAßE'.
//	trim(s[, chars])     removes leading and trailing white space (Unicode), or
//	                     the characters in chars: trim('-*a*-', '*-') = 'a'.
//	coalesce(a, b, ...)  the first argument that is not nil, else nil.
//	nullif(a, b)         nil if a == b (Decimal-aware), else a: nullif(value, '').
//	substr(s, start[, n]) SQL substring, 1-based: substr('hello', 2, 3) = 'ell';
//	                     positions before 1 count towards n (substr('hello', 0, 3) = 'he');
//	                     a negative n is an error.
//	replace(s, old, new) replaces every occurrence; an empty old leaves s as it is.
//	concat(a, ...)       the text of its arguments (as string(x)), skipping nils:
//	                     concat(row.first, ' ', row.last).
//	left(s, n)           the first n characters; n < 0: all but the last |n|.
//	right(s, n)          the last n characters; n < 0: all but the first |n|.
//	strip_non_digits(s)  keeps the ASCII digits: strip_non_digits('(555) 123-4567') = '5551234567'.
//	join(array[, sep])   the text of the elements separated by sep, skipping nils:
//	                     join(split(value, ' '), '_').
//	to_int(x), int(x)    Decimal/float truncated toward zero, numeric string parsed
//	                     (' 17 ' = 17, '17.5' = 17), blank string nil, bool 0/1.
//	to_float(x), float(x) nearest float64 of a Decimal, int or numeric string
//	                     (blank string nil), bool 0/1.
//	string(x)            text of any value: Decimals with their exact digits, floats
//	                     shortest, times RFC 3339, []byte raw, arrays/maps as JSON.
//
// expr's other builtins remain available (len, split, hasPrefix, indexOf,
// map, filter, date, duration, now ...). These builtins are replaced by the
// functions above: round, abs, upper, lower, trim, replace, concat, int,
// float, string, join. repeat, toJSON and toBase64 are removed because their
// memory use is not bounded.
//
// # Limits
//
// An expression may have at most MaxNodes syntax nodes. Each evaluation runs
// with expr's VM memory budget (MemoryBudget; a range 1..n counts n), and no
// string built by a function or + may exceed MaxStringLen bytes. Going over
// either is a *RowError wrapping ErrBudgetExceeded, so a runaway expression
// such as len(1..100000000 | map(# * 2)) fails quickly instead of exhausting
// the process. Any other run-time failure, including a panic inside expr,
// is a *RowError too; Apply leaves the row unchanged when it fails.
package transform
