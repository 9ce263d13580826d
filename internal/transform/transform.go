package transform

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/countydatasync/countysync/internal/record"
	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// Limits applied to every expression.
const (
	// MaxNodes bounds the size of an expression's syntax tree at compile
	// time (expr.MaxNodes).
	MaxNodes = 2000
	// MemoryBudget bounds, per evaluation, the elements of ranges, arrays,
	// maps and builtin results an expression may build (expr's VM memory
	// budget; 1..N counts N). It is what keeps loops such as
	// len(1..100000000 | map(# * 2)) from running for long.
	MemoryBudget = 1_000_000
)

// ErrBudgetExceeded is wrapped by the RowError of an evaluation that went
// over MemoryBudget or built a string longer than MaxStringLen.
var ErrBudgetExceeded = errors.New("expression exceeded its memory budget")

// env is the environment an expression runs in. Its field types are what
// the compiler knows of the names: value is of unknown type until run time,
// row is a map by column name.
type env struct {
	Value any            `expr:"value"`
	Row   map[string]any `expr:"row"`
}

// CompileError reports an expression that does not compile.
type CompileError struct {
	Column string // the transformed column
	Expr   string // the expression as configured
	Err    error  // what is wrong, with the position in the expression
}

func (e *CompileError) Error() string {
	return fmt.Sprintf("transformation of column %q: %v", e.Column, e.Err)
}

func (e *CompileError) Unwrap() error { return e.Err }

// CompileErrors is returned by Compile when several expressions fail, in
// column order. errors.As finds each *CompileError in it.
type CompileErrors []*CompileError

func (es CompileErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// Unwrap returns the individual errors.
func (es CompileErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// RowError reports a transformation that failed on one row: a runtime error
// in the expression (a type mismatch, division by zero, a panic), a budget
// exceeded (errors.Is(err, ErrBudgetExceeded)), or a result the column
// cannot hold.
type RowError struct {
	Column string // the transformed column
	Expr   string // the expression as configured
	Err    error
}

func (e *RowError) Error() string {
	return fmt.Sprintf("transformation of column %q (%s): %v", e.Column, e.Expr, e.Err)
}

func (e *RowError) Unwrap() error { return e.Err }

// exprError presents an expr error on one line, "message (line:column)",
// without expr's multi-line source snippet (the expression is already in
// the enclosing error). It unwraps to expr's *file.Error.
type exprError struct {
	err  *file.Error
	hint string // appended after the position
}

func (e *exprError) Error() string {
	msg := e.err.Message
	if e.err.Line != 0 {
		msg = fmt.Sprintf("%s (%d:%d)", msg, e.err.Line, e.err.Column+1)
	}
	return msg + e.hint
}

func (e *exprError) Unwrap() error { return e.err }

// wrapExprError makes expr's errors readable: one line, "unknown function"
// for calls of unknown names, and ErrBudgetExceeded for the VM's budget.
func wrapExprError(err error, src string) error {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return err
	}
	if strings.Contains(fe.Message, "memory budget exceeded") {
		return fmt.Errorf("%w (%d:%d)", ErrBudgetExceeded, fe.Line, fe.Column+1)
	}
	if name, ok := strings.CutPrefix(fe.Message, "unknown name "); ok {
		if isCallAt(src, fe.From, name) {
			c := *fe
			c.Message = "unknown function " + name
			return &exprError{err: &c}
		}
		return &exprError{err: fe, hint: " (an expression knows value, row and the functions)"}
	}
	return &exprError{err: fe}
}

// isCallAt reports whether the identifier name at rune offset from in src
// is followed by "(".
func isCallAt(src string, from int, name string) bool {
	runes := []rune(src)
	if from < 0 || from > len(runes) {
		return false
	}
	rest := strings.TrimLeft(string(runes[from:]), " \t\r\n")
	rest, ok := strings.CutPrefix(rest, name)
	return ok && strings.HasPrefix(strings.TrimLeft(rest, " \t\r\n"), "(")
}

// program is one compiled expression.
type program struct {
	column   string
	src      string
	prog     *vm.Program
	allRow   bool     // uses row in a way that needs every column
	rowNames []string // the row.name references, if not allRow
	usesRow  bool
}

// Set is the compiled transformations of one dataset. It does not depend on
// the schema; Bind it to the columns of a query to apply it. A Set is
// immutable and safe for concurrent use.
type Set struct {
	progs []*program // sorted by column
}

// Compile compiles the expressions of one dataset, a map from column name
// to expression. It reports every expression that fails: one failure as a
// *CompileError, several as CompileErrors in column order. An empty or nil
// map gives an empty Set that changes nothing.
func Compile(exprs map[string]string) (*Set, error) {
	cols := make([]string, 0, len(exprs))
	for c := range exprs {
		cols = append(cols, c)
	}
	sort.Strings(cols)
	s := &Set{}
	var errs CompileErrors
	for _, col := range cols {
		p, err := compileOne(col, exprs[col])
		if err != nil {
			errs = append(errs, &CompileError{Column: col, Expr: exprs[col], Err: err})
			continue
		}
		s.progs = append(s.progs, p)
	}
	switch len(errs) {
	case 0:
		return s, nil
	case 1:
		return nil, errs[0]
	}
	return nil, errs
}

func compileOne(col, src string) (p *program, err error) {
	if col == "" {
		return nil, errors.New("empty column name")
	}
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("empty expression")
	}
	defer func() {
		// expr reports most problems as errors, but a bad option or a bug
		// in a patcher panics; never let that take the process down.
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("cannot compile: %v", r)
		}
	}()
	patcher := &dynPatcher{}
	opts := make([]expr.Option, 0, len(libraryOptions)+4)
	opts = append(opts, expr.Env(env{}), expr.AsAny(), expr.MaxNodes(MaxNodes))
	opts = append(opts, libraryOptions...)
	opts = append(opts, expr.Patch(patcher))
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, wrapExprError(err, src)
	}
	p = &program{column: col, src: src, prog: prog, allRow: patcher.allRow(), usesRow: patcher.rowIdents > 0}
	if !p.allRow {
		p.rowNames = dedupe(patcher.rowNames)
	}
	return p, nil
}

