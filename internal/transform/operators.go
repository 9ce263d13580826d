package transform

import (
	"cmp"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm/runtime"
)

// Operators on values whose type is only known at run time.
//
// Every value an expression reads from a row is statically typed as "any",
// so expr cannot pick an operator overload at compile time the way
// expr.Operator does (its overload matching treats an interface parameter as
// matching every operand type, which would route even 1 + 2 through the
// overload). Instead a patcher (dynPatcher) rewrites each arithmetic or
// comparison operator whose operand types are not both statically known into
// a call of one of the functions below. They handle *Decimal operands and
// NULLs and hand everything else to expr's own runtime, so expressions whose
// types are known (1 + 2, 'a' + 'b') compile exactly as expr compiles them.
//
// The function names contain a character the expr lexer never produces, so
// expressions cannot call them by name.

// dynOps maps an operator token to the internal function that implements it.
var dynOps = map[string]string{
	"+":  "op:+",
	"-":  "op:-",
	"*":  "op:*",
	"/":  "op:/",
	"%":  "op:%",
	"**": "op:**",
	"^":  "op:**",
	"==": "op:==",
	"!=": "op:!=",
	"<":  "op:<",
	">":  "op:>",
	"<=": "op:<=",
	">=": "op:>=",
}

const opNeg = "op:neg"

// dynFuncs are the implementations of dynOps, keyed by function name.
var dynFuncs = map[string]func(a, b any) (any, error){
	"op:+":  func(a, b any) (any, error) { return arith('+', a, b) },
	"op:-":  func(a, b any) (any, error) { return arith('-', a, b) },
	"op:*":  func(a, b any) (any, error) { return arith('*', a, b) },
	"op:/":  func(a, b any) (any, error) { return arith('/', a, b) },
	"op:%":  func(a, b any) (any, error) { return arith('%', a, b) },
	"op:**": func(a, b any) (any, error) { return arith('^', a, b) },
	"op:==": func(a, b any) (any, error) { return equal(a, b), nil },
	"op:!=": func(a, b any) (any, error) { return !equal(a, b), nil },
	"op:<":  func(a, b any) (any, error) { return order("<", a, b) },
	"op:>":  func(a, b any) (any, error) { return order(">", a, b) },
	"op:<=": func(a, b any) (any, error) { return order("<=", a, b) },
	"op:>=": func(a, b any) (any, error) { return order(">=", a, b) },
}

var (
	anyType  = reflect.TypeOf((*any)(nil)).Elem()
	boolType = reflect.TypeOf(false)
)

// dynPatcher rewrites operators on dynamically typed operands into calls of
// the dynOps functions, and records how the expression uses row.
type dynPatcher struct {
	rowIdents int      // every occurrence of the identifier row
	rowStatic int      // occurrences of the form row.name / row["name"]
	rowNames  []string // the names used in those
}

func isDynamic(t reflect.Type) bool {
	return t == nil || t.Kind() == reflect.Interface
}

func isString(t reflect.Type) bool { return t != nil && t.Kind() == reflect.String }

// Visit implements ast.Visitor. Walk visits children before their parent,
// so a parent sees its operands already patched.
func (p *dynPatcher) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		if n.Value == "row" {
			p.rowIdents++
		}
	case *ast.MemberNode:
		if id, ok := n.Node.(*ast.IdentifierNode); ok && id.Value == "row" {
			if s, ok := n.Property.(*ast.StringNode); ok {
				p.rowStatic++
				p.rowNames = append(p.rowNames, s.Value)
			}
		}
	case *ast.BinaryNode:
		fn, ok := dynOps[n.Operator]
		if !ok {
			return
		}
		lt, rt := n.Left.Type(), n.Right.Type()
		// Concatenation of two strings goes through arith too, which
		// bounds the length of the result. Other statically typed operands
		// stay native, so expr still reports their type errors at compile
		// time.
		if !isDynamic(lt) && !isDynamic(rt) && !(n.Operator == "+" && isString(lt) && isString(rt)) {
			return
		}
		call := &ast.CallNode{
			Callee:    &ast.IdentifierNode{Value: fn},
			Arguments: []ast.Node{n.Left, n.Right},
		}
		switch n.Operator {
		case "==", "!=", "<", ">", "<=", ">=":
			call.SetType(boolType)
		default:
			call.SetType(anyType)
		}
		ast.Patch(node, call)
	case *ast.UnaryNode:
		if n.Operator != "-" || !isDynamic(n.Node.Type()) {
			return
		}
		call := &ast.CallNode{
			Callee:    &ast.IdentifierNode{Value: opNeg},
			Arguments: []ast.Node{n.Node},
		}
		call.SetType(anyType)
		ast.Patch(node, call)
	}
}

// allRow reports whether the expression uses row other than through
// constant member names, so every column must be supplied.
func (p *dynPatcher) allRow() bool { return p.rowIdents != p.rowStatic }

// toDecimalOperand converts an operand for mixed arithmetic with a Decimal.
// Floats become the shortest decimal that round-trips them, so 1.1 means
// exactly 1.1. ok is false if x cannot take part in decimal arithmetic.
func toDecimalOperand(x any) (*Decimal, bool) {
	switch v := x.(type) {
	case *Decimal:
		return v, true
	case int:
		return decimalFromInt(int64(v)), true
	case int64:
		return decimalFromInt(v), true
	case int32:
		return decimalFromInt(int64(v)), true
	case float64:
		return decimalFromFloat(v)
	case float32:
		return decimalFromFloat(float64(v))
	}
	return nil, false
}

