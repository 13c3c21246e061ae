package notify_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/netguard"
	"clavis.dev/clavis/internal/notify"
	"clavis.dev/clavis/internal/notify/smtptest"
)

// directory makes a fixed notice for every event and records deliveries.
type directory struct {
	mu         sync.Mutex
	deliveries []*clavis.Delivery
	recorded   chan struct{}
	recipients []string
}

func newDirectory(recipients ...string) *directory {
	return &directory{recorded: make(chan struct{}, 100), recipients: recipients}
}

func (d *directory) Notice(_ context.Context, ev *clavis.AuditEvent) (*clavis.Notice, error) {
	return &clavis.Notice{ID: ev.ID, Type: clavis.NoticeApprovalRequested, OccurredAt: ev.CreatedAt, OrgID: ev.OrgID,
		ApprovalID: ev.ResourceID, Action: clavis.ApprovalSecretAccess, Status: "pending", AgentName: "deploy-bot",
		VaultName: "payments", Path: "prod/db", Permission: "read", URL: "https://clavis.test/ui/approvals/" + ev.ResourceID,
		Recipients: d.recipients}, nil
}

func (d *directory) RecordDelivery(_ context.Context, del *clavis.Delivery) error {
	d.mu.Lock()
	d.deliveries = append(d.deliveries, del)
	d.mu.Unlock()
	d.recorded <- struct{}{}
	return nil
}

// wait returns the first n deliveries once recorded.
func (d *directory) wait(t *testing.T, n int) []*clavis.Delivery {
	t.Helper()
	for range n {
		select {
		case <-d.recorded:
		case <-time.After(30 * time.Second):
			t.Fatalf("no delivery recorded after 30 s")
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*clavis.Delivery(nil), d.deliveries...)
}

func event() *clavis.AuditEvent {
	return &clavis.AuditEvent{ID: "0d2bbdcf-db4c-4e76-992a-4c57400f22d2", Action: "approval.request", OrgID: "org",
		ResourceType: "approval", ResourceID: "165fd52b-3192-498d-b7a2-4780813366a3", CreatedAt: time.Now()}
}

var secret = []byte("0123456789abcdef-webhook-secret")

// verify checks a webhook request's signature as a receiver would.
func verify(t *testing.T, r *http.Request, body []byte) {
	t.Helper()
	sig := r.Header.Get(notify.HeaderSignature)
	ts, _, ok := strings.Cut(strings.TrimPrefix(sig, "t="), ",")
	if !ok {
		t.Errorf("signature header %q", sig)
		return
	}
	var at int64
	if err := json.Unmarshal([]byte(ts), &at); err != nil || time.Since(time.Unix(at, 0)) > time.Minute {
		t.Errorf("signature timestamp %q", ts)
	}
	want := notify.Sign(secret, body, time.Unix(at, 0))
	if !hmac.Equal([]byte(sig), []byte(want)) {
		t.Errorf("signature %q does not verify (want %q)", sig, want)
	}
	if notify.Sign([]byte("another secret, 16+ bytes"), body, time.Unix(at, 0)) == sig {
		t.Errorf("signature verifies with another secret")
	}
}

func webhook(t *testing.T, url string, allow ...string) *notify.Webhook {
	t.Helper()
	var prefixes []netip.Prefix
	for _, a := range allow {
		prefixes = append(prefixes, netip.MustParsePrefix(a))
	}
	h, err := notify.NewWebhook(url, secret, netguard.New(prefixes))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestWebhookSignedAndRetried: the receiver fails twice, then accepts; the notice arrives signed, as
// JSON without recipients, after three attempts, and the delivery is recorded as delivered.
func TestWebhookSignedAndRetried(t *testing.T) {
	var calls atomic.Int32
	got := make(chan map[string]any, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		verify(t, r, body)
		if r.Header.Get(notify.HeaderEvent) != clavis.NoticeApprovalRequested || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("headers: %v", r.Header)
		}
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Errorf("body %s: %v", body, err)
		}
		got <- m
	}))
	defer srv.Close()
	dir := newDirectory("owner@example.com")
	n := notify.New(notify.Options{Webhooks: []*notify.Webhook{webhook(t, srv.URL+"/hook?token=abc", "127.0.0.0/8")},
		Backoff: 10 * time.Millisecond})
	n.Start(dir)
	defer n.Close()
	n.Notify(event())
	m := <-got
	if m["type"] != clavis.NoticeApprovalRequested || m["path"] != "prod/db" || m["url"] == "" {
		t.Fatalf("notice: %v", m)
	}
	if _, ok := m["recipients"]; ok {
		t.Fatalf("the webhook body lists email recipients: %v", m)
	}
	d := dir.wait(t, 1)[0]
	if d.Status != "delivered" || d.Attempts != 3 || d.Channel != "webhook" || strings.Contains(d.Target, "token") {
		t.Fatalf("delivery: %+v", d)
	}
}

