package pipeline

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/countydatasync/countysync/internal/state"
	statefile "github.com/countydatasync/countysync/internal/state/file"
	redisstate "github.com/countydatasync/countysync/internal/state/redis"
	"github.com/countydatasync/countysync/internal/testsvc"
)

// TestClaimFormats drives the render claims of three render steps of one
// dataset on each state store's locks: the first takes every pending
// format, a second whose format is taken gets none, a retry of the first
// (same owner) takes its claims back, and released claims are free.
func TestClaimFormats(t *testing.T) {
	t.Run("file", func(t *testing.T) {
		st, err := statefile.Open(filepath.Join(t.TempDir(), "state.json"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		testClaimFormats(t, st)
	})
	t.Run("redis", func(t *testing.T) {
		url := testsvc.Redis(t)
		st, err := redisstate.Open(context.Background(), url, testsvc.RedisPrefix(t, url, "claims"), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		testClaimFormats(t, st)
	})
}

func testClaimFormats(t *testing.T, st state.Store) {
	ctx := context.Background()
	const job, ds = "etl_20260101_000000", "parcels"
	pending := []string{"sqlite", "csv", "json", "geojson"}
	owner := func(f string) string { return job + ":render:" + ds + ":" + f }
	claimOf := func(own string, owner string, pending []string) *claim {
		t.Helper()
		c, err := claimFormats(ctx, st, job, ds, owner, own, pending)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	first := claimOf("csv", owner("csv"), pending)
	if want := []string{"csv", "sqlite", "json", "geojson"}; !slices.Equal(first.formats, want) {
		t.Fatalf("first step claimed %v, want %v (its own format first)", first.formats, want)
	}
	if second := claimOf("json", owner("json"), pending); len(second.formats) != 0 {
		t.Fatalf("step of a claimed format claimed %v, want none", second.formats)
	}
	retry := claimOf("csv", owner("csv"), pending)
	if len(retry.formats) != 4 {
		t.Fatalf("a retry of the claiming step got %v, want its four claims back", retry.formats)
	}
	// Keep only json: the others are released and free for anyone.
	retry.keepOnly(ctx, func(f string) bool { return f == "json" })
	if !slices.Equal(retry.formats, []string{"json"}) {
		t.Fatalf("keepOnly left %v", retry.formats)
	}
	other := claimOf("geojson", owner("geojson"), pending)
	if want := []string{"geojson", "sqlite", "csv"}; !slices.Equal(other.formats, want) {
		t.Fatalf("after the release another step claimed %v, want %v (json still held)", other.formats, want)
	}
	// A step whose own format is recorded (own "") takes up what nobody
	// holds: here nothing, json and geojson being held.
	if sweep := claimOf("", owner("sqlite"), []string{"json", "geojson"}); len(sweep.formats) != 0 {
		t.Fatalf("sweep while json and geojson are held claimed %v, want none", sweep.formats)
	}
	other.release(ctx)
	sweep := claimOf("", owner("sqlite"), []string{"json", "geojson"})
	if !slices.Equal(sweep.formats, []string{"geojson"}) {
		t.Fatalf("sweep after geojson's release claimed %v, want [geojson]", sweep.formats)
	}
	sweep.release(ctx)
	retry.release(ctx)
	last := claimOf("sqlite", owner("sqlite"), pending)
	defer last.release(ctx)
	if len(last.formats) != 4 {
		t.Fatalf("after every release a step claimed %v, want all four", last.formats)
	}
}
