package password_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/password"
)

// fast are cheap parameters so that tests do not spend their time in argon2.
var fast = password.Params{Memory: 64, Time: 1, Threads: 1}

func hash(t *testing.T, h *password.Hasher, pw string) string {
	t.Helper()
	enc, err := h.Hash(context.Background(), pw)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	return enc
}

func TestPasswordRoundTrip(t *testing.T) {
	tests := []struct {
		name       string
		params     password.Params
		wantPrefix string
	}{
		{"small params", fast, "$argon2id$v=19$m=64,t=1,p=1$"},
		{"default params", password.DefaultParams, "$argon2id$v=19$m=19456,t=2,p=1$"},
		{"two lanes", password.Params{Memory: 128, Time: 2, Threads: 2}, "$argon2id$v=19$m=128,t=2,p=2$"},
	}
	shape := regexp.MustCompile(`^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := password.NewHasher(tt.params, 2)
			const pw = "correct horse battery staple ✓"
			enc := hash(t, h, pw)
			if !strings.HasPrefix(enc, tt.wantPrefix) || !shape.MatchString(enc) {
				t.Fatalf("Hash = %q, want %s<22 b64 salt>$<43 b64 hash>", enc, tt.wantPrefix)
			}

			// The encoding is real argon2id: recompute it independently from its salt.
			f := strings.Split(enc, "$")
			salt, _ := base64.RawStdEncoding.DecodeString(f[4])
			want := base64.RawStdEncoding.EncodeToString(argon2.IDKey([]byte(pw), salt, tt.params.Time, tt.params.Memory, tt.params.Threads, 32))
			if got := f[5]; got != want {
				t.Errorf("hash part = %s, want argon2id %s", got, want)
			}

			for _, c := range []struct {
				pw   string
				want bool
			}{{pw, true}, {pw + " ", false}, {strings.ToUpper(pw), false}, {"", false}, {pw[:len(pw)-1], false}} {
				got, err := h.Verify(context.Background(), enc, c.pw)
				if err != nil || got != c.want {
					t.Errorf("Verify(%q) = %v, %v; want %v, nil", c.pw, got, err, c.want)
				}
			}
			if other := hash(t, h, pw); other == enc {
				t.Error("two hashes of one password are equal: salt not random")
			}
		})
	}
}

func TestVerifyReadsParamsFromEncoding(t *testing.T) {
	enc := hash(t, password.NewHasher(password.Params{Memory: 128, Time: 2, Threads: 1}, 1), "a long enough password")
	other := password.NewHasher(fast, 1)
	if ok, err := other.Verify(context.Background(), enc, "a long enough password"); !ok || err != nil {
		t.Errorf("Verify with other Hasher params = %v, %v; want true, nil", ok, err)
	}
	if !other.NeedsRehash(enc) {
		t.Error("NeedsRehash = false for other params, want true")
	}
	if other.NeedsRehash(hash(t, other, "x")) {
		t.Error("NeedsRehash = true for own params, want false")
	}
}

func TestVerifyTamperedEncoding(t *testing.T) {
	h := password.NewHasher(fast, 1)
	const pw = "a long enough password"
	enc := hash(t, h, pw)
	f := strings.Split(enc, "$") // "", argon2id, v=19, m=64,t=1,p=1, salt, hash
	join := func(repl ...string) string {
		g := append([]string(nil), f...)
		for n := 0; n+1 < len(repl); n += 2 {
			switch repl[n] {
			case "alg":
				g[1] = repl[n+1]
			case "v":
				g[2] = repl[n+1]
			case "params":
				g[3] = repl[n+1]
			case "salt":
				g[4] = repl[n+1]
			case "hash":
				g[5] = repl[n+1]
			}
		}
		return strings.Join(g, "$")
	}
	flip := func(b64 string) string {
		b, _ := base64.RawStdEncoding.DecodeString(b64)
		b[0] ^= 1
		return base64.RawStdEncoding.EncodeToString(b)
	}

	truncate := func(b64 string, n int) string {
		b, _ := base64.RawStdEncoding.DecodeString(b64)
		return base64.RawStdEncoding.EncodeToString(b[:n])
	}

	t.Run("control", func(t *testing.T) {
		if ok, err := h.Verify(context.Background(), join(), pw); !ok || err != nil {
			t.Fatalf("Verify(untouched) = %v, %v; want true, nil", ok, err)
		}
	})

	mismatch := []struct{ name, enc string }{
		{"hash bit flipped", join("hash", flip(f[5]))},
		{"salt bit flipped", join("salt", flip(f[4]))},
		{"t changed", join("params", "m=64,t=2,p=1")},
		{"m changed", join("params", "m=72,t=1,p=1")},
		{"hash truncated to 16 bytes", join("hash", truncate(f[5], 16))},
	}
	for _, tt := range mismatch {
		t.Run(tt.name, func(t *testing.T) {
			if ok, err := h.Verify(context.Background(), tt.enc, pw); ok || err != nil {
				t.Errorf("Verify = %v, %v; want false, nil", ok, err)
			}
		})
	}

	malformed := []struct{ name, enc string }{
		{"empty", ""},
		{"argon2i", join("alg", "argon2i")},
		{"argon2d", join("alg", "argon2d")},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"version 16", join("v", "v=16")},
		{"version missing", strings.Replace(enc, "$v=19", "", 1)},
		{"params reordered", join("params", "t=1,m=64,p=1")},
		{"params missing p", join("params", "m=64,t=1")},
		{"params extra", join("params", "m=64,t=1,p=1,k=2")},
		{"m not a number", join("params", "m=abc,t=1,p=1")},
		{"m negative", join("params", "m=-64,t=1,p=1")},
		{"m with plus sign", join("params", "m=+64,t=1,p=1")},
		{"m leading zero", join("params", "m=064,t=1,p=1")},
		{"m below 8*p", join("params", "m=7,t=1,p=1")},
		{"m above 256 MiB", join("params", "m=262145,t=1,p=1")},
		{"m 4 GiB", join("params", "m=4194304,t=1,p=1")},
		{"m overflows uint32", join("params", "m=4294967296,t=1,p=1")},
		{"t zero", join("params", "m=64,t=0,p=1")},
		{"t above 10", join("params", "m=64,t=11,p=1")},
		{"p zero", join("params", "m=64,t=1,p=0")},
		{"p above 4", join("params", "m=64,t=1,p=5")},
		{"p above 255", join("params", "m=64,t=1,p=256")},
		{"salt not base64", join("salt", "!!!!")},
		{"salt padded", join("salt", f[4]+"==")},
		{"salt url alphabet", join("salt", strings.NewReplacer("+", "-", "/", "_").Replace(f[4])+"-_")},
		{"salt too short", join("salt", "AAAA")},
		{"salt empty", join("salt", "")},
		{"hash padded", join("hash", f[5]+"=")},
		{"hash empty", join("hash", "")},
		{"hash too short", join("hash", "AAAAAAAA")},
		{"trailing field", enc + "$x"},
		{"leading garbage", "x" + enc},
	}
	for _, tt := range malformed {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := h.Verify(context.Background(), tt.enc, pw)
			if ok || !clavis.IsKind(err, clavis.KindInternal) {
				t.Errorf("Verify(%q) = %v, %v; want false, internal error", tt.enc, ok, err)
			}
			if err != nil && strings.Contains(err.Error(), pw) {
				t.Errorf("error %q contains the password", err)
			}
			if !h.NeedsRehash(tt.enc) {
				t.Errorf("NeedsRehash(%q) = false, want true", tt.enc)
			}
		})
	}
}

func TestDummy(t *testing.T) {
	if err := password.NewHasher(fast, 1).Dummy(context.Background()); err != nil {
		t.Errorf("Dummy: %v", err)
	}
}

func TestHasherHonoursDoneContext(t *testing.T) {
	h := password.NewHasher(fast, 4) // free slots: only the context can stop the calls
	enc := hash(t, h, "a long enough password")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "a long enough password"); !errors.Is(err, context.Canceled) {
		t.Errorf("Hash with a cancelled ctx: %v, want context.Canceled", err)
	}
	if ok, err := h.Verify(ctx, enc, "a long enough password"); ok || !errors.Is(err, context.Canceled) {
		t.Errorf("Verify with a cancelled ctx: %v, %v; want false, context.Canceled", ok, err)
	}
	if err := h.Dummy(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Dummy with a cancelled ctx: %v, want context.Canceled", err)
	}
}

func TestNewHasherRejectsBadParams(t *testing.T) {
	for _, p := range []password.Params{
		{Memory: 256<<10 + 1, Time: 1, Threads: 1},
		{Memory: 64, Time: 11, Threads: 1},
		{Memory: 64, Time: 1, Threads: 5},
		{Memory: 15, Time: 1, Threads: 2},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewHasher(%+v) did not panic", p)
				}
			}()
			password.NewHasher(p, 1)
		}()
	}
}

func TestCheckPassword(t *testing.T) {
	const (
		tooShort = "password must be at least 12 characters"
		tooLong  = "password must be at most 256 characters"
		common   = "password is too common; choose a less predictable one"
		badUTF8  = "password must be valid UTF-8"
	)
	tests := []struct {
		name string
		pw   string
		want string // "" = accepted
	}{
		{"empty", "", tooShort},
		{"11 characters", "kq3v-Lz9w!x", tooShort},
		{"12 characters", "kq3v-Lz9w!xR", ""},
		{"256 characters", strings.Repeat("kq3v-Lz9", 32), ""},
		{"257 characters", strings.Repeat("kq3v-Lz9", 32) + "x", tooLong},
		{"12 two-byte code points (24 bytes)", strings.Repeat("é", 12), ""},
		{"11 three-byte code points (33 bytes)", strings.Repeat("日", 11), tooShort},
		{"12 four-byte code points", strings.Repeat("🔑", 12), ""},
		{"256 two-byte code points (512 bytes)", strings.Repeat("é", 256), ""},
		{"257 two-byte code points", strings.Repeat("é", 257), tooLong},
		{"combining marks count as code points", strings.Repeat("e\u0301", 6), ""},
		{"invalid UTF-8", "kq3v-Lz9w!xR\xff", badUTF8},
		{"password1234", "password1234", common},
		{"123456789012", "123456789012", common},
		{"qwertyuiop12", "qwertyuiop12", common},
		{"passwordpassword", "passwordpassword", common},
		{"upper case", "PASSWORD1234", common},
		{"mixed case", "PassWordPassWord", common},
		{"QwertyUiop12", "QwertyUiop12", common},
		{"common with extra character", "password1234x9", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := password.Check(tt.pw)
			if tt.want == "" {
				if err != nil {
					t.Errorf("Check = %v, want nil", err)
				}
				return
			}
			var e *clavis.Error
			if !errors.As(err, &e) {
				t.Fatalf("Check = %v, want *clavis.Error", err)
			}
			if e.Kind != clavis.KindInvalid || e.Message != tt.want || e.Fields["password"] != tt.want {
				t.Errorf("Check = {%v %q %v}, want {invalid %q map[password:%q]}", e.Kind, e.Message, e.Fields, tt.want, tt.want)
			}
		})
	}
}

// TestCommonPasswordList checks the embedded list itself and that Check refuses every entry.
func TestCommonPasswordList(t *testing.T) {
	f, err := os.Open("common_passwords.txt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() }) // read-only
	seen := map[string]bool{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		pw := s.Text()
		switch {
		case pw != strings.TrimSpace(pw) || pw == "":
			t.Errorf("entry %q has surrounding space or is empty", pw)
		case pw != strings.ToLower(pw):
			t.Errorf("entry %q is not lower case", pw)
		case utf8.RuneCountInString(pw) < 12:
			t.Errorf("entry %q is shorter than 12 and so unreachable", pw)
		case seen[pw]:
			t.Errorf("entry %q is duplicated", pw)
		}
		seen[pw] = true
		for _, v := range []string{pw, strings.ToUpper(pw), strings.ToUpper(pw[:1]) + pw[1:]} {
			if err := password.Check(v); !clavis.IsKind(err, clavis.KindInvalid) {
				t.Errorf("Check(%q) = %v, want invalid", v, err)
			}
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	for _, must := range []string{"password1234", "123456789012", "qwertyuiop12", "passwordpassword"} {
		if !seen[must] {
			t.Errorf("list lacks %q (spec §2.6)", must)
		}
	}
	if got, want := len(seen), 300; got < want {
		t.Errorf("list has %d entries, want at least %d", got, want)
	}
}

func BenchmarkPasswordHashDefault(b *testing.B) {
	h := password.NewHasher(password.DefaultParams, 1)
	for b.Loop() {
		if _, err := h.Hash(context.Background(), "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
