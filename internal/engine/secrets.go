package engine

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/policy"
	"clavis.dev/clavis/internal/store"
)

const maxMetadataBytes = 16 << 10

var (
	errDeleted   = clavis.E(clavis.KindGone, "Secret has been deleted")
	errExpired   = clavis.E(clavis.KindGone, "Secret has expired")
	errExhausted = clavis.E(clavis.KindGone, "Secret access limit reached")
	errDisabled  = clavis.E(clavis.KindGone, "Secret version is disabled")
)

// validSecretType reports whether t is one of the spec's types (§4.5.2).
func validSecretType(t string) bool { return slices.Contains(clavis.SecretTypes(), t) }

// normalizeMetadata checks that raw is a JSON object of at most 16 KiB and returns it ("{}" when empty).
func normalizeMetadata(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage("{}"), nil
	}
	if raw[0] != '{' || !json.Valid(raw) {
		return nil, clavis.Invalid("metadata", "metadata must be a JSON object")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, clavis.Invalid("metadata", "metadata must be a JSON object")
	}
	if buf.Len() > maxMetadataBytes {
		return nil, clavis.Invalid("metadata", "metadata exceeds 16 KiB")
	}
	return buf.Bytes(), nil
}

// validateEnvBundle checks KEY=VALUE lines (spec §4.5.2).
func validateEnvBundle(v string) error {
	for i, line := range strings.Split(v, "\n") {
		line = strings.TrimSuffix(line, "\r")
		t := strings.TrimLeft(line, " \t")
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		key, _, ok := strings.Cut(line, "=")
		if !ok || !envKey(key) {
			return clavis.Invalid("value", "env_bundle line "+strconv.Itoa(i+1)+" is not KEY=VALUE with KEY matching [A-Za-z_][A-Za-z0-9_]*")
		}
	}
	return nil
}

