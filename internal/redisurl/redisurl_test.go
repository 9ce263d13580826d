package redisurl

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseSentinel(t *testing.T) {
	got, err := ParseSentinel("redis-sentinel://:s3cret@10.0.0.1:26379,10.0.0.2:26379/mymaster/3")
	want := &Sentinel{Addrs: []string{"10.0.0.1:26379", "10.0.0.2:26379"}, Master: "mymaster", Password: "s3cret", DB: 3}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, %v; want %+v", got, err, want)
	}
	got, err = ParseSentinel("redis-sentinel://h:1/m")
	if err != nil || got.DB != 0 || got.Master != "m" || got.Password != "" {
		t.Fatalf("got %+v, %v", got, err)
	}
	for _, bad := range []string{
		"redis-sentinel://:s3cret@h:1",        // no master
		"redis-sentinel://:s3cret@h:1/m/x",    // db not a number
		"redis-sentinel://:s3cret@h:1/m/0/x",  // too deep
		"redis-sentinel://:s3cret@h:1/m?x=1",  // unknown query
		"redis-sentinel://:s3cret@h:1,,h:2/m", // empty address
		"redis://:s3cret@h:1/0",               // not sentinel
	} {
		_, err := ParseSentinel(bad)
		if err == nil {
			t.Errorf("%s: no error", bad)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the error shows the password: %v", bad, err)
		}
	}
}
