package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// writePair writes a self-signed certificate for 127.0.0.1 with the given serial, and its key, as PEM
// files (the key 0600), and returns the certificate.
func writePair(t *testing.T, certFile, keyFile string, serial int64) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: "clavis test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// lockedBuffer is a bytes.Buffer safe for the server goroutine to write while the test reads, and that
// wakes up waiters (await) on every write.
type lockedBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{} // closed, and replaced, by every write
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.wrote != nil {
		close(l.wrote)
	}
	l.wrote = make(chan struct{})
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	s, _ := l.next()
	return s
}

// next returns the contents and a channel closed by the next write.
func (l *lockedBuffer) next() (string, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.wrote == nil {
		l.wrote = make(chan struct{})
	}
	return l.b.String(), l.wrote
}

// await blocks until match accepts the log written so far, checking on every write, and fails the test
// when timeout passes first or when the server sends its result on done (which await puts back for the
// test's cleanup to receive; a nil done is never ready).
func (l *lockedBuffer) await(t *testing.T, timeout time.Duration, done chan error, what string, match func(log string) bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s, wrote := l.next()
		if match(s) {
			return
		}
		select {
		case <-wrote:
		case err := <-done:
			done <- err
			t.Fatalf("server exited while waiting for %s: %v\n%s", what, err, l.String())
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s:\n%s", what, l.String())
		}
	}
}

// startServer runs `clavis server args…` in this process until the test ends and returns the address
// from its "clavis listening" log line and its log.
func startServer(t *testing.T, args ...string) (string, *lockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &lockedBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"server"}, args...), io.Discard, logs) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	re := regexp.MustCompile(`"msg":"clavis listening","addr":"([^"]+)"`)
	var addr string
	logs.await(t, 60*time.Second, done, "the server to start", func(log string) bool {
		m := re.FindStringSubmatch(log)
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})
	return addr, logs
}

// servedSerial makes a new TLS connection to addr and returns the serial of the certificate it gets.
func servedSerial(t *testing.T, addr string, roots *x509.CertPool) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots})
	if err != nil {
		t.Fatalf("TLS dial: %v", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

// TestServeTLS: with --tls-cert/--tls-key the server speaks HTTPS only (TLS 1.2 or later), advertises
// an https public URL, and on SIGHUP serves a new pair to new connections while open connections go on;
// a bad pair at reload keeps the old one and says why.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	first := writePair(t, certFile, keyFile, 1001)
	addr, logs := startServer(t, "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"),
		"--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.Contains(logs.String(), `"public_url":"https://`+addr+`"`) {
		t.Errorf("public URL is not https://%s by default:\n%s", addr, logs.String())
	}

	roots := x509.NewCertPool()
	roots.AddCert(first)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	res, err := hc.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("HTTPS: %v", err)
	}
	_, _ = io.Copy(io.Discard, res.Body) // only the status and the connection state matter
	_ = res.Body.Close()
	if res.StatusCode != 200 || res.TLS == nil || res.TLS.Version < tls.VersionTLS12 ||
		res.TLS.PeerCertificates[0].SerialNumber.Int64() != 1001 {
		t.Fatalf("HTTPS /healthz: %d, TLS %+v", res.StatusCode, res.TLS)
	}

	// Plaintext HTTP and TLS 1.1 are refused.
	if res, err := http.Get("http://" + addr + "/healthz"); err == nil {
		_ = res.Body.Close() // only the status matters
		if res.StatusCode == 200 {
			t.Errorf("plaintext HTTP answered 200 on the TLS port")
		}
	}
	// #nosec G402 -- a client too old on purpose: the server must refuse it.
	if c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, MaxVersion: tls.VersionTLS11}); err == nil {
		_ = c.Close() // the handshake result is the finding
		t.Errorf("a TLS 1.1 handshake succeeded")
	}
	// TLS 1.2 without ECDHE or with CBC is refused.
	// #nosec G402 -- a CBC suite on purpose: the server must refuse it.
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}})
	if err == nil {
		_ = c.Close() // the handshake result is the finding
		t.Errorf("a TLS 1.2 CBC handshake succeeded")
	}

	// Reload: a new pair in the same files, then SIGHUP.
	second := writePair(t, certFile, keyFile, 2002)
	roots.AddCert(second)
	sighupAndAwait(t, logs, `"msg":"TLS certificate reloaded","serial":"2002"`)
	if got := servedSerial(t, addr, roots); got != "2002" {
		t.Fatalf("after the reload the server serves serial %s, want 2002", got)
	}
	// The connection opened before the reload is still open and in use.
	var reused bool
	req, _ := http.NewRequest("GET", "https://"+addr+"/healthz", nil)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}))
	res, err = hc.Do(req)
	if err != nil {
		t.Fatalf("request on the connection opened before the reload: %v", err)
	}
	_ = res.Body.Close() // only the connection state matters
	if !reused || res.TLS.PeerCertificates[0].SerialNumber.Int64() != 1001 {
		t.Errorf("after the reload: reused %v, serial %v; want the old connection kept (serial 1001)", reused, res.TLS.PeerCertificates[0].SerialNumber)
	}

	// A bad pair at reload: the old one stays, and the log says why.
	if err := os.WriteFile(keyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	sighupAndAwait(t, logs, "TLS reload failed; keeping the previous certificate")
	if got := servedSerial(t, addr, roots); got != "2002" {
		t.Errorf("after a failed reload the server serves serial %s, want 2002", got)
	}
}

