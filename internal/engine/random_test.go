package engine

import (
	"math"
	"strings"
	"testing"
)

// TestRandomStringUnbiased draws many characters from alphabets whose size does not divide 256 and
// checks each character's frequency with a chi-square test; modulo bias would fail it.
func TestRandomStringUnbiased(t *testing.T) {
	for name, alphabet := range charsets {
		const n = 200_000
		s, err := randomString(n, alphabet)
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != n {
			t.Fatalf("%s: length %d, want %d", name, len(s), n)
		}
		counts := map[byte]int{}
		for _, c := range s {
			if !strings.ContainsRune(alphabet, rune(c)) {
				t.Fatalf("%s: %q not in the alphabet", name, c)
			}
			counts[c]++
		}
		k := float64(len(alphabet))
		expected := n / k
		chi := 0.0
		for i := 0; i < len(alphabet); i++ {
			d := float64(counts[alphabet[i]]) - expected
			chi += d * d / expected
		}
		// For k-1 degrees of freedom the statistic has mean k-1 and sd sqrt(2(k-1)); 6 sd is a failure
		// probability far below 1e-6 for a fair generator, while a 256-mod-k bias exceeds it by far.
		if limit := (k - 1) + 6*math.Sqrt(2*(k-1)); chi > limit {
			t.Fatalf("%s: chi-square %.1f exceeds %.1f: the draw is biased", name, chi, limit)
		}
	}
}

// TestRandomStringModuloBiasWouldBeCaught shows the test above has teeth: a modulo draw over 94 ascii
// characters fails it.
func TestRandomStringModuloBiasWouldBeCaught(t *testing.T) {
	alphabet := charsets["ascii"]
	const n = 200_000
	counts := make([]int, len(alphabet))
	for i := 0; i < n; i++ {
		counts[(i%256)%len(alphabet)]++ // the biased mapping a modulo draw would produce
	}
	k := float64(len(alphabet))
	chi := 0.0
	for _, c := range counts {
		d := float64(c) - n/k
		chi += d * d / (n / k)
	}
	if limit := (k - 1) + 6*math.Sqrt(2*(k-1)); chi <= limit {
		t.Fatalf("a biased draw passed the chi-square check (%.1f <= %.1f)", chi, limit)
	}
}
