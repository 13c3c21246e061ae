//go:build cgo

package pkcs11

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	p11 "github.com/miekg/pkcs11"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/keyring"
	"clavis.dev/clavis/internal/keyring/keyringtest"
)

// The tests run against SoftHSM2. SoftHSM reads SOFTHSM2_CONF at C_Initialize and a module is
// initialized once per process, so every test of the package shares one configuration, set up in
// TestMain: a temporary token directory. Each test creates its own token(s) with distinct labels
// (newToken), before it opens any provider on them.
//
// Environment:
//
//	CLAVIS_TEST_PKCS11_MODULE   path of the SoftHSM2 module (default: the Debian locations)
//	CLAVIS_REQUIRE_SOFTHSM=1    fail instead of skip when SoftHSM2 is missing (CI sets it)

const (
	testPIN   = "1234"
	testSOPIN = "5678"
)

var softhsm struct {
	module, util string // "" when skip is set
	skip         string
	dir          string
	tokens       atomic.Int64
}

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	module, util, reason := findSoftHSM()
	if reason != "" {
		softhsm.skip = reason
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "clavis-softhsm-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	conf := filepath.Join(dir, "softhsm2.conf")
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	body := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", tokens)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// Before any module is loaded, for the whole process.
	if err := os.Setenv("SOFTHSM2_CONF", conf); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	softhsm.module, softhsm.util, softhsm.dir = module, util, dir
	return m.Run()
}

// findSoftHSM locates the module and softhsm2-util, or says why not.
func findSoftHSM() (module, util, skip string) {
	const install = "SoftHSM2 not installed: apt-get install softhsm2"
	candidates := []string{"/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
		"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so", "/usr/local/lib/softhsm/libsofthsm2.so"}
	if env := os.Getenv("CLAVIS_TEST_PKCS11_MODULE"); env != "" {
		candidates = []string{env}
	}
	for _, c := range candidates {
		if fi, err := os.Stat(c); err == nil && fi.Mode().IsRegular() { // #nosec G703 -- known install paths or the tester's own setting
			module = c
			break
		}
	}
	if module == "" {
		return "", "", install + " (no libsofthsm2.so found; or set CLAVIS_TEST_PKCS11_MODULE)"
	}
	util, err := exec.LookPath("softhsm2-util")
	if err != nil {
		return "", "", install + " (softhsm2-util not in PATH)"
	}
	return module, util, ""
}

func requireSoftHSM(tb testing.TB) {
	tb.Helper()
	if softhsm.skip == "" {
		return
	}
	if os.Getenv("CLAVIS_REQUIRE_SOFTHSM") != "" {
		tb.Fatal(softhsm.skip + " (CLAVIS_REQUIRE_SOFTHSM is set)")
	}
	tb.Skip(softhsm.skip)
}

// token is an initialized SoftHSM token with its user PIN in a 0600 file.
type token struct {
	label   string
	pinFile string
}

// newToken initializes a fresh token labelled prefix (default "clavis-test") and a sequence number,
// unique within the process (so -count=N works). Call it before opening providers in the test.
func newToken(tb testing.TB, prefix string) token {
	tb.Helper()
	requireSoftHSM(tb)
	if prefix == "" {
		prefix = "clavis-test"
	}
	label := fmt.Sprintf("%s-%d", prefix, softhsm.tokens.Add(1))
	// #nosec G204 -- softhsm2-util found on PATH, with a generated label and the test PINs.
	out, err := exec.Command(softhsm.util, "--init-token", "--free", "--label", label, "--pin", testPIN, "--so-pin", testSOPIN).CombinedOutput()
	if err != nil {
		tb.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}
	return token{label: label, pinFile: writePIN(tb, testPIN)}
}