func dedupe(names []string) []string {
	sort.Strings(names)
	out := names[:0]
	for i, n := range names {
		if i == 0 || n != names[i-1] {
			out = append(out, n)
		}
	}
	return out
}

// Columns returns the transformed columns, sorted.
func (s *Set) Columns() []string {
	if s == nil {
		return nil
	}
	out := make([]string, len(s.progs))
	for i, p := range s.progs {
		out[i] = p.column
	}
	return out
}

// Len returns the number of transformed columns.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.progs)
}

// Bound is a Set bound to the columns of one query result. It is safe for
// concurrent use: each Apply call takes its own evaluation state from a pool.
type Bound struct {
	width   int
	items   []boundItem
	convert []int      // columns whose values the expressions read
	rowCols []rowEntry // columns supplied in row, nil if no expression uses row
	usesRow bool
	pool    sync.Pool // of *state
}

type boundItem struct {
	p     *program
	col   int
	kind  record.Kind
	needs []int // columns to convert for this expression, value's first
}

type rowEntry struct {
	name string
	col  int
}

// state is the per-evaluation scratch space of a Bound.
type state struct {
	vm      vm.VM
	env     env
	vals    []any          // converted column values, by column
	done    []bool         // vals[i] is current
	results []record.Value // by item
}

// Bind checks the Set against the schema of a query result and prepares it
// for Apply. Every transformed column, and every column an expression names
// as row.name or row["name"], must be in the schema; the error names the
// transformation and the missing column. The returned schema is the output
// schema: a copy of the input, since a transformation keeps its column's
// kind (results are converted back to it). A nil Set binds to a Bound that
// changes nothing.
func (s *Set) Bind(schema *record.Schema) (*Bound, *record.Schema, error) {
	if schema == nil {
		return nil, nil, errors.New("transform: Bind needs a schema")
	}
	b := &Bound{width: len(schema.Columns)}
	rowNeeded := map[int]bool{}
	allRow := false
	if s != nil {
		for _, p := range s.progs {
			col, err := schema.MustIndex(p.column)
			if err != nil {
				return nil, nil, fmt.Errorf("transformation of column %q: %w", p.column, err)
			}
			it := boundItem{p: p, col: col, kind: schema.Columns[col].Kind, needs: []int{col}}
			if p.usesRow {
				b.usesRow = true
			}
			if p.allRow {
				allRow = true
				for i := range schema.Columns {
					it.needs = append(it.needs, i)
				}
			}
			for _, name := range p.rowNames {
				i, err := schema.MustIndex(name)
				if err != nil {
					return nil, nil, fmt.Errorf("transformation of column %q: row.%s: %w", p.column, name, err)
				}
				rowNeeded[i] = true
				it.needs = append(it.needs, i)
			}
			b.items = append(b.items, it)
		}
	}
	if b.usesRow {
		for i, c := range schema.Columns {
			if allRow || rowNeeded[i] {
				b.rowCols = append(b.rowCols, rowEntry{name: c.Name, col: i})
			}
		}
	}
	nItems, width := len(b.items), b.width
	b.pool.New = func() any {
		st := &state{
			vals:    make([]any, width),
			done:    make([]bool, width),
			results: make([]record.Value, nItems),
		}
		st.vm.MemoryBudget = MemoryBudget
		if len(b.rowCols) > 0 {
			st.env.Row = make(map[string]any, len(b.rowCols))
		} else if b.usesRow {
			st.env.Row = map[string]any{}
		}
		return st
	}
	return b, schema.Clone(), nil
}

