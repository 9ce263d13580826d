package queue

import (
	"context"
	"slices"
	"testing"

	redisstate "github.com/countydatasync/countysync/internal/state/redis"
	"github.com/countydatasync/countysync/internal/testsvc"
)

// TestClaimFormats drives the render claims of three export tasks of one
// dataset on the workers' real Redis locks: the first takes every pending
// format, a second whose format is taken gets none, a retry of the first
// (same task id) takes its claims back, and released claims are free.
func TestClaimFormats(t *testing.T) {
	ctx := context.Background()
	store, err := redisstate.Open(ctx, testsvc.Redis(t), testsvc.RandomName("claims"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	h := &Handlers{Locks: RedisLocker{Store: store}}
	const job, ds = "etl_20260101_000000", "parcels"
	pending := []string{"sqlite", "csv", "json", "geojson"}
	owner := func(f string) string { return exportID(job, ds, f) }

	first, err := h.claimFormats(ctx, job, ds, owner("csv"), "csv", pending)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"csv", "sqlite", "json", "geojson"}; !slices.Equal(first.formats, want) {
		t.Fatalf("first task claimed %v, want %v (its own format first)", first.formats, want)
	}
	second, err := h.claimFormats(ctx, job, ds, owner("json"), "json", pending)
	if err != nil {
		t.Fatal(err)
	}
	if len(second.formats) != 0 {
		t.Fatalf("task of a claimed format claimed %v, want none", second.formats)
	}
	retry, err := h.claimFormats(ctx, job, ds, owner("csv"), "csv", pending)
	if err != nil {
		t.Fatal(err)
	}
	if len(retry.formats) != 4 {
		t.Fatalf("a retry of the claiming task got %v, want its four claims back", retry.formats)
	}
	// Keep only json: the others are released and free for anyone.
	retry.keepOnly(func(f string) bool { return f == "json" })
	if !slices.Equal(retry.formats, []string{"json"}) {
		t.Fatalf("keepOnly left %v", retry.formats)
	}
	other, err := h.claimFormats(ctx, job, ds, owner("geojson"), "geojson", pending)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"geojson", "sqlite", "csv"}; !slices.Equal(other.formats, want) {
		t.Fatalf("after the release another task claimed %v, want %v (json still held)", other.formats, want)
	}
	// A task whose own format is recorded (own "") takes up what nobody
	// holds: here only json, which retry still holds, is left out.
	sweep, err := h.claimFormats(ctx, job, ds, owner("sqlite"), "", []string{"json", "geojson"})
	if err != nil {
		t.Fatal(err)
	}
	if len(sweep.formats) != 0 {
		t.Fatalf("sweep while json and geojson are held claimed %v, want none", sweep.formats)
	}
	other.release()
	sweep, err = h.claimFormats(ctx, job, ds, owner("sqlite"), "", []string{"json", "geojson"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sweep.formats, []string{"geojson"}) {
		t.Fatalf("sweep after geojson's release claimed %v, want [geojson]", sweep.formats)
	}
	sweep.release()
	retry.release()
	last, err := h.claimFormats(ctx, job, ds, owner("sqlite"), "sqlite", pending)
	if err != nil {
		t.Fatal(err)
	}
	defer last.release()
	if len(last.formats) != 4 {
		t.Fatalf("after every release a task claimed %v, want all four", last.formats)
	}
}
