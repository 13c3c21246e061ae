package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"clavis.dev/clavis/internal/netguard"
	"clavis.dev/clavis/internal/notify"
)

// notifyConfig is the notification settings of clavis server.
type notifyConfig struct {
	webhooks                            []string
	webhookSecretFile, allowPrivate     string
	smtpURL, smtpPasswordFile, smtpFrom string
}

// declareNotifyFlags declares the notification settings on s.
func declareNotifyFlags(s *settings, c *notifyConfig) {
	fs, env := s.fs, s.env
	s.funcVar("notify-webhook", "POST a signed JSON notice of every approval and enrolment request and decision to this URL (repeatable)",
		func(v string) error { c.webhooks = append(c.webhooks, v); return nil })
	fs.StringVar(&c.webhookSecretFile, "notify-webhook-secret-file", env("notify-webhook-secret-file", ""),
		"file holding the HMAC-SHA256 key that signs webhook notices (X-Clavis-Signature); required with --notify-webhook")
	fs.StringVar(&c.allowPrivate, "notify-allow-private", env("notify-allow-private", ""),
		"comma-separated CIDRs of private or loopback webhook destinations to allow (refused by default)")
	fs.StringVar(&c.smtpURL, "smtp-url", env("smtp-url", ""),
		"email the humans who should decide through this mail server: smtp://[user@]host:port (STARTTLS when offered; required unless on this host)")
	fs.StringVar(&c.smtpPasswordFile, "smtp-password-file", env("smtp-password-file", ""), "file holding the SMTP password of --smtp-url's user")
	fs.StringVar(&c.smtpFrom, "smtp-from", env("smtp-from", ""), "sender address of notification emails (default clavis@<host of --smtp-url>)")
}

// readSecretFile reads a secret from a file, without its trailing newline.
func readSecretFile(flag, path string) ([]byte, error) {
	b, err := os.ReadFile(path) // #nosec G304 -- the operator's own secret file
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flag, err)
	}
	return []byte(strings.TrimRight(string(b), "\r\n")), nil
}

// newNotifier builds the notifier of c; it delivers nothing until started, and nothing at all when no
// channel is configured.
func newNotifier(c *notifyConfig, log *slog.Logger) (*notify.Notifier, error) {
	opt := notify.Options{Logger: log}
	if len(c.webhooks) > 0 {
		if c.webhookSecretFile == "" {
			return nil, fmt.Errorf("--notify-webhook needs --notify-webhook-secret-file")
		}
		secret, err := readSecretFile("notify-webhook-secret-file", c.webhookSecretFile)
		if err != nil {
			return nil, err
		}
		allow, err := netguard.ParsePrefixes(c.allowPrivate)
		if err != nil {
			return nil, fmt.Errorf("--notify-allow-private: %w", err)
		}
		guard := netguard.New(allow)
		for _, u := range c.webhooks {
			h, err := notify.NewWebhook(u, secret, guard)
			if err != nil {
				return nil, fmt.Errorf("--notify-webhook: %w", err)
			}
			opt.Webhooks = append(opt.Webhooks, h)
		}
	}
	if c.smtpURL != "" {
		var password []byte
		if c.smtpPasswordFile != "" {
			var err error
			if password, err = readSecretFile("smtp-password-file", c.smtpPasswordFile); err != nil {
				return nil, err
			}
		}
		from := c.smtpFrom
		if from == "" {
			host := c.smtpURL
			if i := strings.LastIndex(host, "@"); i >= 0 {
				host = host[i+1:]
			}
			host = strings.TrimPrefix(host, "smtp://")
			if i := strings.IndexAny(host, ":/"); i >= 0 {
				host = host[:i]
			}
			from = "clavis@" + host
		}
		smtp, err := notify.ParseSMTPURL(c.smtpURL, string(password), from)
		if err != nil {
			return nil, err
		}
		opt.SMTP = smtp
	}
	return notify.New(opt), nil
}