// TestWebhookLoopbackRefused: without --notify-allow-private a loopback destination is never contacted;
// the refusal is permanent (one attempt) and recorded.
func TestWebhookLoopbackRefused(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls.Add(1) }))
	defer srv.Close()
	dir := newDirectory()
	n := notify.New(notify.Options{Webhooks: []*notify.Webhook{webhook(t, srv.URL)}, Backoff: time.Millisecond})
	n.Start(dir)
	defer n.Close()
	n.Notify(event())
	d := dir.wait(t, 1)[0]
	if d.Status != "failed" || d.Attempts != 1 || !strings.Contains(d.Error, "refused") || calls.Load() != 0 {
		t.Fatalf("delivery to loopback: %+v, %d calls", d, calls.Load())
	}
}

// TestWebhookGivesUp: a receiver that always fails gets Attempts tries, then the failure is recorded.
func TestWebhookGivesUp(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	dir := newDirectory()
	n := notify.New(notify.Options{Webhooks: []*notify.Webhook{webhook(t, srv.URL, "127.0.0.1/32")}, Attempts: 3,
		Backoff: time.Millisecond})
	n.Start(dir)
	defer n.Close()
	n.Notify(event())
	d := dir.wait(t, 1)[0]
	if d.Status != "failed" || d.Attempts != 3 || calls.Load() != 3 {
		t.Fatalf("delivery: %+v after %d calls", d, calls.Load())
	}
}

// TestNotifyNeverBlocks: with the workers stuck on a receiver that does not answer, Notify still returns
// at once and drops what does not fit in the queue; Close then ends in bounded time.
func TestNotifyNeverBlocks(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	n := notify.New(notify.Options{Webhooks: []*notify.Webhook{webhook(t, srv.URL, "127.0.0.1/32")}, QueueSize: 2,
		Workers: 1, Timeout: time.Minute, DrainDeadline: 100 * time.Millisecond})
	n.Start(newDirectory())
	start := time.Now()
	for range 100 {
		n.Notify(event())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("100 Notify calls took %v", d)
	}
	start = time.Now()
	n.Close()
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Close took %v", d)
	}
	n.Notify(event()) // after Close: dropped, no panic
}

// TestEmail: a notice with recipients arrives at the SMTP server (AUTH PLAIN on loopback), addressed to
// them, with the link and names.
func TestEmail(t *testing.T) {
	mail := smtptest.Start(t, nil)
	host, port, _ := strings.Cut(mail.Addr, ":")
	cfg, err := notify.ParseSMTPURL("smtp://clavis@"+host+":"+port, "smtp-password", "clavis@example.com")
	if err != nil {
		t.Fatal(err)
	}
	dir := newDirectory("owner@example.com", "other-owner@example.com")
	n := notify.New(notify.Options{SMTP: cfg, Backoff: time.Millisecond})
	n.Start(dir)
	defer n.Close()
	n.Notify(event())
	<-mail.Arrived()
	m := mail.Messages()[0]
	if m.From != "clavis@example.com" || len(m.To) != 2 || m.To[0] != "owner@example.com" || m.Auth != "clavis" {
		t.Fatalf("envelope: %+v", m)
	}
	for _, want := range []string{"To: owner@example.com, other-owner@example.com\r\n", "https://clavis.test/ui/approvals/165fd52b-3192-498d-b7a2-4780813366a3",
		`"deploy-bot"`, "prod/db", "Subject: Clavis: agent deploy-bot asks for one-time read access to prod/db in vault payments\r\n"} {
		if !strings.Contains(m.Data, want) {
			t.Errorf("message lacks %q:\n%s", want, m.Data)
		}
	}
	if d := dir.wait(t, 1)[0]; d.Channel != "email" || d.Status != "delivered" {
		t.Fatalf("delivery: %+v", d)
	}
}

func TestParseSMTPURL(t *testing.T) {
	for _, bad := range []string{"smtps://h:25", "smtp://h", "smtp://u:pw@h:25", "http://h:25", "smtp://:25"} {
		if _, err := notify.ParseSMTPURL(bad, "", "a@b.c"); err == nil {
			t.Errorf("ParseSMTPURL(%q) accepted", bad)
		}
	}
	if _, err := notify.ParseSMTPURL("smtp://h:25", "", "a@b.c\r\nBcc: x@y.z"); err == nil {
		t.Errorf("a sender with a line break was accepted")
	}
}

// TestEmailSTARTTLS: a mail server that offers STARTTLS gets the message over TLS, authenticated.
func TestEmailSTARTTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	mail := smtptest.Start(t, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	host, port, _ := strings.Cut(mail.Addr, ":")
	cfg, err := notify.ParseSMTPURL("smtp://clavis@"+host+":"+port, "smtp-password", "clavis@example.com")
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLS = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	dir := newDirectory("owner@example.com")
	n := notify.New(notify.Options{SMTP: cfg, Backoff: time.Millisecond})
	n.Start(dir)
	defer n.Close()
	n.Notify(event())
	<-mail.Arrived()
	if m := mail.Messages()[0]; !m.TLS || m.Auth != "clavis" {
		t.Fatalf("message over TLS %v, authenticated as %q", m.TLS, m.Auth)
	}
}

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtptest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