// sighupAndAwait sends SIGHUP to this process (the server under test reloads its pair) and waits for a
// log line that contains line.
func sighupAndAwait(t *testing.T, logs *lockedBuffer, line string) {
	t.Helper()
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	logs.await(t, 10*time.Second, nil, "the log line "+line, func(log string) bool { return strings.Contains(log, line) })
}

// TestTLSStartErrors: a bad or incomplete pair stops the server at start with an error naming the flags.
func TestTLSStartErrors(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writePair(t, certFile, keyFile, 1)
	otherCert, otherKey := filepath.Join(dir, "o.crt"), filepath.Join(dir, "o.key")
	writePair(t, otherCert, otherKey, 2)
	readable := filepath.Join(dir, "readable.key")
	b, _ := os.ReadFile(keyFile) // #nosec G304 -- a test temp file
	// #nosec G306 G703 -- world-readable on purpose: the server must refuse it.
	if err := os.WriteFile(readable, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"mismatched pair", []string{"--tls-cert", certFile, "--tls-key", otherKey}, "--tls-cert"},
		{"missing key file", []string{"--tls-cert", certFile, "--tls-key", filepath.Join(dir, "none")}, "--tls-key"},
		{"cert without key", []string{"--tls-cert", certFile}, "--tls-key"},
		{"world-readable key", []string{"--tls-cert", certFile, "--tls-key", readable}, "chmod 600"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"server", "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "d")}, tc.args...)
			err := run(context.Background(), args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestPlaintextOnlyOnLoopback: plaintext HTTP on a non-loopback address is refused unless
// --insecure-http is given, and then the server says so in its log.
func TestPlaintextOnlyOnLoopback(t *testing.T) {
	data := filepath.Join(t.TempDir(), "d")
	err := run(context.Background(), []string{"server", "--listen", "0.0.0.0:0", "--data-dir", data}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--insecure-http") || !strings.Contains(err.Error(), "--tls-cert") {
		t.Fatalf("plaintext on 0.0.0.0: err = %v, want a refusal naming --tls-cert and --insecure-http", err)
	}
	if _, err := os.Stat(data); err == nil {
		t.Errorf("the refused server created its data directory")
	}
	addr, logs := startServer(t, "--listen", "0.0.0.0:0", "--data-dir", data, "--insecure-http")
	if n := strings.Count(logs.String(), "--insecure-http"); n != 1 {
		t.Errorf("log lines about --insecure-http: %d, want 1\n%s", n, logs.String())
	}
	_, port, _ := net.SplitHostPort(addr)
	res, err := http.Get("http://127.0.0.1:" + port + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close() // only the status matters
	if res.StatusCode != 200 {
		t.Errorf("/healthz = %d", res.StatusCode)
	}
}
