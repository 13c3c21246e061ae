// Package smtptest runs a minimal SMTP server on loopback that records the messages it receives. Tests
// only: it speaks just enough of RFC 5321 for net/smtp (EHLO, optional STARTTLS and AUTH PLAIN, MAIL,
// RCPT, DATA, RSET, NOOP, QUIT).
package smtptest

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"net"
	"strings"
	"sync"
	"testing"
)

// Message is one received message.
type Message struct {
	From string
	To   []string
	Data string // headers and body, dot-unstuffed, CRLF line ends
	Auth string // the AUTH PLAIN user, if any
	TLS  bool   // whether the session had upgraded with STARTTLS
}

// Server is a running test SMTP server.
type Server struct {
	Addr     string // host:port
	TLS      *tls.Config
	mu       sync.Mutex
	messages []Message
	arrived  chan struct{}
}

// Start starts a server on 127.0.0.1; it offers STARTTLS when tlsConfig is set. It stops with the test.
func Start(t testing.TB, tlsConfig *tls.Config) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: ln.Addr().String(), TLS: tlsConfig, arrived: make(chan struct{}, 100)}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); s.serve(c) }()
		}
	}()
	return s
}

// Messages returns the messages received so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Arrived receives a value for every message received.
func (s *Server) Arrived() <-chan struct{} { return s.arrived }

func (s *Server) serve(c net.Conn) {
	defer c.Close()
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	say := func(line string) { _, _ = w.WriteString(line + "\r\n"); _ = w.Flush() }
	say("220 smtptest ready")
	var m Message
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			lines := []string{"250-smtptest", "250-AUTH PLAIN"}
			if s.TLS != nil && !m.TLS {
				lines = append(lines, "250-STARTTLS")
			}
			lines = append(lines, "250 8BITMIME")
			for _, l := range lines {
				_, _ = w.WriteString(l + "\r\n")
			}
			_ = w.Flush()
		case "STARTTLS":
			if s.TLS == nil {
				say("502 not offered")
				continue
			}
			say("220 go ahead")
			tc := tls.Server(c, s.TLS)
			if err := tc.Handshake(); err != nil {
				return
			}
			c, r, w = tc, bufio.NewReader(tc), bufio.NewWriter(tc)
			say = func(line string) { _, _ = w.WriteString(line + "\r\n"); _ = w.Flush() }
			m = Message{TLS: true}
		case "AUTH":
			_, b64, _ := strings.Cut(arg, " ")
			raw, _ := base64.StdEncoding.DecodeString(b64)
			parts := strings.Split(string(raw), "\x00")
			if len(parts) == 3 {
				m.Auth = parts[1]
			}
			say("235 ok")
		case "MAIL":
			m.From = addr(arg)
			say("250 ok")
		case "RCPT":
			m.To = append(m.To, addr(arg))
			say("250 ok")
		case "DATA":
			say("354 go ahead")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			m.Data = b.String()
			s.mu.Lock()
			s.messages = append(s.messages, m)
			s.mu.Unlock()
			s.arrived <- struct{}{}
			m = Message{TLS: m.TLS, Auth: m.Auth}
			say("250 queued")
		case "RSET", "NOOP":
			say("250 ok")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("500 unknown command")
		}
	}
}

// addr returns the address between < and > of a MAIL FROM or RCPT TO argument.
func addr(arg string) string {
	_, rest, _ := strings.Cut(arg, "<")
	a, _, _ := strings.Cut(rest, ">")
	return a
}
