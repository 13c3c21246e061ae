// Package password hashes and verifies passwords with argon2id behind a bounded pool of concurrent
// computations, and enforces the password rules (length, common-password deny list) of spec §2.5–§2.6.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"clavis.dev/clavis"
)

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8  // lanes
}

// DefaultParams are the spec's defaults (§2.5): m = 19 MiB, t = 2, p = 1. It is never modified.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1}

// Bounds on parameters, applied both to a Hasher's own and to those read from a stored encoding, so that
// a tampered row cannot make Verify allocate or compute much beyond a sane configuration (RFC 9106's
// second recommended option is m = 64 MiB, t = 3, p = 4). A stored hash outside them is refused as
// corrupt, never computed.
const (
	maxMemory  = 256 << 10 // KiB (256 MiB)
	maxTime    = 10
	maxThreads = 4
	saltLen    = 16
	hashLen    = 32
)

// b64Std is the PHC string encoding: standard base64 without padding, canonical.
var b64Std = base64.RawStdEncoding.Strict()

// errMalformedHash is the cause returned (wrapped in clavis.Internal) for an unusable stored hash.
var errMalformedHash = errors.New("password: malformed password hash")

// Hasher hashes and verifies passwords with argon2id. At most maxConcurrent computations run at once,
// so a login flood cannot exhaust memory; callers beyond that wait until a slot frees or their ctx ends.
// A Hasher is safe for concurrent use.
type Hasher struct {
	params Params
	sem    chan struct{}
	// derive computes the argon2id key; tests replace it to observe concurrency.
	derive func(password, salt []byte, p Params, keyLen uint32) []byte
}

// NewHasher returns a Hasher that hashes with p and runs at most maxConcurrent computations at once
// (runtime.NumCPU() when maxConcurrent <= 0). Zero fields of p take DefaultParams' values.
// It panics if p.Memory exceeds 256 MiB, p.Time exceeds 10, p.Threads exceeds 4 or p.Memory < 8*p.Threads:
// a wiring error.
func NewHasher(p Params, maxConcurrent int) *Hasher {
	if p.Memory == 0 {
		p.Memory = DefaultParams.Memory
	}
	if p.Time == 0 {
		p.Time = DefaultParams.Time
	}
	if p.Threads == 0 {
		p.Threads = DefaultParams.Threads
	}
	if !p.valid() {
		panic(fmt.Sprintf("password: NewHasher: argon2id parameters out of range: %+v", p))
	}
	if maxConcurrent <= 0 {
		maxConcurrent = runtime.NumCPU()
	}
	return &Hasher{params: p, sem: make(chan struct{}, maxConcurrent), derive: argon2id}
}

func (p Params) valid() bool {
	return p.Threads >= 1 && p.Threads <= maxThreads && p.Time >= 1 && p.Time <= maxTime &&
		p.Memory >= 8*uint32(p.Threads) && p.Memory <= maxMemory
}

func argon2id(password, salt []byte, p Params, keyLen uint32) []byte {
	return argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, keyLen)
}

// acquire takes a computation slot, or returns ctx.Err() if ctx ends first (or has already ended).
func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.sem }

// Hash returns the PHC-style encoding $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash> of
// password with a fresh 16-byte salt and a 32-byte output (salt and hash in standard base64 without
// padding). It returns ctx.Err() if ctx ends while waiting for a slot; a started computation is not
// interrupted.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", clavis.Internal(fmt.Errorf("password: password salt: %w", err))
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	sum := h.derive([]byte(password), salt, h.params, hashLen)
	h.release()
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.params.Memory, h.params.Time,
		h.params.Threads, b64Std.EncodeToString(salt), b64Std.EncodeToString(sum)), nil
}