func writePIN(tb testing.TB, pin string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "pin")
	if err := os.WriteFile(path, []byte(pin+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// uri names object on tok with the given PIN file.
func (tok token) uri(object, pinFile string) string {
	return "pkcs11:token=" + escape(tok.label) + ";object=" + escape(object) +
		"?module-path=" + escape(softhsm.module) + "&pin-source=file:" + escape(pinFile)
}

func mustOpen(tb testing.TB, uri string, create bool) *Provider {
	tb.Helper()
	p, err := Open(uri, create)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := p.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return p
}

// withSession runs fn on a session of p's module, logged in to p's token.
func withSession(tb testing.TB, p *Provider, fn func(c *p11.Ctx, s p11.SessionHandle)) {
	tb.Helper()
	s, _, err := p.acquire(context.Background())
	if err != nil {
		tb.Fatalf("acquire: %v", err)
	}
	defer p.release(s, true)
	fn(p.mod.ctx, s)
}

func TestConformance(t *testing.T) {
	tok := newToken(t, "")
	var n atomic.Int64
	keyringtest.Run(t, func(t *testing.T) keyring.RootKey {
		// A new key per call, so that WrongKeyFails runs.
		return mustOpen(t, tok.uri(fmt.Sprintf("root-%d", n.Add(1)), tok.pinFile), true)
	})
}

func TestOpenMissingObjectFails(t *testing.T) {
	tok := newToken(t, "")
	p, err := Open(tok.uri("no-such-key", tok.pinFile), false)
	if err == nil {
		_ = p.Close() // the unexpected success is the finding
		t.Fatal("Open(create=false) of a missing object: no error")
	}
	if !strings.Contains(err.Error(), `no secret key object labelled "no-such-key"`) {
		t.Errorf("error = %q, want it to say the object is missing", err)
	}
	// Nothing was created.
	p = mustOpen(t, tok.uri("other", tok.pinFile), true)
	withSession(t, p, func(c *p11.Ctx, s p11.SessionHandle) {
		q := &Provider{mod: p.mod, uri: p.uri, tokenLabel: p.tokenLabel}
		q.uri.Object = "no-such-key"
		if hs, err := q.findKeys(s, q.uri.Object); err != nil || len(hs) != 0 {
			t.Errorf("objects labelled no-such-key after a failed Open = %d, %v; want none", len(hs), err)
		}
	})
}

func TestCreateThenReopen(t *testing.T) {
	tok := newToken(t, "")
	ctx := context.Background()
	uri := tok.uri("clavis-root", tok.pinFile)

	first, err := Open(uri, true)
	if err != nil {
		t.Fatalf("Open(create): %v", err)
	}
	id := first.ID()
	if !regexp.MustCompile(`^p11-[0-9a-f]{16}$`).MatchString(id) {
		t.Errorf("ID() = %q, want p11- and 16 hex digits", id)
	}
	wrapped, err := first.Wrap(ctx, []byte("vault key bytes"), []byte("aad"))
	if err != nil {
		t.Fatalf("Wrap: %v", err)
	}
	// A second provider while the first is open (the module is shared), then after it closed (the
	// module is finalized and loaded again).
	second := mustOpen(t, uri, true)
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	third := mustOpen(t, uri, false)
	for i, p := range []*Provider{second, third} {
		if p.ID() != id {
			t.Errorf("reopen %d: ID() = %q, want %q", i+2, p.ID(), id)
		}
		got, err := p.Unwrap(ctx, wrapped, []byte("aad"))
		if err != nil || string(got) != "vault key bytes" {
			t.Errorf("reopen %d: Unwrap = %q, %v; want the wrapped value", i+2, got, err)
		}
	}
	withSession(t, third, func(c *p11.Ctx, s p11.SessionHandle) {
		if hs, err := third.findKeys(s, third.uri.Object); err != nil || len(hs) != 1 {
			t.Errorf("objects labelled clavis-root = %d, %v; want exactly 1", len(hs), err)
		}
	})
	// Another label is another key, with another ID.
	other := mustOpen(t, tok.uri("clavis-root-2", tok.pinFile), true)
	if other.ID() == id {
		t.Errorf("two keys share ID %q", id)
	}
	if _, err := other.Unwrap(ctx, wrapped, []byte("aad")); err == nil {
		t.Error("another key unwrapped the blob")
	}
}

func TestOpenSelectsByIDAndSlot(t *testing.T) {
	tok := newToken(t, "")
	ctx := context.Background()
	base := "pkcs11:token=" + escape(tok.label) + ";object=k;id=%C1%A5?module-path=" + escape(softhsm.module) + "&pin-source=file:" + escape(tok.pinFile)
	p := mustOpen(t, base, true)
	if !bytes.Equal(p.ckaID, []byte{0xc1, 0xa5}) {
		t.Errorf("CKA_ID = %x, want c1a5 from the URI", p.ckaID)
	}
	w, err := p.Wrap(ctx, []byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The same object by slot-id alone and by serial alone.
	var serial string
	withSession(t, p, func(c *p11.Ctx, s p11.SessionHandle) {
		ti, err := c.GetTokenInfo(p.slot)
		if err != nil {
			t.Fatal(err)
		}
		serial = trimPadding(ti.SerialNumber)
	})
	for _, sel := range []string{fmt.Sprintf("slot-id=%d", p.slot), "serial=" + escape(serial)} {
		q := mustOpen(t, "pkcs11:"+sel+";object=k?module-path="+escape(softhsm.module)+"&pin-source=file:"+escape(tok.pinFile), false)
		if q.ID() != p.ID() {
			t.Errorf("%s: ID %q, want %q", sel, q.ID(), p.ID())
		}
		if _, err := q.Unwrap(ctx, w, nil); err != nil {
			t.Errorf("%s: Unwrap: %v", sel, err)
		}
	}
	// Another CKA_ID under the same label is not found, and two objects with one label are ambiguous.
	other := strings.Replace(base, "id=%C1%A5", "id=%02", 1)
	if _, err := Open(other, false); err == nil {
		t.Error("Open with another id found a key")
	}
	mustOpen(t, other, true)
	noID := strings.Replace(base, ";id=%C1%A5", "", 1)
	if q, err := Open(noID, true); err == nil {
		_ = q.Close() // the unexpected success is the finding
		t.Error("Open of a label held by two objects: no error")
	} else if !strings.Contains(err.Error(), "2 secret key objects") {
		t.Errorf("ambiguous error = %q", err)
	}
	// A token that does not exist.
	if _, err := Open(strings.Replace(base, "token="+escape(tok.label), "token=nope", 1), true); err == nil ||
		!strings.Contains(err.Error(), `no initialized token matches token="nope"`) {
		t.Errorf("Open on a missing token: %v", err)
	}
}

func TestWrongPINFails(t *testing.T) {
	tok := newToken(t, "")
	const wrong = "97531864"
	_, err := Open(tok.uri("clavis-root", writePIN(t, wrong)), true)
	if err == nil {
		t.Fatal("Open with a wrong PIN: no error")
	}
	msg := err.Error()
	if strings.Contains(msg, wrong) || strings.Contains(msg, testPIN) {
		t.Errorf("error %q contains a PIN", msg)
	}
	if !strings.Contains(msg, "CKR_PIN_INCORRECT") {
		t.Errorf("error %q, want it to name CKR_PIN_INCORRECT", msg)
	}
	// The right PIN still works (the wrong one did not lock the token or leave the module loaded badly).
	mustOpen(t, tok.uri("clavis-root", tok.pinFile), true)
}

func TestPINFileRefused(t *testing.T) {
	tok := newToken(t, "")
	loose := filepath.Join(t.TempDir(), "pin")
	if err := os.WriteFile(loose, []byte(testPIN), 0o644); err != nil { // #nosec G306 -- readable on purpose: it must be refused
		t.Fatal(err)
	}
	_, err := Open(tok.uri("k", loose), true)
	if err == nil || !strings.Contains(err.Error(), "lets group or others access it") {
		t.Errorf("Open with a 0644 PIN file: %v; want a refusal", err)
	}
	if _, err := Open(tok.uri("k", filepath.Join(t.TempDir(), "missing")), true); err == nil {
		t.Error("Open with a missing PIN file: no error")
	}
}

func TestKeyIsSensitiveAndNotExtractable(t *testing.T) {
	tok := newToken(t, "")
	p := mustOpen(t, tok.uri("clavis-root", tok.pinFile), true)
	withSession(t, p, func(c *p11.Ctx, s p11.SessionHandle) {
		want := map[uint]bool{
			p11.CKA_TOKEN: true, p11.CKA_PRIVATE: true, p11.CKA_SENSITIVE: true, p11.CKA_ALWAYS_SENSITIVE: true,
			p11.CKA_EXTRACTABLE: false, p11.CKA_NEVER_EXTRACTABLE: true, p11.CKA_ENCRYPT: true, p11.CKA_DECRYPT: true,
			p11.CKA_WRAP: false, p11.CKA_UNWRAP: false, p11.CKA_SIGN: false, p11.CKA_DERIVE: false,
		}
		names := map[uint]string{
			p11.CKA_TOKEN: "CKA_TOKEN", p11.CKA_PRIVATE: "CKA_PRIVATE", p11.CKA_SENSITIVE: "CKA_SENSITIVE",
			p11.CKA_ALWAYS_SENSITIVE: "CKA_ALWAYS_SENSITIVE", p11.CKA_EXTRACTABLE: "CKA_EXTRACTABLE",
			p11.CKA_NEVER_EXTRACTABLE: "CKA_NEVER_EXTRACTABLE", p11.CKA_ENCRYPT: "CKA_ENCRYPT", p11.CKA_DECRYPT: "CKA_DECRYPT",
			p11.CKA_WRAP: "CKA_WRAP", p11.CKA_UNWRAP: "CKA_UNWRAP", p11.CKA_SIGN: "CKA_SIGN", p11.CKA_DERIVE: "CKA_DERIVE",
		}
		var tmpl []*p11.Attribute
		for a := range want {
			tmpl = append(tmpl, p11.NewAttribute(a, nil))
		}
		tmpl = append(tmpl, p11.NewAttribute(p11.CKA_KEY_TYPE, nil), p11.NewAttribute(p11.CKA_VALUE_LEN, nil))
		attrs, err := c.GetAttributeValue(s, p.key, tmpl)
		if err != nil {
			t.Fatalf("GetAttributeValue: %v", err)
		}
		for _, a := range attrs {
			switch a.Type {
			case p11.CKA_KEY_TYPE:
				if ulong(a.Value) != p11.CKK_AES {
					t.Errorf("CKA_KEY_TYPE = %x, want CKK_AES", a.Value)
				}
			case p11.CKA_VALUE_LEN:
				if ulong(a.Value) != 32 {
					t.Errorf("CKA_VALUE_LEN = %d, want 32", ulong(a.Value))
				}
			default:
				if got := boolean(a.Value); got != want[a.Type] {
					t.Errorf("%s = %v, want %v", names[a.Type], got, want[a.Type])
				}
			}
		}
		// The value itself cannot be read.
		_, err = c.GetAttributeValue(s, p.key, []*p11.Attribute{p11.NewAttribute(p11.CKA_VALUE, nil)})
		if !isCode(err, p11.CKR_ATTRIBUTE_SENSITIVE) {
			t.Errorf("reading CKA_VALUE: %v; want CKR_ATTRIBUTE_SENSITIVE", err)
		}
		// Nor made extractable again.
		err = c.SetAttributeValue(s, p.key, []*p11.Attribute{p11.NewAttribute(p11.CKA_EXTRACTABLE, true)})
		if err == nil {
			t.Error("setting CKA_EXTRACTABLE back to true succeeded")
		}
	})
}

// generateRaw makes a key on tok outside the provider, for testing what Open accepts.
func generateRaw(t *testing.T, p *Provider, label string, size int, sensitive bool) {
	t.Helper()
	c := p.mod.ctx
	rw, err := c.OpenSession(p.slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseSession(rw)
	_, err = c.GenerateKey(rw, []*p11.Mechanism{p11.NewMechanism(p11.CKM_AES_KEY_GEN, nil)}, []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_SECRET_KEY),
		p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_AES),
		p11.NewAttribute(p11.CKA_VALUE_LEN, size),
		p11.NewAttribute(p11.CKA_LABEL, label),
		p11.NewAttribute(p11.CKA_TOKEN, true),
		p11.NewAttribute(p11.CKA_SENSITIVE, sensitive),
		p11.NewAttribute(p11.CKA_ENCRYPT, true),
		p11.NewAttribute(p11.CKA_DECRYPT, true),
	})
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
}

func TestOpenRefusesUnsuitableKeys(t *testing.T) {
	tok := newToken(t, "")
	p := mustOpen(t, tok.uri("anchor", tok.pinFile), true) // keeps the module loaded and logged in
	generateRaw(t, p, "readable", 32, false)
	generateRaw(t, p, "aes-128", 16, true)
	generateRaw(t, p, "operator-made", 32, true) // sensitive, extractable, no CKA_ID: accepted
	for label, want := range map[string]string{"readable": "is not sensitive", "aes-128": "is not an AES-256 key"} {
		if q, err := Open(tok.uri(label, tok.pinFile), true); err == nil {
			_ = q.Close() // the unexpected success is the finding
			t.Errorf("Open of %s key: no error", label)
		} else if !strings.Contains(err.Error(), want) {
			t.Errorf("Open of %s key: %q, want %q", label, err, want)
		}
	}
	q := mustOpen(t, tok.uri("operator-made", tok.pinFile), false)
	if q.ID() != keyID("operator-made", nil) {
		t.Errorf("ID of a key without CKA_ID = %q, want %q", q.ID(), keyID("operator-made", nil))
	}
}

func TestPercentEncodedLabels(t *testing.T) {
	tok := newToken(t, "clavis enc;?&=%/ä")
	if !strings.HasPrefix(tok.label, "clavis enc;?&=%/ä-") {
		t.Fatalf("token label %q", tok.label)
	}
	object := "root key;v1/ä?&=%+#"
	uri := tok.uri(object, tok.pinFile)
	if !strings.Contains(uri, "%3B") || strings.Contains(uri, "#") {
		t.Fatalf("test URI %q is not percent-encoded", uri)
	}
	ctx := context.Background()
	p := mustOpen(t, uri, true)
	if p.tokenLabel != tok.label || p.uri.Object != object {
		t.Errorf("labels = %q, %q; want %q, %q", p.tokenLabel, p.uri.Object, tok.label, object)
	}
	withSession(t, p, func(c *p11.Ctx, s p11.SessionHandle) {
		attrs, err := c.GetAttributeValue(s, p.key, []*p11.Attribute{p11.NewAttribute(p11.CKA_LABEL, nil)})
		if err != nil || string(attrs[0].Value) != object {
			t.Errorf("CKA_LABEL in the token = %q, %v; want %q", attrs[0].Value, err, object)
		}
	})
	w, err := p.Wrap(ctx, []byte("v"), nil)
	if err != nil {
		t.Fatal(err)
	}
	q := mustOpen(t, uri, false)
	if got, err := q.Unwrap(ctx, w, nil); err != nil || string(got) != "v" {
		t.Errorf("reopen Unwrap = %q, %v", got, err)
	}
}

func TestConcurrentWrapUnwrap(t *testing.T) {
	tok := newToken(t, "")
	p := mustOpen(t, tok.uri("clavis-root", tok.pinFile), true)
	ctx := context.Background()
	const goroutines, rounds = 32, 25
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for r := range rounds {
				pt := fmt.Appendf(nil, "value %d/%d", g, r)
				aad := fmt.Appendf(nil, "aad %d/%d", g, r)
				w, err := p.Wrap(ctx, pt, aad)
				if err != nil {
					errs <- fmt.Errorf("goroutine %d round %d: Wrap: %v", g, r, err)
					return
				}
				got, err := p.Unwrap(ctx, w, aad)
				if err != nil || !bytes.Equal(got, pt) {
					errs <- fmt.Errorf("goroutine %d round %d: Unwrap = %q, %v; want %q", g, r, got, err, pt)
					return
				}
				if _, err := p.Unwrap(ctx, w, []byte("other")); err == nil {
					errs <- fmt.Errorf("goroutine %d round %d: Unwrap with another aad succeeded", g, r)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	p.mu.Lock()
	idle := len(p.idle)
	p.mu.Unlock()
	if idle < 1 || idle > maxSessions {
		t.Errorf("%d idle sessions after the run, want 1 to %d", idle, maxSessions)
	}
}

func TestKeyringOverPKCS11(t *testing.T) {
	tok := newToken(t, "")
	p := mustOpen(t, tok.uri("clavis-root", tok.pinFile), true)
	ctx := context.Background()
	for _, opt := range []keyring.Options{{}, {CacheSize: -1}} {
		kr := keyring.New(p, opt)
		vk, err := kr.NewVaultKey(ctx, "org-1", "vault-1")
		if err != nil {
			t.Fatalf("NewVaultKey: %v", err)
		}
		aad := keyring.AAD{OrgID: "org-1", VaultID: "vault-1", SecretID: "s-1", Path: "db/password", Version: 1}
		sealed, err := kr.Seal(ctx, vk, aad, []byte("pg-secret"))
		if err != nil {
			t.Fatalf("Seal: %v", err)
		}
		got, err := kr.Open(ctx, vk, aad, sealed)
		if err != nil || string(got) != "pg-secret" {
			t.Fatalf("Open = %q, %v; want pg-secret", got, err)
		}
		other := aad
		other.VaultID = "vault-2"
		if _, err := kr.Open(ctx, vk, other, sealed); err == nil {
			t.Error("Open under another vault succeeded")
		}
		ss, err := kr.WrapServerSecret(ctx, "jwt-signing-key", []byte("signing key"))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := kr.UnwrapServerSecret(ctx, "jwt-signing-key", ss); err != nil || string(got) != "signing key" {
			t.Errorf("UnwrapServerSecret = %q, %v", got, err)
		}
	}
}

func TestRedaction(t *testing.T) {
	tok := newToken(t, "")
	p := mustOpen(t, tok.uri("clavis-root", tok.pinFile), true)
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("opened", "root", p)
	outputs := map[string]string{
		"%v": fmt.Sprintf("%v", p), "%+v": fmt.Sprintf("%+v", p), "%#v": fmt.Sprintf("%#v", p),
		"%s": fmt.Sprintf("%s", p), "slog": buf.String(), //lint:ignore S1025 the test checks the %s verb itself
	}
	for verb, out := range outputs {
		if !strings.Contains(out, "clavis-root") || !strings.Contains(out, tok.label) {
			t.Errorf("%s = %q, want the object and token labels", verb, out)
		}
		for _, secret := range []string{testPIN, tok.pinFile, softhsm.module} {
			if strings.Contains(out, secret) {
				t.Errorf("%s = %q reveals %q", verb, out, secret)
			}
		}
	}
}

func TestSessionRecovery(t *testing.T) {
	tok := newToken(t, "")
	pinFile := tok.pinFile
	p := mustOpen(t, tok.uri("clavis-root", pinFile), true)
	ctx := context.Background()
	w, err := p.Wrap(ctx, []byte("v"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The token drops every session (and so the login): the next call reopens and logs in again.
	if err := p.mod.ctx.CloseAllSessions(p.slot); err != nil {
		t.Fatal(err)
	}
	if got, err := p.Unwrap(ctx, w, nil); err != nil || string(got) != "v" {
		t.Fatalf("Unwrap after the token closed all sessions = %q, %v", got, err)
	}
	// The key handle goes stale: it is looked up again.
	p.mu.Lock()
	p.key += 1000
	p.mu.Unlock()
	if _, err := p.Wrap(ctx, []byte("v"), nil); err != nil {
		t.Fatalf("Wrap after the key handle went stale: %v", err)
	}
	// Re-login is impossible (PIN file gone): unavailable, and no PIN in the error.
	if err := os.Remove(pinFile); err != nil {
		t.Fatal(err)
	}
	if err := p.mod.ctx.CloseAllSessions(p.slot); err != nil {
		t.Fatal(err)
	}
	_, err = p.Wrap(ctx, []byte("v"), nil)
	if !clavis.IsKind(err, clavis.KindUnavailable) {
		t.Fatalf("Wrap without a session or PIN: %v; want kind unavailable", err)
	}
	if strings.Contains(err.Error(), testPIN) {
		t.Errorf("error %q contains the PIN", err)
	}
	// The PIN file is back: the provider heals.
	if err := os.WriteFile(pinFile, []byte(testPIN), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := p.Unwrap(ctx, w, nil); err != nil || string(got) != "v" {
		t.Fatalf("Unwrap after the PIN file came back = %q, %v", got, err)
	}
}

func TestCloseAndContext(t *testing.T) {
	tok := newToken(t, "")
	p, err := Open(tok.uri("clavis-root", tok.pinFile), true)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Wrap(ctx, []byte("v"), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Wrap with a cancelled context: %v", err)
	}
	w, err := p.Wrap(context.Background(), []byte("v"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := p.Unwrap(context.Background(), w, nil); !errors.Is(err, errClosed) {
		t.Errorf("Unwrap after Close: %v; want %v", err, errClosed)
	}
	// Every session of the provider is closed, so nothing is left logged in.
	modules.Lock()
	_, loaded := modules.m[p.mod.path]
	modules.Unlock()
	if loaded {
		t.Error("module still loaded after its only provider closed")
	}
}

func TestWrapFormat(t *testing.T) {
	tok := newToken(t, "")
	p := mustOpen(t, tok.uri("clavis-root", tok.pinFile), true)
	ctx := context.Background()
	w, err := p.Wrap(ctx, make([]byte, 32), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != 1+12+32+16 || w[0] != 1 {
		t.Fatalf("Wrap output = %d bytes starting %#x; want 61 bytes starting 0x01", len(w), w[0])
	}
	// Another format byte does not open, even with the rest intact.
	bad := bytes.Clone(w)
	bad[0] = 2
	if _, err := p.Unwrap(ctx, bad, []byte("aad")); err == nil {
		t.Error("Unwrap accepted format byte 2")
	}
	// The IVs of many wraps are distinct.
	seen := map[string]bool{}
	for range 200 {
		w, err := p.Wrap(ctx, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		iv := hex.EncodeToString(w[1:13])
		if seen[iv] {
			t.Fatalf("IV %s repeated", iv)
		}
		seen[iv] = true
	}
}

func TestConcurrentCreateInProcess(t *testing.T) {
	tok := newToken(t, "")
	uri := tok.uri("raced", tok.pinFile)
	const n = 8
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			p, err := Open(uri, true)
			if err != nil {
				t.Errorf("Open %d: %v", i, err)
				return
			}
			ids[i] = p.ID()
			t.Cleanup(func() {
				if err := p.Close(); err != nil {
					t.Error(err)
				}
			})
		})
	}
	wg.Wait()
	for i := range ids {
		if ids[i] != ids[0] {
			t.Errorf("Open %d got key %q, Open 0 got %q", i, ids[i], ids[0])
		}
	}
}

// TestConcurrentCreateRace races creators as if they were separate processes (replicas starting at
// once): the process-level lock is off, so only the pending-label protocol keeps them to one key.
// (Separate processes would be the real thing, but SoftHSM's file store is not safe for concurrent
// writers in several processes: tokens briefly vanish from other processes' slot lists.)
func TestConcurrentCreateRace(t *testing.T) {
	tok := newToken(t, "")
	anchor := mustOpen(t, tok.uri("anchor", tok.pinFile), true)
	serializeCreate = false
	t.Cleanup(func() { serializeCreate = true })
	for round := range 5 {
		uri := tok.uri(fmt.Sprintf("replicas-%d", round), tok.pinFile)
		const n = 8
		ids := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				p, err := Open(uri, true)
				if err != nil {
					t.Errorf("round %d: Open %d: %v", round, i, err)
					return
				}
				ids[i] = p.ID()
				t.Cleanup(func() {
					if err := p.Close(); err != nil {
						t.Error(err)
					}
				})
			})
		}
		wg.Wait()
		for i := range ids {
			if ids[i] != ids[0] {
				t.Errorf("round %d: Open %d got key %q, Open 0 got %q", round, i, ids[i], ids[0])
			}
		}
		withSession(t, anchor, func(c *p11.Ctx, s p11.SessionHandle) {
			q := &Provider{mod: anchor.mod, uri: anchor.uri, tokenLabel: anchor.tokenLabel}
			q.uri.Object = fmt.Sprintf("replicas-%d", round)
			if hs, err := q.findKeys(s, q.uri.Object); err != nil || len(hs) != 1 {
				t.Errorf("round %d: objects after %d concurrent creators = %d, %v; want 1", round, n, len(hs), err)
			}
			if hs, err := q.findKeys(s, q.uri.Object+pendingSuffix); err != nil || len(hs) != 0 {
				t.Errorf("round %d: %d provisional objects left, %v; want none", round, len(hs), err)
			}
		})
	}
}

func TestStalePendingObject(t *testing.T) {
	tok := newToken(t, "")
	p := mustOpen(t, tok.uri("anchor", tok.pinFile), true)
	generateRaw(t, p, "crashed"+pendingSuffix, 32, true) // as if a creator died before relabelling
	for _, create := range []bool{false, true} {
		q, err := Open(tok.uri("crashed", tok.pinFile), create)
		if err == nil {
			_ = q.Close() // the unexpected success is the finding
			t.Fatalf("Open(create=%v) beside a stale provisional object: no error", create)
		}
		if !strings.Contains(err.Error(), "delete them") {
			t.Errorf("Open(create=%v): %q, want advice to delete the stale object", create, err)
		}
	}
}

func benchProvider(b *testing.B) *Provider {
	tok := newToken(b, "")
	return mustOpen(b, tok.uri("bench", tok.pinFile), true)
}

func BenchmarkWrap(b *testing.B) {
	p := benchProvider(b)
	ctx := context.Background()
	key, aad := make([]byte, 32), []byte("clavis/vault-key org vault")
	for b.Loop() {
		if _, err := p.Wrap(ctx, key, aad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnwrap(b *testing.B) {
	p := benchProvider(b)
	ctx := context.Background()
	aad := []byte("clavis/vault-key org vault")
	w, err := p.Wrap(ctx, make([]byte, 32), aad)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := p.Unwrap(ctx, w, aad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWrapParallel(b *testing.B) {
	p := benchProvider(b)
	key, aad := make([]byte, 32), []byte("clavis/vault-key org vault")
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Wrap(context.Background(), key, aad); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
