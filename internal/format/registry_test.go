package format

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/twpayne/go-geom"

	"github.com/countydatasync/countysync/internal/record"
)

func TestRegistry(t *testing.T) {
	if got, want := Names(), []string{"sqlite", "csv", "json", "geojson", "gpkg"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	// gpkg is opt-in.
	if got, want := DefaultNames(), []string{"sqlite", "csv", "json", "geojson"}; !slices.Equal(got, want) {
		t.Errorf("DefaultNames() = %v, want %v", got, want)
	}
	exts := map[string]string{}
	for _, s := range All() {
		if got, ok := Lookup(s.Name); !ok || got.Name != s.Name || got.Ext != s.Ext {
			t.Errorf("Lookup(%q) = %+v, %v", s.Name, got, ok)
		}
		if s.Ext == "" || Ext(s.Name) != s.Ext {
			t.Errorf("%s: Ext = %q, Ext(name) = %q", s.Name, s.Ext, Ext(s.Name))
		}
		if other, dup := exts[s.Ext]; dup {
			t.Errorf("%s and %s share the extension %q", other, s.Name, s.Ext)
		}
		exts[s.Ext] = s.Name
		if s.NeedsGeometry && s.WritesWKT {
			t.Errorf("%s: a format with its own geometry encoding does not write WKT", s.Name)
		}
	}
	if _, ok := Lookup("xlsx"); ok {
		t.Error("Lookup(xlsx) found a format")
	}
	if Ext("xlsx") != "" {
		t.Errorf("Ext(xlsx) = %q", Ext("xlsx"))
	}
	// All returns a copy: changing it does not change the registry.
	all := All()
	all[0].Name = "changed"
	if Names()[0] != "sqlite" {
		t.Error("All() shares the registry")
	}
}

// TestRegistryWritesWKT checks WritesWKT against the files: the formats
// that claim it contain the polygon's WKT, the others do not.
func TestRegistryWritesWKT(t *testing.T) {
	schema := &record.Schema{Columns: []record.Column{
		{Name: "id", Kind: record.Int},
		{Name: "geom", Kind: record.Geometry},
	}}
	g := geom.NewPolygon(geom.XY).MustSetCoords([][]geom.Coord{{{1, 2}, {3, 2}, {3, 4}, {1, 2}}})
	g.SetSRID(4326)
	const wkt = "POLYGON((1 2,3 2,3 4,1 2))"
	opts := Options{Dataset: "d", Schema: schema, KeyColumns: []string{"id"}, GeometryColumn: "geom"}
	for _, s := range All() {
		path := filepath.Join(t.TempDir(), "d."+s.Ext)
		w, err := New(s.Name, path, opts)
		if err != nil {
			t.Fatalf("New(%s): %v", s.Name, err)
		}
		if err := w.WriteRow(record.Row{record.IntValue(1), {Kind: record.Geometry, G: g}}); err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := bytes.Contains(b, []byte(wkt)); got != s.WritesWKT {
			t.Errorf("%s: file contains %s: %v, WritesWKT: %v", s.Name, wkt, got, s.WritesWKT)
		}
	}
}

func TestNewUnknownFormat(t *testing.T) {
	w, err := New("xlsx", filepath.Join(t.TempDir(), "a.xlsx"), fixtureOptions())
	if !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("New(xlsx): %v, want ErrUnknownFormat", err)
	}
	if w != nil {
		t.Errorf("New(xlsx) returned a writer: %#v", w)
	}
	// A failing constructor gives a nil Writer, not a typed nil pointer.
	opts := fixtureOptions()
	opts.GeometryColumn = ""
	if w, err := New("gpkg", filepath.Join(t.TempDir(), "a.gpkg"), opts); err == nil || w != nil {
		t.Errorf("New(gpkg) without a geometry column = %#v, %v", w, err)
	}
}
