package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

// listenSecurity decides how the server on addr is reached: with --tls-cert/--tls-key it loads the pair
// and returns the certificate holder (HTTPS); otherwise it returns nil (plaintext HTTP), which it allows
// on a loopback address, and elsewhere only with --insecure-http, saying so in one log line.
func listenSecurity(cfg *serverConfig, addr *net.TCPAddr, log *slog.Logger) (*certificates, error) {
	if cfg.tlsCert != "" {
		certs, err := loadCertificates(cfg.tlsCert, cfg.tlsKey)
		if err != nil {
			return nil, err
		}
		leaf := certs.current.Load().Leaf
		log.Info("serving HTTPS", "cert", cfg.tlsCert, "serial", leaf.SerialNumber.String(), "not_after", leaf.NotAfter)
		if time.Now().After(leaf.NotAfter) {
			log.Warn("the TLS certificate has expired; clients will refuse it", "not_after", leaf.NotAfter)
		}
		return certs, nil
	}
	if addr.IP.IsLoopback() {
		return nil, nil
	}
	if !cfg.insecureHTTP {
		return nil, fmt.Errorf("refusing plaintext HTTP on non-loopback address %s: give --tls-cert and --tls-key, "+
			"or --insecure-http when a TLS-terminating proxy is in front", addr)
	}
	log.Warn("serving plaintext HTTP on a non-loopback address (--insecure-http): only behind a TLS-terminating proxy", "addr", addr.String())
	return nil, nil
}

// certificates holds the served certificate: a reload swaps the pointer, so handshakes in progress and
// open connections keep the pair they started with, and new handshakes get the new one.
type certificates struct {
	certFile, keyFile string
	current           atomic.Pointer[tls.Certificate]
}

// loadCertificates loads the PEM pair, or says clearly why it cannot.
func loadCertificates(certFile, keyFile string) (*certificates, error) {
	c := &certificates{certFile: certFile, keyFile: keyFile}
	if err := c.reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// reload reads the pair again and serves it from the next handshake on; on error the previous pair stays.
func (c *certificates) reload() error {
	if fi, err := os.Stat(c.keyFile); err == nil && fi.Mode().Perm()&0o004 != 0 { // #nosec G703 -- the operator's --tls-key
		return fmt.Errorf("--tls-key %s: every user can read it (mode %v); chmod 600 it", c.keyFile, fi.Mode().Perm())
	}
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("--tls-cert %s / --tls-key %s: %v", c.certFile, c.keyFile, err)
	}
	if pair.Leaf == nil {
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return fmt.Errorf("--tls-cert %s: %v", c.certFile, err)
		}
	}
	c.current.Store(&pair)
	return nil
}

// tlsConfig is TLS 1.2 and later; for 1.2 only ECDHE key exchange with AEAD ciphers (1.3's are all AEAD).
func (c *certificates) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return c.current.Load(), nil },
	}
}

// reloadOnSIGHUP reloads the pair on every SIGHUP until the returned stop is called; SIGHUP is caught
// from the moment it returns. A bad pair is logged and the old one kept.
func (c *certificates) reloadOnSIGHUP(log *slog.Logger) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		for {
			select {
			case <-done:
				return
			case <-hup:
				old := c.current.Load().Leaf.SerialNumber.String()
				if err := c.reload(); err != nil {
					log.Error("TLS reload failed; keeping the previous certificate", "serial", old, "err", err.Error())
					continue
				}
				leaf := c.current.Load().Leaf
				log.Info("TLS certificate reloaded", "serial", leaf.SerialNumber.String(), "previous_serial", old, "not_after", leaf.NotAfter)
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
		<-exited
	}
}
