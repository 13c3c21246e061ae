package egress

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/netguard"
)

// MaxBody caps a request body, and a response body after decoding and redaction (1 MiB).
const MaxBody = 1 << 20

// Error categories of a failed send, recorded as the `error` of secret.use_result (use.md §4).
const (
	CatDNS      = "dns"
	CatGuard    = "guard"
	CatConnect  = "connect"
	CatTLS      = "tls"
	CatTimeout  = "timeout"
	CatTooLarge = "too_large"
	CatEncoding = "encoding"
	CatProtocol = "protocol"
)

// SendError is a failed send: Category names what failed; the cause is kept for nothing (a Go error
// string may hold the URL with its query).
type SendError struct{ Category string }

func (e *SendError) Error() string { return "upstream " + e.Category + " failure" }

// Client sends prepared uses through the network guard. It is safe for concurrent use.
type Client struct {
	guard *netguard.Guard
	http  *http.Client
}

// New returns a client whose every connection goes through g and that follows no redirect.
func New(g *netguard.Guard) *Client {
	c := &Client{guard: g}
	t := g.Transport()
	t.DialContext = c.dial
	c.http = &http.Client{Transport: t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return c
}

// pinned is the context key of the addresses CheckDestination validated for a call's host.
type pinned struct{}

// dial connects to the addresses validated for the call (no second resolution: DNS rebinding fails),
// checking each again; without them (the lookup failed before), the guard resolves and validates.
func (c *Client) dial(ctx context.Context, network, address string) (net.Conn, error) {
	addrs, _ := ctx.Value(pinned{}).([]netip.Addr)
	if len(addrs) == 0 {
		return c.guard.DialContext(ctx, network, address)
	}
	_, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	var first error
	for _, a := range addrs {
		if err := c.guard.Check(a); err != nil {
			return nil, err
		}
		conn, err := d.DialContext(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
		if err == nil {
			return conn, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}

// LiteralAllowed reports whether a config may name addr as a host (--use-allow-private covers it).
func (c *Client) LiteralAllowed(addr netip.Addr) bool { return c.guard.Check(addr) == nil }

// CheckDestination resolves t's host and refuses it (KindDestinationNotAllowed, "private address") when
// the guard refuses any of its addresses; it returns the validated addresses, which Send dials without
// resolving again. A failed lookup is not refused here (nil addresses): Send then resolves and reports
// it (dns), after the use is audited.
func (c *Client) CheckDestination(ctx context.Context, t *Target) ([]netip.Addr, error) {
	addrs, err := c.guard.Resolve(ctx, t.Host)
	if errors.Is(err, netguard.ErrRefused) {
		return nil, clavis.E(clavis.KindDestinationNotAllowed, "private address")
	}
	if err != nil {
		return nil, nil
	}
	return addrs, nil
}

// droppedHeaders are never taken from the caller (use.md §3), besides Proxy-*, X-Forwarded-* and the
// injection slot.
var droppedHeaders = []string{"Host", "Authorization", "Cookie", "Forwarded", "X-Http-Method-Override",
	"X-Method-Override", "X-Original-Url", "X-Rewrite-Url", "Content-Length", "Transfer-Encoding", "Expect",
	"Range", "If-Range", "Accept-Encoding", "Connection", "Keep-Alive", "Te", "Trailer", "Upgrade"}

// hopByHop are response headers that describe the connection, not the answer.
var hopByHop = []string{"connection", "keep-alive", "proxy-connection", "proxy-authenticate", "te", "trailer",
	"transfer-encoding", "upgrade", "set-cookie", "set-cookie2",
	// the body is returned decoded and redacted: its encoding and length no longer hold
	"content-encoding", "content-length"}

// CheckHeaders refuses header names that are not tokens and values with a control character (400).
func CheckHeaders(h map[string]string) error {
	for k, v := range h {
		if !isToken(k) || !headerSafe(v) {
			return clavis.Invalid("headers", "headers must have valid names and values without CR, LF or NUL")
		}
	}
	return nil
}

// Call is one use, ready to send.
type Call struct {
	Target  *Target
	Headers map[string]string // the caller's; dropped ones are ignored
	Body    []byte
	Timeout time.Duration
	Inject  clavis.UseInject
	Value   []byte
	Addrs   []netip.Addr // what CheckDestination validated for Target's host; nil: resolve at dial time
}

// slot returns the header that carries the value (name and value), or "" for a query slot.
func slot(inj clavis.UseInject, value []byte) (name, v string) {
	switch inj.As {
	case clavis.InjectBearer:
		return "Authorization", "Bearer " + string(value)
	case clavis.InjectBasic:
		cred := string(value) + ":"
		if inj.Username != nil {
			cred = *inj.Username + ":" + string(value)
		} else if inj.Password != nil {
			cred += *inj.Password
		}
		return "Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(cred))
	case clavis.InjectHeader:
		return http.CanonicalHeaderKey(inj.Name), inj.Prefix + string(value)
	}
	return "", ""
}

// Send makes the request with the value in its slot and returns the answer redacted. A 3xx is returned,
// not followed. Errors: *SendError for every failure after the request started.
func (c *Client) Send(ctx context.Context, call Call) (*clavis.UseResult, error) {
	ctx, cancel := context.WithTimeout(ctx, call.Timeout)
	defer cancel()
	if len(call.Addrs) > 0 {
		ctx = context.WithValue(ctx, pinned{}, call.Addrs)
	}
	u := *call.Target.URL
	slotName, slotValue := slot(call.Inject, call.Value)
	extra := []string{slotValue}
	if call.Inject.As == clavis.InjectQuery {
		param := url.QueryEscape(call.Inject.Name) + "=" + url.QueryEscape(string(call.Value))
		if u.RawQuery != "" {
			u.RawQuery += "&"
		}
		u.RawQuery += param
		extra = append(extra, param)
	}
	if call.Inject.As == clavis.InjectBasic {
		extra = append(extra, strings.TrimPrefix(slotValue, "Basic "))
	}
	red := NewRedactor(call.Value, extra...)
	req, err := http.NewRequestWithContext(ctx, call.Target.Method, u.String(), bytes.NewReader(call.Body))
	if err != nil {
		return nil, &SendError{Category: CatProtocol}
	}
	req.ContentLength = int64(len(call.Body))
	if len(call.Body) == 0 {
		req.Body, req.GetBody = http.NoBody, nil
	}
	for k, v := range call.Headers {
		ck := http.CanonicalHeaderKey(k)
		if slices.Contains(droppedHeaders, ck) || ck == slotName || strings.HasPrefix(ck, "Proxy-") || strings.HasPrefix(ck, "X-Forwarded-") {
			continue
		}
		req.Header[ck] = []string{v}
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "clavis")
	}
	req.Header.Set("Accept-Encoding", "identity")
	if slotName != "" {
		req.Header.Set(slotName, slotValue)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &SendError{Category: category(ctx, err)}
	}
	defer func() { _ = resp.Body.Close() }()
	body, truncated, err := readBody(resp, MaxBody+red.Longest())
	if err != nil {
		if se := (*SendError)(nil); errors.As(err, &se) {
			return nil, se
		}
		return nil, &SendError{Category: category(ctx, err)}
	}
	out := &clavis.UseResult{Status: resp.StatusCode, Headers: map[string][]string{}}
	body, out.Redactions = red.Redact(body)
	if len(body) > MaxBody {
		body, truncated = body[:MaxBody], true
	}
	out.Body, out.Truncated = body, truncated
	for k, vs := range resp.Header {
		name := strings.ToLower(k)
		if slices.Contains(hopByHop, name) {
			continue
		}
		name, n := red.RedactString(name)
		out.Redactions += n
		for _, v := range vs {
			v, n := red.RedactString(v)
			out.Redactions += n
			out.Headers[name] = append(out.Headers[name], v)
		}
	}
	return out, nil
}

// readBody reads at most limit decoded bytes of the answer; truncated reports that there was more.
func readBody(resp *http.Response, limit int) ([]byte, bool, error) {
	var r io.Reader = resp.Body
	switch enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(resp.Body)
		if errors.Is(err, io.EOF) {
			return nil, false, nil // an empty body
		}
		if err != nil {
			return nil, false, encodingError(err)
		}
		r = zr
	case "deflate":
		// RFC 9110 deflate is zlib; some servers send raw deflate: tell them apart by the zlib header.
		br := bufio.NewReader(resp.Body)
		head, _ := br.Peek(2)
		if len(head) == 2 && head[0]&0x0f == 8 && (uint16(head[0])<<8|uint16(head[1]))%31 == 0 {
			zr, err := zlib.NewReader(br)
			if err != nil {
				return nil, false, encodingError(err)
			}
			r = zr
		} else {
			r = flate.NewReader(br)
		}
	default:
		return nil, false, &SendError{Category: CatEncoding}
	}
	b, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, false, encodingError(err)
	}
	if len(b) > limit {
		return b[:limit], true, nil
	}
	return b, false, nil
}

// encodingError classifies a failure while reading the body: a corrupt compressed stream is an
// encoding failure; anything else (a timeout, a broken connection) is returned as is.
func encodingError(err error) error {
	var ce flate.CorruptInputError
	if errors.As(err, &ce) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) ||
		errors.Is(err, zlib.ErrHeader) || errors.Is(err, zlib.ErrChecksum) {
		return &SendError{Category: CatEncoding}
	}
	return err
}

// category names a transport failure for the audit log.
func category(ctx context.Context, err error) string {
	var refused *netguard.RefusedError
	var lookup *netguard.LookupError
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var alert tls.AlertError
	var record tls.RecordHeaderError
	var opErr *net.OpError
	var ne net.Error
	switch {
	case errors.As(err, &refused):
		return CatGuard
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return CatTimeout
	case errors.As(err, &lookup) || errors.As(err, &dnsErr):
		return CatDNS
	case errors.As(err, &certErr) || errors.As(err, &unknownAuth) || errors.As(err, &hostErr) ||
		errors.As(err, &alert) || errors.As(err, &record):
		return CatTLS
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return CatConnect
	}
	return CatProtocol
}
