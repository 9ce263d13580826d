package transform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/countydatasync/countysync/internal/geometry"
	"github.com/countydatasync/countysync/internal/record"
)

// toExpr converts a record value into the value an expression sees (see
// the table in the package documentation).
func toExpr(v *record.Value) (any, error) {
	switch v.Kind {
	case record.Null:
		return nil, nil
	case record.Text, record.UUID:
		return v.S, nil
	case record.Int:
		return int(v.I), nil
	case record.Float:
		return v.F, nil
	case record.Numeric:
		if v.S == "NaN" {
			return math.NaN(), nil
		}
		d, err := ParseDecimal(v.S)
		if err != nil {
			return nil, fmt.Errorf("numeric value: %w", err)
		}
		return d, nil
	case record.Bool:
		return v.I != 0, nil
	case record.Date, record.Timestamp, record.TimestampTZ:
		if v.S != "" { // "infinity" / "-infinity"
			return v.S, nil
		}
		return v.T, nil
	case record.JSON, record.Array:
		return decodeJSON(v.S)
	case record.Bytes:
		return v.B, nil
	case record.Geometry:
		return geometryText(v), nil
	}
	return nil, fmt.Errorf("unsupported value kind %s", v.Kind)
}

// decodeJSON decodes JSON text into nil, bool, string, []any,
// map[string]any and numbers: int where the number is an integer that fits,
// *Decimal otherwise, so no digit is lost.
func decodeJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return nil, fmt.Errorf("json value: %w", err)
	}
	return fixNumbers(x)
}

func fixNumbers(x any) (any, error) {
	switch v := x.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return int(i), nil
		}
		return ParseDecimal(string(v))
	case []any:
		for i, e := range v {
			f, err := fixNumbers(e)
			if err != nil {
				return nil, err
			}
			v[i] = f
		}
	case map[string]any:
		for k, e := range v {
			f, err := fixNumbers(e)
			if err != nil {
				return nil, err
			}
			v[k] = f
		}
	}
	return x, nil
}

// geometryText returns the WKT of a geometry value exactly as the csv,
// json and sqlite files get it: geometry.Decode (WKT, EWKT, hex WKB, WKB,
// EWKB, GeoPackage blobs or an already decoded geometry), then
// geometry.AppendWKT (PostGIS ST_AsText's spelling). A value that does not
// decode is returned as the source gave it (a string, or []byte for
// bytes), so that an expression returning it unchanged leaves it to the
// writers, which write it as NULL with a warning (an error under
// --strict).
func geometryText(v *record.Value) any {
	if v.G == nil && v.S == "" && len(v.B) == 0 {
		return nil
	}
	g, err := geometry.Decode(v)
	if err != nil {
		if len(v.B) > 0 {
			return v.B
		}
		return v.S
	}
	return string(geometry.AppendWKT(nil, g))
}

// errResultType is wrapped by the errors fromExpr returns for a result of a
// type the column cannot hold.
var errResultType = errors.New("result type does not fit the column")

