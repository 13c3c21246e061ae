package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/client"
	"clavis.dev/clavis/internal/clavistest"
	"clavis.dev/clavis/internal/notify"
)

// TestServerWebhookNotifications runs `clavis server` with --notify-webhook to a receiver on loopback:
// refused by default (counted in /metrics as refused, the receiver never called), delivered and signed
// with --notify-allow-private. The agent's request is answered the same either way.
func TestServerWebhookNotifications(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two servers")
	}
	secret := "a-webhook-secret-for-the-test"
	secretFile := filepath.Join(t.TempDir(), "hook.secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	signed := make(chan bool, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		sig := r.Header.Get(notify.HeaderSignature)
		ts, _, _ := strings.Cut(strings.TrimPrefix(sig, "t="), ",")
		var at int64
		for _, c := range ts {
			at = at*10 + int64(c-'0')
		}
		signed <- sig == notify.Sign([]byte(secret), body, time.Unix(at, 0))
	}))
	defer receiver.Close()

	for _, allow := range []bool{false, true} {
		flags := []string{"--notify-webhook", receiver.URL + "/hook", "--notify-webhook-secret-file", secretFile}
		if allow {
			flags = append(flags, "--notify-allow-private", "127.0.0.0/8")
		}
		url, _ := startChild(t, t.TempDir(), flags...)
		gatedRead(t, url)
		if !allow {
			waitMetric(t, url, `clavis_notifications_total{channel="webhook",outcome="refused"} 1`)
			if n := calls.Load(); n != 0 {
				t.Fatalf("a loopback webhook was called %d times without --notify-allow-private", n)
			}
			continue
		}
		select {
		case ok := <-signed:
			if !ok {
				t.Fatal("the webhook's signature does not verify with the secret file's key")
			}
		case <-time.After(30 * time.Second):
			t.Fatal("no webhook call with --notify-allow-private")
		}
		waitMetric(t, url, `clavis_notifications_total{channel="webhook",outcome="delivered"} 1`)
	}
}

// gatedRead makes an agent read a path guarded by a require_approval policy: 403 approval_required.
func gatedRead(t *testing.T, url string) {
	t.Helper()
	ctx := context.Background()
	email, pw := "notify-"+clavistest.RandHex(6)+"@example.com", "Pw-"+clavistest.RandHex(12)
	tok, err := client.New(url).Signup(ctx, email, pw, "")
	if err != nil {
		t.Fatal(err)
	}
	u := client.New(url, client.WithToken(string(tok.AccessToken)))
	v, err := u.CreateVault(ctx, clavis.VaultInput{Name: "v"})
	if err != nil {
		t.Fatal(err)
	}
	ak, err := u.CreateAgent(ctx, clavis.AgentInput{Name: "bot"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.CreatePolicy(ctx, v.ID, clavis.PolicyInput{Pattern: "**", PrincipalType: clavis.PrincipalAgent,
		PrincipalID: ak.Agent.ID, Permissions: []string{"read"}, RequireApproval: true}); err != nil {
		t.Fatal(err)
	}
	_, err = client.New(url, client.WithToken(string(ak.Key))).GetSecret(ctx, v.ID, "app/db")
	var ce *clavis.Error
	if !errors.As(err, &ce) || ce.Kind != clavis.KindApprovalRequired {
		t.Fatalf("gated read: %v", err)
	}
}

// waitMetric polls /metrics until it has the line.
func waitMetric(t *testing.T, url, line string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(url + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			_ = res.Body.Close()
			if strings.Contains(string(b), line) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics has no %q after 30 s", line)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestNotifyFlagsChecked: a webhook without its secret file, a bad CIDR and an SMTP URL carrying a
// password are refused at start.
func TestNotifyFlagsChecked(t *testing.T) {
	for _, c := range []notifyConfig{
		{webhooks: []string{"https://hooks.example.com/x"}},
		{webhooks: []string{"https://hooks.example.com/x"}, webhookSecretFile: "/nonexistent"},
		{smtpURL: "smtp://user:pw@mail.example.com:587"}, // #nosec G101 -- a made-up password the flag must refuse
		{smtpURL: "smtp://mail.example.com"},
	} {
		if _, err := newNotifier(&c, nil); err == nil {
			t.Errorf("newNotifier(%+v) accepted", c)
		}
	}
	f := filepath.Join(t.TempDir(), "s")
	if err := os.WriteFile(f, []byte("0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := newNotifier(&notifyConfig{webhooks: []string{"https://hooks.example.com/x"}, webhookSecretFile: f,
		allowPrivate: "10.0.0.0/33"}, nil); err == nil {
		t.Errorf("a bad --notify-allow-private was accepted")
	}
	if _, err := newNotifier(&notifyConfig{webhooks: []string{"ftp://x"}, webhookSecretFile: f}, nil); err == nil {
		t.Errorf("a non-http webhook was accepted")
	}
}
