package pkcs11

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// URI is a parsed PKCS#11 root-key URI (see the package documentation). It holds no secret: the PIN is
// only named by PINFile.
type URI struct {
	Token      string // token label; "" if not given
	Serial     string // token serial number; "" if not given
	SlotID     uint   // valid if HasSlotID
	HasSlotID  bool
	Object     string // key label (CKA_LABEL); never ""
	ID         []byte // key CKA_ID; nil if not given
	ModulePath string // absolute path of the PKCS#11 module
	PINFile    string // path of the file holding the user PIN
}

// maxPINFileSize bounds the PIN file: PINs are short, and a large file is a misconfiguration.
const maxPINFileSize = 1024

// unsupported names RFC 7512 attributes that this provider deliberately does not implement, with the
// reason given in the error.
var unsupported = map[string]string{
	"pin-value":            "the PIN must not be in the URI; use pin-source=file:<path>",
	"module-name":          "use module-path=<absolute path>",
	"manufacturer":         "select the token with token, serial or slot-id",
	"model":                "select the token with token, serial or slot-id",
	"library-manufacturer": "not supported",
	"library-description":  "not supported",
	"library-version":      "not supported",
	"slot-manufacturer":    "select the slot with slot-id",
	"slot-description":     "select the slot with slot-id",
}

// ParseURI parses a PKCS#11 root-key URI. Errors name the attribute at fault but never repeat a value or
// the URI, so that a PIN pasted into the URI by mistake is not echoed into logs.
func ParseURI(s string) (*URI, error) {
	const scheme = "pkcs11:"
	if len(s) < len(scheme) || !strings.EqualFold(s[:len(scheme)], scheme) {
		return nil, errors.New("pkcs11 URI: want pkcs11:<path attributes>?<query attributes>")
	}
	rest := s[len(scheme):]
	if strings.Contains(rest, "#") {
		return nil, errors.New("pkcs11 URI: unexpected '#' (percent-encode it as %23)")
	}
	path, query, _ := strings.Cut(rest, "?")
	p := &uriParser{u: &URI{}, seen: map[string]bool{}}
	if err := p.attrs(path, ";", "path"); err != nil {
		return nil, err
	}
	p.seen["slot-id"] = false // slot-id may be a path (RFC 7512) or a query attribute, but only once in all
	if err := p.attrs(query, "&", "query"); err != nil {
		return nil, err
	}
	if err := p.slot(); err != nil {
		return nil, err
	}
	if err := p.u.complete(); err != nil {
		return nil, err
	}
	return p.u, nil
}

// uriParser collects the attributes of one URI.
type uriParser struct {
	u       *URI
	seen    map[string]bool
	slotIDs []string
}

// attrs parses the sep-separated name=value attributes of one part (where: "path" or "query").
func (p *uriParser) attrs(part, sep, where string) error {
	for _, attr := range strings.Split(part, sep) {
		if attr == "" {
			continue
		}
		name, raw, ok := strings.Cut(attr, "=")
		if !ok {
			return fmt.Errorf("pkcs11 URI: a %s attribute has no '=' (want name=value)", where)
		}
		if why, bad := unsupported[name]; bad {
			return fmt.Errorf("pkcs11 URI: attribute %q is not accepted: %s", name, why)
		}
		if p.seen[name] {
			return fmt.Errorf("pkcs11 URI: attribute %q appears more than once", clip(name))
		}
		p.seen[name] = true
		val, err := url.PathUnescape(raw)
		if err != nil {
			return fmt.Errorf("pkcs11 URI: attribute %q: malformed percent-encoding", clip(name))
		}
		if val == "" {
			return fmt.Errorf("pkcs11 URI: attribute %q is empty", clip(name))
		}
		if err := p.set(where, name, val); err != nil {
			return err
		}
	}
	return nil
}

// set stores one attribute, or refuses one that does not belong where it stands.
func (p *uriParser) set(where, name, val string) error {
	u := p.u
	switch {
	case where == "path" && name == "token":
		u.Token = val
	case where == "path" && name == "serial":
		u.Serial = val
	case where == "path" && name == "object":
		u.Object = val
	case where == "path" && name == "id":
		u.ID = []byte(val)
	case where == "path" && name == "type":
		if val != "secret-key" {
			return errors.New("pkcs11 URI: type must be secret-key (the root key is an AES secret key)")
		}
	case name == "slot-id":
		p.slotIDs = append(p.slotIDs, val)
	case where == "query" && name == "module-path":
		u.ModulePath = val
	case where == "query" && name == "pin-source":
		f, err := pinSourcePath(val)
		if err != nil {
			return err
		}
		u.PINFile = f
	default:
		return fmt.Errorf("pkcs11 URI: unknown %s attribute %q", where, clip(name))
	}
	return nil
}

