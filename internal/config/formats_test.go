package config

import (
	"strings"
	"testing"
)

// gpkg is accepted but opt-in: the defaults leave it out, and like geojson
// it only goes to datasets with a geometry column.
func TestFormatsGPKG(t *testing.T) {
	const datasets = `datasets:
  - name: parcels
    query: q
    geometry: {column: geom}
  - name: permits
    query: q
`
	for _, tc := range []struct {
		name, top        string
		parcels, permits string
	}{
		{"no formats anywhere", "", "sqlite,csv,json,geojson", "sqlite,csv,json"},
		{"top-level list with gpkg", "formats: [gpkg, csv]\n", "gpkg,csv", "csv"},
		{"top-level list of every format", "formats: [sqlite, csv, json, geojson, gpkg]\n", "sqlite,csv,json,geojson,gpkg", "sqlite,csv,json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("cs.yaml", []byte("source: {url: \"sqlite://c.db\"}\n"+tc.top+datasets), env(nil))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(cfg.Dataset("parcels").Formats, ","); got != tc.parcels {
				t.Errorf("parcels formats = %s, want %s", got, tc.parcels)
			}
			if got := strings.Join(cfg.Dataset("permits").Formats, ","); got != tc.permits {
				t.Errorf("permits formats = %s, want %s", got, tc.permits)
			}
		})
	}
	cfg, err := Parse("cs.yaml", []byte("source: {url: \"sqlite://c.db\"}\ndatasets:\n  - name: parcels\n    query: q\n    geometry: {column: geom}\n    formats: [gpkg]\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.Dataset("parcels").Formats, ","); got != "gpkg" {
		t.Errorf("dataset formats = %s, want gpkg", got)
	}
}

// A name GeoPackage reserves is fine for the other formats (see
// TestParseErrors for gpkg).
func TestFormatsReservedNameWithoutGPKG(t *testing.T) {
	yaml := "source: {url: \"sqlite://c.db\"}\ndatasets:\n  - name: gpkg_parcels\n    query: q\n    geometry: {column: g}\n"
	if _, err := Parse("cs.yaml", []byte(yaml), env(nil)); err != nil {
		t.Errorf("gpkg_parcels without gpkg: %v", err)
	}
}
