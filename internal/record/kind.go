package record

import "fmt"

// Kind is the type of a column or a value.
type Kind uint8

// The kinds of values. See the package documentation for where each keeps
// its payload.
const (
	Null Kind = iota
	Text
	Int
	Float
	Numeric
	Bool
	Date
	Timestamp
	TimestampTZ
	UUID
	JSON
	Array
	Bytes
	Geometry
)

var kindNames = [...]string{
	Null:        "null",
	Text:        "text",
	Int:         "integer",
	Float:       "float",
	Numeric:     "numeric",
	Bool:        "boolean",
	Date:        "date",
	Timestamp:   "timestamp",
	TimestampTZ: "timestamptz",
	UUID:        "uuid",
	JSON:        "json",
	Array:       "array",
	Bytes:       "bytes",
	Geometry:    "geometry",
}

// String returns the kind's name as used in config files and manifests.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// ParseKind is the inverse of Kind.String.
func ParseKind(s string) (Kind, error) {
	for k, name := range kindNames {
		if name == s {
			return Kind(k), nil
		}
	}
	return Null, fmt.Errorf("unknown column kind %q", s)
}