// slot parses the one slot-id, if any.
func (p *uriParser) slot() error {
	switch len(p.slotIDs) {
	case 0:
	case 1:
		id, err := strconv.ParseUint(p.slotIDs[0], 10, 0)
		if err != nil {
			return errors.New("pkcs11 URI: slot-id must be a decimal number")
		}
		p.u.SlotID, p.u.HasSlotID = uint(id), true
	default:
		return errors.New(`pkcs11 URI: attribute "slot-id" appears more than once`)
	}
	return nil
}

// complete reports the first required attribute u lacks.
func (u *URI) complete() error {
	switch {
	case u.Object == "":
		return errors.New("pkcs11 URI: missing object=<key label>")
	case u.Token == "" && u.Serial == "" && !u.HasSlotID:
		return errors.New("pkcs11 URI: missing token=<token label> (or serial= or slot-id=)")
	case u.ModulePath == "":
		return errors.New("pkcs11 URI: missing module-path=<absolute path of the PKCS#11 module>")
	case !filepath.IsAbs(u.ModulePath):
		return errors.New("pkcs11 URI: module-path must be an absolute path")
	case u.PINFile == "":
		return errors.New("pkcs11 URI: missing pin-source=file:<path of the PIN file>")
	}
	return nil
}

// pinSourcePath accepts file:<path> and file:///<absolute path> (file://localhost/… too).
func pinSourcePath(v string) (string, error) {
	p, ok := strings.CutPrefix(v, "file:")
	if !ok {
		return "", errors.New("pkcs11 URI: pin-source must be file:<path>")
	}
	if rest, ok := strings.CutPrefix(p, "//"); ok {
		host, path, _ := strings.Cut(rest, "/")
		if host != "" && host != "localhost" {
			return "", errors.New("pkcs11 URI: pin-source file URL must name a local file")
		}
		p = "/" + path
	}
	if p == "" || p == "/" {
		return "", errors.New("pkcs11 URI: pin-source file:<path> has no path")
	}
	return p, nil
}

// clip shortens an attribute name for an error message (a garbled URI could put anything there).
func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

// String renders u back as a URI (values percent-encoded). It contains no secret.
func (u *URI) String() string {
	var b strings.Builder
	b.WriteString("pkcs11:")
	var path []string
	if u.Token != "" {
		path = append(path, "token="+escape(u.Token))
	}
	if u.Serial != "" {
		path = append(path, "serial="+escape(u.Serial))
	}
	if u.HasSlotID {
		path = append(path, "slot-id="+strconv.FormatUint(uint64(u.SlotID), 10))
	}
	path = append(path, "object="+escape(u.Object))
	if u.ID != nil {
		path = append(path, "id="+escapeBytes(u.ID))
	}
	b.WriteString(strings.Join(path, ";"))
	b.WriteString("?module-path=" + escape(u.ModulePath) + "&pin-source=" + escape("file:"+u.PINFile))
	return b.String()
}

// escape percent-encodes everything but RFC 3986 unreserved characters, '/' and ':'.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~/:", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func escapeBytes(id []byte) string {
	var b strings.Builder
	for _, c := range id {
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// readPIN reads the user PIN from path. It refuses a non-regular file, a file that group or others can
// access, an empty or oversized file. One trailing "\n" or "\r\n" is dropped. Errors name the path only.
func readPIN(path string) (string, error) {
	f, err := os.Open(path) // #nosec G304 -- the operator's PIN file
	if err != nil {
		return "", fmt.Errorf("PIN file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("PIN file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("PIN file %s: not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return "", fmt.Errorf("PIN file %s: mode %04o lets group or others access it; want 0600 or 0400", path, perm)
	}
	buf, err := io.ReadAll(io.LimitReader(f, maxPINFileSize+1))
	if err != nil {
		return "", fmt.Errorf("PIN file %s: %w", path, err)
	}
	defer clear(buf)
	if len(buf) > maxPINFileSize {
		return "", fmt.Errorf("PIN file %s: larger than %d bytes", path, maxPINFileSize)
	}
	pin := bytes.TrimSuffix(buf, []byte("\n"))
	pin = bytes.TrimSuffix(pin, []byte("\r"))
	if len(pin) == 0 {
		return "", fmt.Errorf("PIN file %s: empty", path)
	}
	return string(pin), nil
}
