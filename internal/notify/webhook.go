package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/netguard"
)

func newID() string { return uuid.NewString() }

// Signature headers of a webhook POST. X-Clavis-Signature is "t=<unix seconds>,v1=<hex>", where the hex
// is HMAC-SHA256(secret, "<unix seconds>.<body>"): a receiver recomputes it over the raw body, compares
// in constant time and refuses old timestamps (replays).
const (
	HeaderSignature = "X-Clavis-Signature"
	HeaderEvent     = "X-Clavis-Event"
	HeaderDelivery  = "X-Clavis-Delivery"
)

// Webhook is one destination of notices.
type Webhook struct {
	url    *url.URL
	secret []byte
	client *http.Client
}

// NewWebhook returns a webhook that POSTs to rawURL (http or https, no user info), signing with secret
// (at least 16 bytes) and dialling only through guard.
func NewWebhook(rawURL string, secret []byte, guard *netguard.Guard) (*Webhook, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("webhook %q: want an http(s) URL without credentials", redactURL(rawURL))
	}
	if len(secret) < 16 {
		return nil, errors.New("webhook secret: want at least 16 bytes")
	}
	c := &http.Client{Transport: guard.Transport(),
		// A redirect would leave the validated destination: not followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &Webhook{url: u, secret: secret, client: c}, nil
}

// Target names the destination for logs and delivery records: scheme, host and path (no query, which
// may carry a token).
func (h *Webhook) Target() string { return h.url.Scheme + "://" + h.url.Host + h.url.Path }

// redactURL keeps what Target keeps of a URL that may not parse.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Scheme + "://" + u.Host + u.Path
}

// Sign returns the X-Clavis-Signature value of body at time at.
func Sign(secret, body []byte, at time.Time) string {
	ts := strconv.FormatInt(at.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// post sends the notice once. A refusal by the network guard, and a 4xx answer other than 408 and 429,
// are permanent: retrying cannot help.
func (h *Webhook) post(ctx context.Context, n *clavis.Notice) error {
	body, err := json.Marshal(n)
	if err != nil {
		return permanent{err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url.String(), bytes.NewReader(body))
	if err != nil {
		return permanent{err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "clavis-notify")
	req.Header.Set(HeaderEvent, n.Type)
	req.Header.Set(HeaderDelivery, n.ID)
	req.Header.Set(HeaderSignature, Sign(h.secret, body, time.Now()))
	res, err := h.client.Do(req) // #nosec G704 -- the operator's webhook URL, dialled through the network guard
	if err != nil {
		if refused(err) {
			return permanent{err}
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may carry a token in its query: name the target instead
		}
		return fmt.Errorf("POST %s: %w", h.Target(), err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
		return nil
	case res.StatusCode == http.StatusRequestTimeout || res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500:
		return fmt.Errorf("POST %s: status %d", h.Target(), res.StatusCode)
	}
	return permanent{fmt.Errorf("POST %s: status %d", h.Target(), res.StatusCode)}
}

// refused reports whether the network guard refused the destination.
func refused(err error) bool { return errors.Is(err, netguard.ErrRefused) }