// Verify reports whether password matches encoded (as made by Hash, with the parameters written in it),
// comparing in constant time. A wrong password is (false, nil). An encoding that is not a well-formed
// argon2id v19 hash within the parameter bounds is a *clavis.Error of KindInternal. It returns ctx.Err()
// if ctx ends while waiting for a slot.
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (bool, error) {
	p, salt, want, ok := parsePHC(encoded)
	if !ok {
		return false, clavis.Internal(errMalformedHash)
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	got := h.derive([]byte(password), salt, p, uint32(len(want))) // #nosec G115 -- parsePHC returns at most 64 bytes
	h.release()
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// NeedsRehash reports whether encoded was made with parameters other than the Hasher's (or is not a
// well-formed hash), so that a caller holding the plaintext after a successful login may re-hash it.
func (h *Hasher) NeedsRehash(encoded string) bool {
	p, salt, sum, ok := parsePHC(encoded)
	return !ok || p != h.params || len(salt) != saltLen || len(sum) != hashLen
}

// dummySalt salts Dummy's computation (saltLen bytes); its value is irrelevant.
const dummySalt = "clavis-dummysalt"

// Dummy performs one computation of the Hasher's cost with nothing to compare, so that a login for an
// unknown account takes as long as one for a known account. It returns ctx.Err() if ctx ends while
// waiting for a slot.
func (h *Hasher) Dummy(ctx context.Context) error {
	if err := h.acquire(ctx); err != nil {
		return err
	}
	h.derive([]byte("clavis-dummy-password"), []byte(dummySalt), h.params, hashLen)
	h.release()
	return nil
}

// parsePHC decodes $argon2id$v=19$m=M,t=T,p=P$salt$hash strictly.
func parsePHC(s string) (p Params, salt, sum []byte, ok bool) {
	f := strings.Split(s, "$")
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" || f[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, false
	}
	ps := strings.Split(f[3], ",")
	if len(ps) != 3 {
		return p, nil, nil, false
	}
	m, ok1 := phcUint(ps[0], "m=", 32)
	t, ok2 := phcUint(ps[1], "t=", 32)
	l, ok3 := phcUint(ps[2], "p=", 8)
	p = Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(l)} // #nosec G115 -- phcUint parsed each at that bit size
	if !ok1 || !ok2 || !ok3 || !p.valid() {
		return p, nil, nil, false
	}
	salt, err1 := b64Std.DecodeString(f[4])
	sum, err2 := b64Std.DecodeString(f[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(salt) > 64 || len(sum) < 16 || len(sum) > 64 {
		return p, nil, nil, false
	}
	return p, salt, sum, true
}

// phcUint parses name followed by a decimal without sign or leading zeros.
func phcUint(s, name string, bits int) (uint64, bool) {
	d, ok := strings.CutPrefix(s, name)
	if !ok || d == "" || len(d) > 1 && d[0] == '0' || strings.ContainsAny(d, "+-_") {
		return 0, false
	}
	v, err := strconv.ParseUint(d, 10, bits)
	return v, err == nil
}

// Password length bounds in Unicode code points (spec §2.6).
const (
	minPasswordLen = 12
	maxPasswordLen = 256
)

// commonPasswords is the embedded deny list: one lower-case password per line.
//
//go:embed common_passwords.txt
var commonPasswords string

// Check enforces the password rules of spec §2.6: valid UTF-8, 12 to 256 Unicode code points,
// and not in the embedded list of common passwords (compared case-insensitively). A violation is
// clavis.Invalid("password", msg) with a message that says which rule failed.
func Check(pw string) error {
	if !utf8.ValidString(pw) {
		return clavis.Invalid("password", "password must be valid UTF-8")
	}
	switch n := utf8.RuneCountInString(pw); {
	case n < minPasswordLen:
		return clavis.Invalid("password", fmt.Sprintf("password must be at least %d characters", minPasswordLen))
	case n > maxPasswordLen:
		return clavis.Invalid("password", fmt.Sprintf("password must be at most %d characters", maxPasswordLen))
	}
	if isCommonPassword(pw) {
		return clavis.Invalid("password", "password is too common; choose a less predictable one")
	}
	return nil
}

func isCommonPassword(pw string) bool {
	for line := range strings.Lines(commonPasswords) {
		if strings.EqualFold(strings.TrimRight(line, "\r\n"), pw) {
			return true
		}
	}
	return false
}