// Apply evaluates every transformation on row, all of them seeing the row
// as it was given (value and row hold the values before any transformation
// of this row), and then replaces the transformed columns with the results.
// On error the row is left unchanged and the error is a *RowError naming
// the column and the expression. Apply never panics on account of an
// expression.
func (b *Bound) Apply(row record.Row) (err error) {
	if b == nil || len(b.items) == 0 {
		return nil
	}
	if len(row) != b.width {
		return fmt.Errorf("transform: row has %d values, the bound schema %d columns", len(row), b.width)
	}
	st := b.pool.Get().(*state)
	cur := -1
	defer func() {
		if r := recover(); r != nil {
			it := b.items[max(cur, 0)]
			err = &RowError{Column: it.p.column, Expr: it.p.src, Err: fmt.Errorf("panic: %v", r)}
			st = nil // do not reuse a state in an unknown condition
		}
		if st != nil {
			st.env.Value = nil
			clear(st.env.Row)
			clear(st.vals)
			clear(st.done)
			clear(st.results)
			b.pool.Put(st)
		}
	}()
	for k := range b.items {
		cur = k
		it := &b.items[k]
		for _, i := range it.needs {
			if st.done[i] {
				continue
			}
			v, err := toExpr(&row[i])
			if err != nil {
				return &RowError{Column: it.p.column, Expr: it.p.src,
					Err: fmt.Errorf("reading column %q: %w", columnName(b, i, it), err)}
			}
			st.vals[i], st.done[i] = v, true
		}
	}
	if b.usesRow {
		for _, e := range b.rowCols {
			st.env.Row[e.name] = st.vals[e.col]
		}
	}
	for k := range b.items {
		cur = k
		it := &b.items[k]
		st.env.Value = st.vals[it.col]
		out, err := st.vm.Run(it.p.prog, &st.env)
		if err != nil {
			return &RowError{Column: it.p.column, Expr: it.p.src, Err: wrapExprError(err, it.p.src)}
		}
		v, err := fromExpr(out, it.kind)
		if err != nil {
			return &RowError{Column: it.p.column, Expr: it.p.src, Err: err}
		}
		st.results[k] = v
	}
	for k := range b.items {
		row[b.items[k].col] = st.results[k]
	}
	return nil
}

// columnName names column i for messages; the Bound keeps names only for
// row columns and transformed columns.
func columnName(b *Bound, i int, it *boundItem) string {
	if i == it.col {
		return it.p.column
	}
	for _, e := range b.rowCols {
		if e.col == i {
			return e.name
		}
	}
	return fmt.Sprintf("#%d", i+1)
}