func envKey(k string) bool {
	if k == "" {
		return false
	}
	for i, r := range k {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func secretDetails(vaultID, path string, version int) map[string]any {
	return map[string]any{"vault_id": vaultID, "path": path, "version": version}
}

// newVersion writes version N+1 of the secret at path (creating or reviving it) inside tx.
func (e *Engine) newVersion(ctx context.Context, tx store.Tx, c *clavis.Caller, va *vaultAccess, path string,
	value []byte, v clavis.Version, action string, now time.Time) (*clavis.SecretMeta, error) {
	s, err := tx.EnsureSecret(&clavis.Secret{ID: newID(), VaultID: va.vault.ID, Path: path, CreatedAt: now})
	if err != nil {
		return nil, err
	}
	n, err := tx.NextVersion(s.ID)
	if err != nil {
		return nil, err
	}
	sealed, err := e.sealValue(ctx, tx, va.vault, s, n, value)
	if err != nil {
		return nil, err
	}
	v.SecretID, v.Version, v.CreatedBy, v.CreatedAt = s.ID, n, c.Principal.String(), now
	row := &store.Version{Version: v, Ciphertext: sealed.Ciphertext, WrappedDEK: sealed.WrappedDEK}
	if err := tx.CreateVersion(row); err != nil {
		return nil, err
	}
	s.Deleted, s.LatestVersion = false, n
	if err := e.record(tx, callerEvent(c, action, "secret", s.ID, secretDetails(va.vault.ID, path, n))); err != nil {
		return nil, err
	}
	return &clavis.SecretMeta{Secret: s, Version: &v}, nil
}

// PutSecret stores a new version of the secret at path (spec §4.5.3).
func (e *Engine) PutSecret(ctx context.Context, c *clavis.Caller, vaultID, path string, in clavis.SecretInput) (*clavis.SecretMeta, error) {
	if err := lookupIDs(vaultID); err != nil {
		return nil, err
	}
	if err := policy.ValidatePath(path); err != nil {
		return nil, err
	}
	if in.Value == "" {
		return nil, clavis.Invalid("value", "value is required")
	}
	if len(in.Value) > e.cfg.MaxValueBytes {
		return nil, clavis.E(clavis.KindTooLarge, "Secret value exceeds "+strconv.Itoa(e.cfg.MaxValueBytes/1024)+" KiB")
	}
	if in.Type == "" {
		in.Type = "generic"
	}
	if !validSecretType(in.Type) {
		return nil, clavis.Invalid("type", "unknown secret type")
	}
	if in.Type == "env_bundle" {
		if err := validateEnvBundle(string(in.Value)); err != nil {
			return nil, err
		}
	}
	meta, err := normalizeMetadata(in.Metadata)
	if err != nil {
		return nil, err
	}
	now := e.now()
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		return nil, clavis.Invalid("expires_at", "expires_at must be in the future")
	}
	maxAccess := 0 // unlimited
	if in.MaxAccessCount != nil {
		if *in.MaxAccessCount < 1 || *in.MaxAccessCount > math.MaxInt32 {
			return nil, clavis.Invalid("max_access_count", "max_access_count must be at least 1")
		}
		maxAccess = *in.MaxAccessCount
	}
	var out *clavis.SecretMeta
	err = e.write(ctx, func(tx store.Tx) error {
		va, err := e.openVault(tx, c, vaultID, now)
		if err != nil {
			return err
		}
		if err := e.authorize(tx, c, va, path, clavis.PermWrite, now); err != nil {
			return err
		}
		out, err = e.newVersion(ctx, tx, c, va, path, []byte(in.Value), clavis.Version{Type: in.Type, Metadata: meta,
			ExpiresAt: in.ExpiresAt, MaxAccessCount: maxAccess}, "secret.write", now)
		return err
	})
	if err != nil {
		return nil, err // fn may still run: read nothing it writes
	}
	return out, nil
}

// liveSecret finds the secret at path: 404 if never written, 410 if soft-deleted.
func liveSecret(tx store.Tx, vaultID, path string) (*clavis.Secret, error) {
	s, err := tx.GetSecret(vaultID, path)
	if clavis.IsKind(err, clavis.KindNotFound) {
		return nil, clavis.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if s.Deleted {
		return s, errDeleted
	}
	return s, nil
}

// opened is one version of a secret opened for a caller, with its plaintext. For a path guarded by a
// require_approval policy (spec §3.3 step 7), gated holds that decision and lookupErr the 404 or 410 of
// the lookup, which is answered only once a grant is found (commitAccess).
type opened struct {
	vault     *store.Vault
	path      string
	perm      clavis.Permission
	secret    *clavis.Secret
	version   *clavis.Version
	plain     []byte
	gated     *policy.Decision
	lookupErr error
}

// openVersion is the access decision that reads and uses share (use.md §1), so that every rule —
// policies, scopes, conditions, priority, approvals, expiry, disabled versions, max_access_count —
// applies to both alike: authorization for perm (a denial is recorded), lookup and the state checks of
// the version (0 means the latest), then decryption, in one read transaction. Nothing is counted yet:
// commitAccess does that (and uses a one-time grant of a gated path) once the caller is about to let the
// value act. When the result has a lookupErr, only commitAccess may answer: there is no version.
func (e *Engine) openVersion(ctx context.Context, c *clavis.Caller, vaultID, path string, version int, perm clavis.Permission) (*opened, error) {
	if err := lookupIDs(vaultID); err != nil {
		return nil, err
	}
	if err := policy.ValidatePath(path); err != nil {
		return nil, err
	}
	now := e.now()
	var out *opened
	var denied *policy.Decision
	// With the vault's rules cached, the lookup of the version is the one statement.
	err := e.readOneStatement(ctx, func(tx store.Tx) error {
		out, denied = nil, nil
		va, err := e.openVault(tx, c, vaultID, now)
		if err != nil {
			return err
		}
		out = &opened{vault: va.vault, path: path, perm: perm}
		switch d := va.decide(c, path, perm, now); {
		case d.Reason == policy.ReasonApprovalRequired:
			out.gated = &d
		case !d.Allowed:
			denied = &d
			return nil
		}
		err = e.lookupVersion(ctx, tx, va, path, version, now, out)
		if out.gated != nil && (clavis.IsKind(err, clavis.KindNotFound) || clavis.IsKind(err, clavis.KindGone)) {
			out.lookupErr, err = err, nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if denied != nil {
		return nil, e.deny(ctx, c, vaultID, path, perm, *denied)
	}
	return out, nil
}

// lookupVersion looks up and decrypts one version (0: the latest) of the live secret at path into o:
// 404 if never written, 410 if deleted, disabled, expired or exhausted.
func (e *Engine) lookupVersion(ctx context.Context, tx store.Tx, va *vaultAccess, path string, version int, now time.Time, o *opened) error {
	s, v, err := findVersion(tx, va, path, version, now)
	if err != nil {
		return err
	}
	plain, err := e.openValue(ctx, tx, va.vault, s, v)
	if err != nil {
		return err
	}
	o.secret, o.version, o.plain = s, &v.Version, plain
	return nil
}

// findVersion looks up one version (0: the latest) of the live secret at path, usable now: 404 if
// never written, 410 if deleted, disabled, expired or exhausted.
func findVersion(tx store.Tx, va *vaultAccess, path string, version int, now time.Time) (*clavis.Secret, *store.Version, error) {
	s, v, err := tx.GetSecretVersion(va.vault.ID, path, version)
	switch {
	case clavis.IsKind(err, clavis.KindNotFound):
		return nil, nil, clavis.ErrNotFound
	case err != nil:
		return nil, nil, err
	case s.Deleted:
		return nil, nil, errDeleted
	case v == nil:
		return nil, nil, clavis.ErrNotFound
	}
	if err := usable(v, now); err != nil {
		return nil, nil, err
	}
	return s, v, nil
}

// usable is the state check of a version whose value is about to be handed out: 410 when it is
// disabled, expired or exhausted.
func usable(v *store.Version, now time.Time) error {
	switch {
	case v.Disabled:
		return errDisabled
	case v.ExpiresAt != nil && !now.Before(*v.ExpiresAt):
		return errExpired
	case v.MaxAccessCount > 0 && v.AccessCount >= v.MaxAccessCount:
		return errExhausted
	}
	return nil
}

// commitAccess, in one unit of the group commit: for a gated path uses a one-time grant (without one:
// approval_required; with one but a held-back 404/410: that error, and the grant stays unused), counts
// one access of the version toward its max access count (410 when another request took the last one),
// and records the event that mk makes for the version (with the grant's approval_id). It returns nil
// only once all of it is durable, so the value acts only after its access is audited (fail closed,
// spec §5.4). A grant is thereby used by exactly one successful request.
func (e *Engine) commitAccess(ctx context.Context, c *clavis.Caller, o *opened, mk func(v *clavis.Version) event) error {
	now := e.now()
	return e.write(ctx, func(tx store.Tx) error {
		grant := ""
		if o.gated != nil {
			var err error
			if grant, err = e.useGrant(tx, c, o.vault.ID, o.path, o.perm, *o.gated, now); err != nil {
				return err
			}
			if o.lookupErr != nil {
				return o.lookupErr // rolls back: the grant stays unused
			}
		}
		v := o.version
		if v.MaxAccessCount > 0 {
			ok, err := tx.ConsumeAccess(v.SecretID, v.Version)
			if err != nil {
				return err
			}
			if !ok {
				return errExhausted
			}
		}
		ev := mk(v)
		if grant != "" {
			if ev.details == nil {
				ev.details = map[string]any{}
			}
			ev.details["approval_id"] = grant
		}
		return e.record(tx, ev)
	})
}

// readVersion opens one version for the caller (version 0 means the latest) and returns its value once
// the read is counted and recorded.
func (e *Engine) readVersion(ctx context.Context, c *clavis.Caller, vaultID, path string, version int) (*clavis.SecretValue, error) {
	if e.readsInCommit && !e.skipReadAudit.Load() {
		if sv, done, err := e.readInCommit(ctx, c, vaultID, path, version); done {
			return sv, err
		}
	}
	o, err := e.openVersion(ctx, c, vaultID, path, version, clavis.PermRead)
	if err != nil {
		return nil, err
	}
	if o.lookupErr == nil && o.gated == nil && e.skipReadAudit.Load() && o.version.MaxAccessCount == 0 {
		return &clavis.SecretValue{SecretMeta: clavis.SecretMeta{Secret: o.secret, Version: o.version}, Value: clavis.Sensitive(o.plain)}, nil
	}
	err = e.commitAccess(ctx, c, o, func(v *clavis.Version) event {
		return callerEvent(c, "secret.read", "secret", v.SecretID, secretDetails(vaultID, path, v.Version))
	})
	if err != nil {
		return nil, err
	}
	return &clavis.SecretValue{SecretMeta: clavis.SecretMeta{Secret: o.secret, Version: o.version}, Value: clavis.Sensitive(o.plain)}, nil
}

// GetSecret returns the latest version's value (spec §4.5.3); its read event commits before it returns.
func (e *Engine) GetSecret(ctx context.Context, c *clavis.Caller, vaultID, path string) (*clavis.SecretValue, error) {
	return e.readVersion(ctx, c, vaultID, path, 0)
}

// GetVersion returns one version's value (spec §4.6).
func (e *Engine) GetVersion(ctx context.Context, c *clavis.Caller, vaultID, path string, version int) (*clavis.SecretValue, error) {
	if err := lookupIDs(vaultID); err != nil {
		return nil, err
	}
	if version < 1 {
		return nil, clavis.Invalid("version", "version must be a positive integer")
	}
	return e.readVersion(ctx, c, vaultID, path, version)
}

// ListSecrets lists the readable or usable, non-deleted paths of a visible vault with latest-version metadata.
func (e *Engine) ListSecrets(ctx context.Context, c *clavis.Caller, vaultID, prefix string) ([]clavis.SecretMeta, error) {
	if err := lookupIDs(vaultID); err != nil {
		return nil, err
	}
	now := e.now()
	var out []clavis.SecretMeta
	err := e.read(ctx, func(tx store.Tx) error {
		va, err := e.openVault(tx, c, vaultID, now)
		if err != nil {
			return err
		}
		heads, err := tx.ListSecrets(vaultID, prefix)
		if err != nil {
			return err
		}
		out = make([]clavis.SecretMeta, 0, len(heads))
		listed := func(path string, perm clavis.Permission) bool {
			d := va.decide(c, path, perm, now)
			return d.Allowed || d.Reason == policy.ReasonApprovalRequired
		}
		for _, h := range heads {
			// read or use (use.md §1); a deny of use alone leaves a readable path listed
			if listed(h.Secret.Path, clavis.PermRead) || listed(h.Secret.Path, clavis.PermUse) {
				out = append(out, clavis.SecretMeta{Secret: h.Secret, Version: h.Latest})
			}
		}
		return nil
	})
	return out, err
}

// DeleteSecret soft-deletes a path (spec §4.5.3).
func (e *Engine) DeleteSecret(ctx context.Context, c *clavis.Caller, vaultID, path string) error {
	return e.onLiveSecret(ctx, c, vaultID, path, clavis.PermDelete, func(tx store.Tx, _ *vaultAccess, s *clavis.Secret) error {
		if err := tx.SetSecretDeleted(s.ID, true); err != nil {
			return err
		}
		return e.record(tx, callerEvent(c, "secret.delete", "secret", s.ID, secretDetails(vaultID, path, s.LatestVersion)))
	})
}

// onLiveSecret runs fn in a write transaction once the vault is visible, the caller holds perm on path
// (a denial is recorded) and a live secret exists there (404 never written, 410 deleted).
func (e *Engine) onLiveSecret(ctx context.Context, c *clavis.Caller, vaultID, path string, perm clavis.Permission,
	fn func(tx store.Tx, va *vaultAccess, s *clavis.Secret) error) error {
	if err := lookupIDs(vaultID); err != nil {
		return err
	}
	if err := policy.ValidatePath(path); err != nil {
		return err
	}
	now := e.now()
	return e.write(ctx, func(tx store.Tx) error {
		va, err := e.openVault(tx, c, vaultID, now)
		if err != nil {
			return err
		}
		if err := e.authorize(tx, c, va, path, perm, now); err != nil {
			return err
		}
		s, err := liveSecret(tx, vaultID, path)
		if err != nil {
			return err
		}
		return fn(tx, va, s)
	})
}

// ListVersions lists every version of a live secret, newest first (spec §4.6). Listing versions is a
// read: on a path guarded by a require_approval policy it uses a grant as reading a value does.
func (e *Engine) ListVersions(ctx context.Context, c *clavis.Caller, vaultID, path string) ([]clavis.SecretMeta, error) {
	if err := lookupIDs(vaultID); err != nil {
		return nil, err
	}
	if err := policy.ValidatePath(path); err != nil {
		return nil, err
	}
	now := e.now()
	var out []clavis.SecretMeta
	var denied *policy.Decision
	err := e.read(ctx, func(tx store.Tx) error {
		out, denied = []clavis.SecretMeta{}, nil
		va, err := e.openVault(tx, c, vaultID, now)
		if err != nil {
			return err
		}
		if d := va.decide(c, path, clavis.PermRead, now); !d.Allowed {
			denied = &d
			if d.Reason != policy.ReasonApprovalRequired {
				return nil
			}
		}
		s, err := liveSecret(tx, vaultID, path)
		if err != nil {
			return err
		}
		vs, err := tx.ListVersions(s.ID)
		if err != nil {
			return err
		}
		for _, v := range vs {
			out = append(out, clavis.SecretMeta{Secret: s, Version: v})
		}
		return nil
	})
	switch {
	case denied == nil:
		return out, err
	case denied.Reason == policy.ReasonApprovalRequired:
		werr := e.write(ctx, func(tx store.Tx) error {
			if _, gerr := e.useGrant(tx, c, vaultID, path, clavis.PermRead, *denied, now); gerr != nil {
				return gerr
			}
			return err // a 404 or 410 rolls back: the grant stays unused
		})
		if werr != nil {
			return nil, werr
		}
		return out, nil
	case err != nil:
		return nil, err
	}
	return nil, e.deny(ctx, c, vaultID, path, clavis.PermRead, *denied)
}

// DisableVersion makes one version unreadable (idempotent).
func (e *Engine) DisableVersion(ctx context.Context, c *clavis.Caller, vaultID, path string, version int) error {
	return e.onLiveSecret(ctx, c, vaultID, path, clavis.PermWrite, func(tx store.Tx, _ *vaultAccess, s *clavis.Secret) error {
		if err := tx.SetVersionDisabled(s.ID, version); err != nil {
			if clavis.IsKind(err, clavis.KindNotFound) {
				return clavis.ErrNotFound
			}
			return err
		}
		return e.record(tx, callerEvent(c, "secret.version_disable", "secret", s.ID, secretDetails(vaultID, path, version)))
	})
}

// Charsets for rotation (spec §4.6).
var charsets = map[string]string{
	"hex":          "0123456789abcdef",
	"base64":       "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
	"alphanumeric": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
	"ascii":        asciiPrintable(),
}

func asciiPrintable() string {
	var b strings.Builder
	for c := byte(0x21); c <= 0x7e; c++ {
		b.WriteByte(c)
	}
	return b.String()
}

// randomString draws n characters uniformly from alphabet with crypto/rand (rejection sampling, no
// modulo bias).
func randomString(n int, alphabet string) ([]byte, error) {
	limit := 256 - 256%len(alphabet) // bytes >= limit would bias the draw
	out := make([]byte, 0, n)
	buf := make([]byte, n+16)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return nil, err
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return out, nil
}

// RotateSecret stores a server-generated value as a new version and never returns it.
func (e *Engine) RotateSecret(ctx context.Context, c *clavis.Caller, vaultID, path string, in clavis.RotateInput) (*clavis.SecretMeta, error) {
	if err := lookupIDs(vaultID); err != nil {
		return nil, err
	}
	length := 32
	if in.Length != nil {
		length = *in.Length
	}
	if length < 8 || length > 1024 {
		return nil, clavis.Invalid("length", "length must be between 8 and 1024")
	}
	if in.Charset == "" {
		in.Charset = "hex"
	}
	alphabet, ok := charsets[in.Charset]
	if !ok {
		return nil, clavis.Invalid("charset", "charset must be hex, base64, alphanumeric or ascii")
	}
	if in.Type != "" && !validSecretType(in.Type) {
		return nil, clavis.Invalid("type", "unknown secret type")
	}
	var out *clavis.SecretMeta
	err := e.onLiveSecret(ctx, c, vaultID, path, clavis.PermRotate, func(tx store.Tx, va *vaultAccess, s *clavis.Secret) error {
		prev, err := tx.GetVersion(s.ID, s.LatestVersion)
		if err != nil {
			return err
		}
		typ := in.Type
		if typ == "" {
			typ = prev.Type
		}
		value, err := randomString(length, alphabet)
		if err != nil {
			return clavis.Internal(err)
		}
		out, err = e.newVersion(ctx, tx, c, va, path, value, clavis.Version{Type: typ, Metadata: prev.Metadata}, "secret.rotate", e.now())
		return err
	})
	if err != nil {
		return nil, err // fn may still run: read nothing it writes
	}
	return out, nil
}

// RestoreVersion makes a new version with the value, type and metadata of an earlier one.
func (e *Engine) RestoreVersion(ctx context.Context, c *clavis.Caller, vaultID, path string, version int) (*clavis.SecretMeta, error) {
	if err := lookupIDs(vaultID); err != nil {
		return nil, err
	}
	if err := policy.ValidatePath(path); err != nil {
		return nil, err
	}
	now := e.now()
	var out *clavis.SecretMeta
	err := e.write(ctx, func(tx store.Tx) error {
		va, err := e.openVault(tx, c, vaultID, now)
		if err != nil {
			return err
		}
		if err := e.authorize(tx, c, va, path, clavis.PermWrite, now); err != nil {
			return err
		}
		s, err := tx.GetSecret(vaultID, path)
		if err != nil {
			return err // a missing row is the store's KindNotFound; anything else is internal
		}
		src, err := tx.GetVersion(s.ID, version)
		if err != nil {
			return err
		}
		if src.Disabled {
			return errDisabled
		}
		plain, err := e.openValue(ctx, tx, va.vault, s, src)
		if err != nil {
			return err
		}
		out, err = e.newVersion(ctx, tx, c, va, path, plain, clavis.Version{Type: src.Type, Metadata: src.Metadata}, "secret.restore", now)
		return err
	})
	if err != nil {
		return nil, err // fn may still run: read nothing it writes
	}
	return out, nil
}
