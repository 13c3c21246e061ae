package engine

import (
	"crypto/rand"
	"fmt"
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
		if err := uniformityError(s, alphabet); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// TestUniformityCheckCatchesModuloBias shows that the check of TestRandomStringUnbiased has teeth: for
// every alphabet whose size does not divide 256, a draw of random bytes reduced modulo the alphabet
// size (the bias randomString avoids by rejecting the bytes above the largest multiple) fails it.
func TestUniformityCheckCatchesModuloBias(t *testing.T) {
	for name, alphabet := range charsets {
		if 256%len(alphabet) == 0 {
			continue // a modulo draw is fair for this alphabet
		}
		const n = 200_000
		raw := make([]byte, n)
		if _, err := rand.Read(raw); err != nil {
			t.Fatal(err)
		}
		biased := make([]byte, n)
		for i, b := range raw {
			biased[i] = alphabet[int(b)%len(alphabet)]
		}
		if err := uniformityError(biased, alphabet); err == nil {
			t.Errorf("%s: a modulo draw passed the uniformity check", name)
		}
	}
}

// uniformityError checks with a chi-square test that every character of alphabet is about equally
// frequent in s, and that s holds nothing else. For k-1 degrees of freedom the statistic has mean k-1
// and standard deviation sqrt(2(k-1)); the limit of 6 standard deviations fails a fair draw with a
// probability far below 1e-6, while a 256-mod-k bias exceeds it by far.
func uniformityError(s []byte, alphabet string) error {
	counts := map[byte]int{}
	for _, c := range s {
		if !strings.ContainsRune(alphabet, rune(c)) {
			return fmt.Errorf("%q not in the alphabet", c)
		}
		counts[c]++
	}
	k := float64(len(alphabet))
	expected := float64(len(s)) / k
	chi := 0.0
	for i := 0; i < len(alphabet); i++ {
		d := float64(counts[alphabet[i]]) - expected
		chi += d * d / expected
	}
	if limit := (k - 1) + 6*math.Sqrt(2*(k-1)); chi > limit {
		return fmt.Errorf("chi-square %.1f exceeds %.1f: the draw is biased", chi, limit)
	}
	return nil
}
