package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/smtp"
	"net/url"
	"strings"
	"time"
	"unicode"

	"clavis.dev/clavis"
)

// SMTPConfig is the mail server notices are sent through.
type SMTPConfig struct {
	Host, Port string
	User       string
	Password   string // from a file, never a flag
	From       string
	// TLS configures STARTTLS (nil: verify the server's certificate for Host with the system roots).
	TLS *tls.Config
}

// ParseSMTPURL parses smtp://[user@]host:port (the password comes from a file). from is the sender
// address.
func ParseSMTPURL(raw, password, from string) (*SMTPConfig, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "smtp" || u.Hostname() == "" || u.Port() == "" || u.Path != "" && u.Path != "/" {
		return nil, errors.New("--smtp-url: want smtp://[user@]host:port")
	}
	if _, set := u.User.Password(); set {
		return nil, errors.New("--smtp-url: put the password in --smtp-password-file, not in the URL")
	}
	if from == "" || strings.ContainsAny(from, "\r\n<>") || !strings.Contains(from, "@") {
		return nil, errors.New("--smtp-from: want an email address")
	}
	return &SMTPConfig{Host: u.Hostname(), Port: u.Port(), User: u.User.Username(), Password: password, From: from}, nil
}

// loopback reports whether the mail server is on this host (where plaintext is acceptable).
func (s *SMTPConfig) loopback() bool {
	if s.Host == "localhost" {
		return true
	}
	ip := net.ParseIP(s.Host)
	return ip != nil && ip.IsLoopback()
}

// send delivers msg to the recipients. It upgrades with STARTTLS when the server offers it and refuses
// to go on in plaintext to a server on another host; it authenticates (PLAIN) when a user is set.
func (s *SMTPConfig) send(ctx context.Context, to []string, msg []byte) error {
	d := net.Dialer{}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(s.Host, s.Port))
	if err != nil {
		return err
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		_ = conn.Close()
		return err
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := s.TLS
		if cfg == nil {
			cfg = &tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(cfg); err != nil {
			return permanent{fmt.Errorf("STARTTLS: %w", err)}
		}
	} else if !s.loopback() {
		return permanent{errors.New("the mail server does not offer STARTTLS; refusing to send in plaintext")}
	}
	if s.User != "" {
		if err := c.Auth(smtp.PlainAuth("", s.User, s.Password, s.Host)); err != nil {
			return permanent{fmt.Errorf("SMTP authentication: %w", err)}
		}
	}
	if err := c.Mail(s.From); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// message is the email of a notice: who asks what, and the link to decide. Names come from users, so
// they are stripped of control characters (no header injection) and the subject is RFC 2047 encoded.
func message(from string, n *clavis.Notice) []byte {
	agent := clean(n.AgentName)
	var subject, text string
	switch n.Type {
	case clavis.NoticeApprovalRequested:
		what := "a policy change"
		if n.Action == clavis.ApprovalSecretAccess {
			what = fmt.Sprintf("one-time %s access to %s", clean(n.Permission), clean(n.Path))
		}
		subject = fmt.Sprintf("Clavis: agent %s asks for %s in vault %s", agent, what, clean(n.VaultName))
		text = fmt.Sprintf("The agent %q asks for %s in the vault %q.\n\nApprove or reject it here:\n%s\n",
			agent, what, clean(n.VaultName), n.URL)
	case clavis.NoticeEnrollmentRequested:
		subject = fmt.Sprintf("Clavis: agent %s asks to be enrolled", agent)
		text = fmt.Sprintf("An agent named %q asks you to register it in your organisation.\n\n"+
			"Approve or deny it here:\n%s\n\nIf you do not expect this, deny it.\n", agent, n.URL)
	default:
		subject = "Clavis: " + n.Type
		text = fmt.Sprintf("%s (%s)\n%s\n", n.Type, n.Status, n.URL)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\n", from)
	fmt.Fprintf(&b, "To: %s\r\n", joinAddrs(n.Recipients))
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", subject))
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@clavis>\r\n", n.ID)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(text, "\n", "\r\n"))
	return b.Bytes()
}

// clean drops control characters (CR and LF included) from a user-chosen name.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}

func joinAddrs(as []string) string { return strings.Join(as, ", ") }
