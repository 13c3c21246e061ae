package clavistest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
)

// TestShareExactCountUnderConcurrency: 100 concurrent opens of a share allowing 3 accesses, over HTTP on
// the SQLite store, hand out exactly 3 values (access counts 1, 2, 3) and 97 410s.
func TestShareExactCountUnderConcurrency(t *testing.T) {
	env := clavistest.New(t)
	u := env.Signup(t)
	v, err := u.C.CreateVault(ctx, clavis.VaultInput{Name: "race"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := u.C.PutSecret(ctx, v.ID, "race/key", clavis.SecretInput{Value: "three-times"})
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)
	sh, err := u.C.CreateShare(ctx, m.Secret.ID, clavis.ShareInput{RecipientType: clavis.ShareToAnyone, ExpiresAt: &exp,
		MaxAccessCount: new(3)})
	if err != nil {
		t.Fatal(err)
	}
	anon := env.Client().WithToken("")
	var mu sync.Mutex
	outcomes := map[clavis.Kind]int{}
	var counts []int
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			got, err := anon.OpenShare(ctx, sh.ID, "")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				outcomes[clavis.KindOf(err)]++
				return
			}
			if string(got.Value) != "three-times" {
				t.Errorf("value %q", string(got.Value))
			}
			counts = append(counts, got.AccessCount)
		}()
	}
	close(start)
	wg.Wait()
	slices.Sort(counts)
	if !slices.Equal(counts, []int{1, 2, 3}) || outcomes[clavis.KindGone] != 97 {
		t.Fatalf("successes with counts %v and failures %v; want counts 1, 2, 3 and 97 gone", counts, outcomes)
	}
	evs, err := u.C.ListAudit(ctx, clavis.AuditQuery{Action: "share.access", ResourceID: sh.ID})
	if err != nil || len(evs) != 3 {
		t.Fatalf("share.access events: %d (%v), want 3", len(evs), err)
	}
}

// TestShareCanariesNeverLeak: a shared value and a share passphrase never appear in the database
// files, logs, audit events, share lists, errors or metrics; the passphrase is stored only as a hash.
func TestShareCanariesNeverLeak(t *testing.T) {
	env := clavistest.New(t)
	u := env.Signup(t)
	v, err := u.C.CreateVault(ctx, clavis.VaultInput{Name: "share-canary"})
	if err != nil {
		t.Fatal(err)
	}
	value := "CANARY-SHARED-" + clavistest.RandHex(12)
	pass := "CANARY-PASS-" + clavistest.RandHex(12)
	m, err := u.C.PutSecret(ctx, v.ID, "c/shared", clavis.SecretInput{Value: clavis.Sensitive(value)})
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)
	sh, err := u.C.CreateShare(ctx, m.Secret.ID, clavis.ShareInput{RecipientType: clavis.ShareToAnyone, ExpiresAt: &exp,
		MaxAccessCount: new(2), Passphrase: clavis.Sensitive(pass)})
	if err != nil {
		t.Fatal(err)
	}
	anon := env.Client().WithToken("")
	_, wrong := anon.OpenShare(ctx, sh.ID, clavis.Sensitive(pass+"-wrong"))
	if clavis.KindOf(wrong) != clavis.KindForbidden {
		t.Fatalf("wrong passphrase: %v, want 403", wrong)
	}
	got, err := anon.OpenShare(ctx, sh.ID, clavis.Sensitive(pass))
	if err != nil || string(got.Value) != value {
		t.Fatalf("open with passphrase: %v", err)
	}
	_, _ = anon.OpenShare(ctx, sh.ID, "")                                        // missing passphrase
	res, err := http.Get(env.URL + "/v1/share/" + sh.ID + "?passphrase=" + pass) // the query form, for the last access
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if res.StatusCode != 200 || !bytes.Contains(body, []byte(value)) {
		t.Fatalf("open with ?passphrase=: %d", res.StatusCode)
	}
	canaries := map[string]string{"shared value": value, "passphrase": pass}

	surfaces := map[string][]byte{"logs": []byte(env.Logs()), "wrong-passphrase error": []byte(wrong.Error())}
	for _, f := range []string{env.DBPath, env.DBPath + "-wal"} {
		if b, err := os.ReadFile(f); err == nil { // #nosec G304 -- the test server's own database files
			surfaces[filepath.Base(f)] = b
		}
	}
	evs, err := u.C.ListAudit(ctx, clavis.AuditQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	surfaces["audit events"], _ = json.Marshal(evs)
	for _, path := range []string{"/v1/shares/outbound", "/v1/shares/inbound"} {
		req, _ := http.NewRequest("GET", env.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+u.Token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		surfaces[path], _ = io.ReadAll(res.Body)
		_ = res.Body.Close()
	}
	res, err = http.Get(env.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	surfaces["metrics"], _ = io.ReadAll(res.Body)
	_ = res.Body.Close()
	for where, b := range surfaces {
		for what, c := range canaries {
			if bytes.Contains(b, []byte(c)) {
				t.Errorf("%s found in %s", what, where)
			}
		}
	}
	if !bytes.Contains(surfaces["/v1/shares/outbound"], []byte(sh.ID)) {
		t.Fatalf("the outbound list does not list the share: the scan saw nothing")
	}
}