// fromExpr converts an expression result back into a value of the given
// column kind (see the package documentation).
func fromExpr(x any, kind record.Kind) (record.Value, error) {
	if x == nil {
		return record.Value{}, nil
	}
	bad := func() (record.Value, error) {
		return record.Value{}, fmt.Errorf("%w: %s column cannot hold %s result", errResultType, withArticle(kind.String()), withArticle(typeName(x)))
	}
	switch kind {
	case record.Text:
		if s, ok := x.(string); ok {
			return record.TextValue(s), nil
		}
	case record.UUID:
		if s, ok := x.(string); ok {
			u, err := canonicalUUID(s)
			if err != nil {
				return record.Value{}, err
			}
			return record.Value{Kind: record.UUID, S: u}, nil
		}
	case record.Numeric:
		return numericResult(x, bad)
	case record.Int:
		return intResult(x, bad)
	case record.Float:
		switch v := x.(type) {
		case float64:
			return record.FloatValue(v), nil
		case int:
			return record.FloatValue(float64(v)), nil
		case *Decimal:
			return record.FloatValue(v.Float64()), nil
		}
	case record.Bool:
		if b, ok := x.(bool); ok {
			return record.BoolValue(b), nil
		}
	case record.Date, record.Timestamp, record.TimestampTZ:
		return temporalResult(x, kind, bad)
	case record.JSON, record.Array:
		if kind == record.Array {
			if _, ok := x.([]any); !ok {
				if _, ok := x.([]int); !ok {
					if _, ok := x.([]string); !ok {
						if _, ok := x.([]float64); !ok {
							return bad()
						}
					}
				}
			}
		}
		if !jsonSizeWithin(x, MaxStringLen) {
			return record.Value{}, checkLen(MaxStringLen + 1)
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(x); err != nil {
			return record.Value{}, fmt.Errorf("encoding the result as JSON: %w", err)
		}
		return record.Value{Kind: kind, S: strings.TrimSuffix(buf.String(), "\n")}, nil
	case record.Bytes:
		switch v := x.(type) {
		case []byte:
			return record.BytesValue(append([]byte(nil), v...)), nil
		case string:
			return record.BytesValue([]byte(v)), nil
		}
	case record.Geometry:
		switch v := x.(type) {
		case string:
			return record.Value{Kind: record.Geometry, S: v}, nil
		case []byte:
			return record.Value{Kind: record.Geometry, B: append([]byte(nil), v...)}, nil
		}
	}
	return bad()
}

func numericResult(x any, bad func() (record.Value, error)) (record.Value, error) {
	switch v := x.(type) {
	case *Decimal:
		if v.scale > maxDigits {
			return bad()
		}
		return record.NumericValue(v.String()), nil
	case int:
		return record.NumericValue(strconv.Itoa(v)), nil
	case float64:
		if math.IsNaN(v) {
			return record.NumericValue("NaN"), nil
		}
		if math.IsInf(v, 0) {
			return record.Value{}, fmt.Errorf("%w: a numeric column cannot hold %v", errResultType, v)
		}
		return record.NumericValue(strconv.FormatFloat(v, 'f', -1, 64)), nil
	case string:
		d, err := ParseDecimal(strings.TrimSpace(v))
		if err != nil {
			return record.Value{}, fmt.Errorf("%w: a numeric column cannot hold the string %q", errResultType, v)
		}
		return record.NumericValue(d.String()), nil
	}
	return bad()
}

func intResult(x any, bad func() (record.Value, error)) (record.Value, error) {
	switch v := x.(type) {
	case int:
		return record.IntValue(int64(v)), nil
	case int64:
		return record.IntValue(v), nil
	case float64:
		if v != math.Trunc(v) || v < math.MinInt64 || v >= math.MaxInt64 {
			return record.Value{}, fmt.Errorf("%w: an integer column cannot hold %v", errResultType, v)
		}
		return record.IntValue(int64(v)), nil
	case *Decimal:
		i, ok := v.int64()
		if !ok {
			return record.Value{}, fmt.Errorf("%w: an integer column cannot hold %s", errResultType, v)
		}
		return record.IntValue(i), nil
	}
	return bad()
}

func temporalResult(x any, kind record.Kind, bad func() (record.Value, error)) (record.Value, error) {
	var t time.Time
	switch v := x.(type) {
	case time.Time:
		t = v
	case string:
		s := strings.TrimSpace(v)
		switch strings.ToLower(s) {
		case "infinity", "-infinity":
			return record.Value{Kind: kind, S: strings.ToLower(s)}, nil
		}
		var err error
		if kind == record.Date {
			if t, err = time.Parse(record.DateLayout, s); err == nil {
				break
			}
		}
		if t, _, err = record.ParseTimestamp(s); err != nil {
			return record.Value{}, fmt.Errorf("%w: a %s column cannot hold the string %q", errResultType, kind, v)
		}
	default:
		return bad()
	}
	switch kind {
	case record.Date:
		return record.DateValue(t), nil
	case record.Timestamp:
		return record.TimestampValue(t), nil
	default:
		return record.TimestampTZValue(t), nil
	}
}

// canonicalUUID validates the textual UUID s (with or without hyphens or
// braces) and returns its canonical lower-case hyphenated form.
func canonicalUUID(s string) (string, error) {
	h := strings.Trim(s, "{}")
	h = strings.ReplaceAll(h, "-", "")
	if len(h) != 32 {
		return "", fmt.Errorf("%w: %q is not a UUID", errResultType, s)
	}
	h = strings.ToLower(h)
	for i := 0; i < len(h); i++ {
		if c := h[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", fmt.Errorf("%w: %q is not a UUID", errResultType, s)
		}
	}
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}
