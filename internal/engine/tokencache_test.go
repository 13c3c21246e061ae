package engine

import (
	"strconv"
	"testing"
	"time"

	"clavis.dev/clavis/internal/token"
)

func TestTokenCache(t *testing.T) {
	c := newTokenCache(2, 5*time.Second)
	now := time.Unix(1000, 0)
	c.put("a", &token.Claims{ID: "a", Expires: 1010})
	if got := c.get("a", now); got == nil || got.ID != "a" {
		t.Fatalf("get a = %v, want the cached claims", got)
	}
	if got := c.get("b", now); got != nil {
		t.Fatalf("get of an unknown token = %v, want nil", got)
	}
	if got := c.get("a", time.Unix(1015, 0)); got == nil {
		t.Fatalf("a token within its leeway must stay cached")
	}
	if got := c.get("a", time.Unix(1016, 0)); got != nil {
		t.Fatalf("an expired token must not be served from the cache")
	}
	if got := c.get("a", now); got != nil {
		t.Fatalf("an expired entry must be dropped")
	}
	for i := range 10 {
		c.put(strconv.Itoa(i), &token.Claims{Expires: 2000})
	}
	if n := len(c.m); n > 2 {
		t.Fatalf("cache holds %d entries, want at most 2", n)
	}
}
