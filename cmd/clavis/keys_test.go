package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
	"clavis.dev/clavis/internal/engine"
	"clavis.dev/clavis/internal/keyring"
	"clavis.dev/clavis/internal/keyring/file"
	"clavis.dev/clavis/internal/store/sqlite"
)

func jwksKids(t *testing.T, url string) []string {
	t.Helper()
	res, err := http.Get(url + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc struct {
		Keys []struct{ Kid string } `json:"keys"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range doc.Keys {
		kids = append(kids, k.Kid)
	}
	return kids
}

func kidOf(t *testing.T, tok string) string {
	t.Helper()
	h, _, _ := strings.Cut(tok, ".")
	var hdr struct{ Kid string }
	b, err := base64URL(h)
	if err != nil || json.Unmarshal(b, &hdr) != nil {
		t.Fatalf("token header: %v", err)
	}
	return hdr.Kid
}

// TestRotateJWT rotates the signing key with `clavis keys rotate-jwt` while a server runs: the server
// switches to the new key, tokens signed before stay valid, and JWKS lists both keys.
func TestRotateJWT(t *testing.T) {
	ctx := context.Background()
	env := clavistest.New(t)
	u := env.Signup(t)
	before, err := env.Client().Login(ctx, u.Email, u.Password)
	if err != nil {
		t.Fatal(err)
	}
	oldKid := kidOf(t, string(before.AccessToken))
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"keys", "rotate-jwt", "--data-dir", filepath.Dir(env.DBPath)}, &out, &errOut); err != nil {
		t.Fatalf("rotate-jwt: %v\n%s", err, errOut.String())
	}
	// The running server learns the key when it meets a token signed with it (or within its refresh
	// interval): present one, minted by a second engine on the same database as another replica would,
	// and the server must sign with the new key from then on.
	rotated := mintOnSameDatabase(t, env, u.Email, u.Password)
	if _, err := env.Client().WithToken(rotated).Me(ctx); err != nil {
		t.Fatalf("a token signed with the rotated key must work on the running server: %v", err)
	}
	tok, err := env.Client().Login(ctx, u.Email, u.Password)
	if err != nil {
		t.Fatal(err)
	}
	after := string(tok.AccessToken)
	newKid := kidOf(t, after)
	if newKid == oldKid || !strings.Contains(out.String(), newKid) || kidOf(t, rotated) != newKid {
		t.Fatalf("server still signs with %s after rotating to: %s", oldKid, out.String())
	}
	for _, tok := range []string{string(before.AccessToken), after} {
		if _, err := env.Client().WithToken(tok).Me(ctx); err != nil {
			t.Fatalf("a token signed before or after the rotation must work: %v", err)
		}
	}
	kids := jwksKids(t, env.URL)
	if len(kids) != 2 || kids[0] != newKid || kids[1] != oldKid {
		t.Fatalf("JWKS kids = %v, want [new old] = [%s %s]", kids, newKid, oldKid)
	}
}

// mintOnSameDatabase logs in with a second engine over env's database and root key, as another replica
// would, and returns the access token it signs (with the newest signing key in the database).
func mintOnSameDatabase(t *testing.T, env *clavistest.Env, email, password string) string {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, env.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	root, err := file.Open(filepath.Join(env.DataDir, "root.key"), false)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(ctx, st, keyring.New(root, keyring.Options{}), engine.Config{Issuer: env.URL,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), ExistingKeysOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	tok, err := eng.Login(ctx, email, password, netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	return string(tok.AccessToken)
}

func base64URL(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

// TestRotateVaultCommand rotates a vault's key and rewraps it with the CLI while the server runs.
func TestRotateVaultCommand(t *testing.T) {
	ctx := context.Background()
	env := clavistest.New(t)
	u := env.Signup(t)
	v, err := u.C.CreateVault(ctx, clavis.VaultInput{Name: "v"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.C.PutSecret(ctx, v.ID, "k", clavis.SecretInput{Value: "before"}); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	dir := filepath.Dir(env.DBPath)
	sink := filepath.Join(t.TempDir(), "operator.jsonl")
	if err := run(ctx, []string{"keys", "rotate-vault", "--data-dir", dir, "--vault", v.ID, "--rewrap",
		"--audit-sink", "file:" + sink}, &out, &errOut); err != nil {
		t.Fatalf("rotate-vault: %v\n%s", err, errOut.String())
	}
	lines, err := os.ReadFile(sink) // #nosec G304 -- a test temp file
	if err != nil || !strings.Contains(string(lines), `"action":"key.rotate_vault"`) ||
		!strings.Contains(string(lines), `"action":"key.rewrap_vault"`) || strings.Contains(string(lines), "before") {
		t.Fatalf("operator events in the sink: %v\n%s", err, lines)
	}
	if !strings.Contains(out.String(), "key version 2 is current") || !strings.Contains(out.String(), "1 versions re-encrypted") {
		t.Fatalf("rotate-vault output: %s", out.String())
	}
	if s, err := u.C.GetSecret(ctx, v.ID, "k"); err != nil || string(s.Value) != "before" {
		t.Fatalf("read after rotation and rewrap: %v", err)
	}
	if err := run(ctx, []string{"keys", "rewrap", "--data-dir", dir}, &out, &errOut); err == nil {
		t.Fatalf("rewrap without --vault must fail")
	}
}