// arith implements + - * / % and ** (op '^') on any operands: NULL in
// gives NULL out, a Decimal operand makes the operation exact, and
// everything else is expr's own operator (which panics on a type mismatch;
// the VM turns that into an error).
func arith(op byte, a, b any) (any, error) {
	if a == nil || b == nil {
		return nil, nil
	}
	da, aDec := a.(*Decimal)
	db, bDec := b.(*Decimal)
	if aDec || bDec {
		if op == '^' {
			return math.Pow(toFloat64(a), toFloat64(b)), nil
		}
		if !aDec {
			var ok bool
			if da, ok = toDecimalOperand(a); !ok {
				return floatOrTypeError(op, a, b)
			}
		}
		if !bDec {
			var ok bool
			if db, ok = toDecimalOperand(b); !ok {
				return floatOrTypeError(op, a, b)
			}
		}
		switch op {
		case '+':
			return da.add(db), nil
		case '-':
			return da.sub(db), nil
		case '*':
			return da.mul(db)
		case '/':
			return da.quo(db)
		case '%':
			return da.rem(db)
		}
	}
	switch op {
	case '+':
		if sa, ok := a.(string); ok {
			if sb, ok := b.(string); ok {
				if err := checkLen(len(sa) + len(sb)); err != nil {
					return nil, err
				}
			}
		}
		return runtime.Add(a, b), nil
	case '-':
		return runtime.Subtract(a, b), nil
	case '*':
		return runtime.Multiply(a, b), nil
	case '/':
		return runtime.Divide(a, b), nil
	case '%':
		return runtime.Modulo(a, b), nil
	default:
		return runtime.Exponent(a, b), nil
	}
}

// floatOrTypeError handles Decimal arithmetic with a NaN or infinite float
// (computed in float64) and reports any other operand as a type error.
func floatOrTypeError(op byte, a, b any) (any, error) {
	fa, aok := numberAsFloat(a)
	fb, bok := numberAsFloat(b)
	if aok && bok {
		switch op {
		case '+':
			return fa + fb, nil
		case '-':
			return fa - fb, nil
		case '*':
			return fa * fb, nil
		case '/':
			return fa / fb, nil
		case '%':
			return math.Mod(fa, fb), nil
		}
	}
	return nil, fmt.Errorf("invalid operation: %s %c %s", typeName(a), op, typeName(b))
}

// numberAsFloat converts a Decimal, integer or float to float64.
func numberAsFloat(x any) (float64, bool) {
	switch v := x.(type) {
	case *Decimal:
		return v.Float64(), true
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case int32:
		return float64(v), true
	case float64:
		return v, true
	case float32:
		return float64(v), true
	}
	return 0, false
}

// toFloat64 is numberAsFloat for operands already known to be numbers;
// anything else panics with a clear message (recovered by the VM).
func toFloat64(x any) float64 {
	if f, ok := numberAsFloat(x); ok {
		return f
	}
	panic(fmt.Sprintf("invalid operation: %s is not a number", typeName(x)))
}

// equal is == with Decimal support: a Decimal equals any number of the same
// value (1.50 == 1.5 and 2.0 == 2). NULL equals only NULL.
func equal(a, b any) bool {
	da, aDec := a.(*Decimal)
	db, bDec := b.(*Decimal)
	if aDec || bDec {
		if a == nil || b == nil {
			return false
		}
		if !aDec {
			var ok bool
			if da, ok = toDecimalOperand(a); !ok {
				return false
			}
		}
		if !bDec {
			var ok bool
			if db, ok = toDecimalOperand(b); !ok {
				return false
			}
		}
		return da.Cmp(db) == 0
	}
	return runtime.Equal(a, b)
}

// order implements < > <= >=. A comparison with NULL is false, as a SQL
// CASE treats an unknown condition.
func order(op string, a, b any) (any, error) {
	if a == nil || b == nil {
		return false, nil
	}
	_, aDec := a.(*Decimal)
	_, bDec := b.(*Decimal)
	if aDec || bDec {
		da, aok := toDecimalOperand(a)
		db, bok := toDecimalOperand(b)
		if !aok || !bok {
			// NaN or infinite floats compare as floats; other types are errors.
			fa, aok := numberAsFloat(a)
			fb, bok := numberAsFloat(b)
			if !aok || !bok {
				return nil, fmt.Errorf("invalid operation: %s %s %s", typeName(a), op, typeName(b))
			}
			return cmpResult(op, cmp.Compare(fa, fb), fa != fa || fb != fb), nil
		}
		return cmpResult(op, da.Cmp(db), false), nil
	}
	switch op {
	case "<":
		return runtime.Less(a, b), nil
	case ">":
		return runtime.More(a, b), nil
	case "<=":
		return runtime.LessOrEqual(a, b), nil
	default:
		return runtime.MoreOrEqual(a, b), nil
	}
}

func cmpResult(op string, c int, unordered bool) bool {
	if unordered {
		return false
	}
	switch op {
	case "<":
		return c < 0
	case ">":
		return c > 0
	case "<=":
		return c <= 0
	default:
		return c >= 0
	}
}

// negate implements unary minus: NULL stays NULL, Decimals negate exactly,
// anything else is expr's own negation.
func negate(a any) any {
	switch v := a.(type) {
	case nil:
		return nil
	case *Decimal:
		return v.neg()
	}
	return runtime.Negate(a)
}

// typeName names the type of an expression value for messages.
func typeName(x any) string {
	switch x.(type) {
	case nil:
		return "null"
	case *Decimal:
		return "numeric"
	case string:
		return "text"
	case int:
		return "integer"
	case float64:
		return "float"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "JSON object"
	case time.Time:
		return "timestamp"
	case []byte:
		return "bytes"
	}
	return fmt.Sprintf("%T", x)
}

// withArticle returns "a text", "an integer", "an array".
func withArticle(name string) string {
	if name != "" && strings.ContainsRune("aeiou", rune(name[0])) {
		return "an " + name
	}
	return "a " + name
}
