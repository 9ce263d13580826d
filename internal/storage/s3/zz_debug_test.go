package s3_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/countydatasync/countysync/internal/storage"
)

func race(t *testing.T, sizes func(i int) int) {
	st := open(t)
	ctx := context.Background()
	bad := 0
	for round := 0; round < 10; round++ {
		key := fmt.Sprintf("r%d", round)
		const n = 8
		paths := make([]string, n)
		for i := range paths {
			paths[i], _ = writeRandom(t, st.WorkDir(), sizes(i))
		}
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range paths {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = st.Put(ctx, key, paths[i], true) }()
		}
		wg.Wait()
		wins := 0
		for i, err := range errs {
			if err == nil {
				wins++
				t.Logf("round %d winner %d", round, i)
			} else if !errors.Is(err, storage.ErrExists) {
				t.Errorf("err %v", err)
			}
		}
		if wins != 1 {
			bad++
		}
	}
	t.Logf("bad rounds: %d/10", bad)
}

func TestZZSingle(t *testing.T) { race(t, func(int) int { return 1024 }) }
func TestZZMulti(t *testing.T)  { race(t, func(int) int { return 17 << 20 }) }
func TestZZMixed(t *testing.T) {
	race(t, func(i int) int {
		if i%4 == 0 {
			return 17 << 20
		}
		return 1024
	})
}
