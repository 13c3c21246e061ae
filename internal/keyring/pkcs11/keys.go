//go:build cgo

package pkcs11

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"time"

	p11 "github.com/miekg/pkcs11"
)

// findOrCreateKey finds the key object, generating it if create is set and it does not exist.
//
// PKCS#11 has no atomic create-if-absent, and several replicas may start at once, so creation is a
// protocol. A creator generates the key under a provisional label (the label + "~clavis-pending"),
// then lists the objects under both labels: if its own is the only one, it relabels it to the final
// label; otherwise it destroys its own (never used) and retries after a random pause. Only objects
// under the final label are ever used, and one is given that label only by a creator that saw no other
// object after generating its own, so there is never more than one and none is destroyed once final.
// A provider that must not create (or finds provisional objects only) waits for a creator to finish.
func (p *Provider) findOrCreateKey(s p11.SessionHandle, create bool) (p11.ObjectHandle, []byte, error) {
	if serializeCreate {
		p.mod.createMu.Lock()
		defer p.mod.createMu.Unlock()
	}
	pending := p.uri.Object + pendingSuffix
	var genErr error // the last failure to generate, reported if no round succeeds
	for attempt := range createAttempts {
		if attempt > 0 {
			time.Sleep(time.Duration(5+mrand.IntN(20*attempt)) * time.Millisecond) // #nosec G404 -- backoff jitter, not security-relevant
		}
		final, err := p.findKeys(s, p.uri.Object)
		if err != nil {
			return 0, nil, err
		}
		switch {
		case len(final) == 1:
			ckaID, err := p.checkKey(s, final[0])
			return final[0], ckaID, err
		case len(final) > 1:
			return 0, nil, p.ambiguous(len(final))
		}
		if !create {
			others, err := p.findKeys(s, pending)
			if err != nil {
				return 0, nil, err
			}
			if len(others) == 0 {
				return 0, nil, fmt.Errorf("no secret key object labelled %q%s on token %q", p.uri.Object, p.idHint(), p.tokenLabel)
			}
			continue // another process is creating it
		}
		h, settled, err := p.generate(pending)
		if err != nil {
			// Retried: SoftHSM fails some generations with CKR_GENERAL_ERROR or
			// CKR_TEMPLATE_INCONSISTENT when threads create and destroy objects on one token at once.
			genErr = err
			continue
		}
		if settled {
			ckaID, err := p.checkKey(s, h)
			return h, ckaID, err
		}
	}
	if genErr != nil {
		return 0, nil, genErr
	}
	return 0, nil, fmt.Errorf("no key labelled %q on token %q after %d rounds: another process is creating it, or a crashed one left objects labelled %q (delete them)",
		p.uri.Object, p.tokenLabel, createAttempts, pending)
}

// generate creates a key under the pending label in a read-write session and, if it is the only
// object under either label, gives it the final label (settled). Otherwise it destroys it again.
func (p *Provider) generate(pending string) (_ p11.ObjectHandle, settled bool, _ error) {
	c := p.mod.ctx
	rw, err := c.OpenSession(p.slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if err != nil {
		return 0, false, fmt.Errorf("open read-write session on token %q to create the key: %w", p.tokenLabel, err)
	}
	defer c.CloseSession(rw)
	id := p.uri.ID
	if id == nil {
		id = make([]byte, 16)
		rand.Read(id)
	}
	h, err := c.GenerateKey(rw, []*p11.Mechanism{p11.NewMechanism(p11.CKM_AES_KEY_GEN, nil)}, []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_SECRET_KEY),
		p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_AES),
		p11.NewAttribute(p11.CKA_VALUE_LEN, keyBytes),
		p11.NewAttribute(p11.CKA_LABEL, pending),
		p11.NewAttribute(p11.CKA_ID, id),
		p11.NewAttribute(p11.CKA_TOKEN, true),
		p11.NewAttribute(p11.CKA_PRIVATE, true),
		p11.NewAttribute(p11.CKA_SENSITIVE, true),
		p11.NewAttribute(p11.CKA_EXTRACTABLE, false),
		p11.NewAttribute(p11.CKA_ENCRYPT, true),
		p11.NewAttribute(p11.CKA_DECRYPT, true),
		p11.NewAttribute(p11.CKA_WRAP, false),
		p11.NewAttribute(p11.CKA_UNWRAP, false),
		p11.NewAttribute(p11.CKA_SIGN, false),
		p11.NewAttribute(p11.CKA_VERIFY, false),
		p11.NewAttribute(p11.CKA_DERIVE, false),
	})
	if err != nil {
		return 0, false, fmt.Errorf("generate AES-256 key %q on token %q: %w", p.uri.Object, p.tokenLabel, err)
	}
	destroy := func(cause error) (p11.ObjectHandle, bool, error) {
		if err := c.DestroyObject(rw, h); err != nil {
			return 0, false, errors.Join(cause, fmt.Errorf("destroy the provisional key %q just created on token %q: %w", pending, p.tokenLabel, err))
		}
		return 0, false, cause
	}
	final, err := p.findKeys(rw, p.uri.Object)
	if err != nil {
		return destroy(err)
	}
	others, err := p.findKeys(rw, pending)
	if err != nil {
		return destroy(err)
	}
	if len(final) != 0 || len(others) != 1 || others[0] != h {
		return destroy(nil)
	}
	if err := c.SetAttributeValue(rw, h, []*p11.Attribute{p11.NewAttribute(p11.CKA_LABEL, p.uri.Object)}); err != nil {
		return destroy(fmt.Errorf("label the new key %q on token %q: %w", p.uri.Object, p.tokenLabel, err))
	}
	return h, true, nil
}

// findKeys lists the token's secret key objects with the label (and the URI's CKA_ID, if given).
func (p *Provider) findKeys(s p11.SessionHandle, label string) ([]p11.ObjectHandle, error) {
	c := p.mod.ctx
	tmpl := []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_SECRET_KEY),
		p11.NewAttribute(p11.CKA_TOKEN, true),
		p11.NewAttribute(p11.CKA_LABEL, label),
	}
	if p.uri.ID != nil {
		tmpl = append(tmpl, p11.NewAttribute(p11.CKA_ID, p.uri.ID))
	}
	if err := c.FindObjectsInit(s, tmpl); err != nil {
		return nil, fmt.Errorf("find key on token %q: %w", p.tokenLabel, err)
	}
	hs, _, err := c.FindObjects(s, 16)
	if ferr := c.FindObjectsFinal(s); err == nil && ferr != nil {
		err = ferr
	}
	if err != nil {
		return nil, fmt.Errorf("find key on token %q: %w", p.tokenLabel, err)
	}
	return hs, nil
}

// checkKey checks that h is an AES-256 key usable for encrypt and decrypt whose value cannot be read,
// and returns its CKA_ID.
func (p *Provider) checkKey(s p11.SessionHandle, h p11.ObjectHandle) ([]byte, error) {
	attrs, err := p.mod.ctx.GetAttributeValue(s, h, []*p11.Attribute{
		p11.NewAttribute(p11.CKA_KEY_TYPE, nil),
		p11.NewAttribute(p11.CKA_VALUE_LEN, nil),
		p11.NewAttribute(p11.CKA_SENSITIVE, nil),
		p11.NewAttribute(p11.CKA_ENCRYPT, nil),
		p11.NewAttribute(p11.CKA_DECRYPT, nil),
		p11.NewAttribute(p11.CKA_ID, nil),
	})
	if err != nil {
		return nil, fmt.Errorf("read attributes of key %q on token %q: %w", p.uri.Object, p.tokenLabel, err)
	}
	v := map[uint][]byte{}
	for _, a := range attrs {
		v[a.Type] = a.Value
	}
	what := fmt.Sprintf("key %q on token %q", p.uri.Object, p.tokenLabel)
	switch {
	case ulong(v[p11.CKA_KEY_TYPE]) != p11.CKK_AES:
		return nil, fmt.Errorf("%s is not an AES key", what)
	case ulong(v[p11.CKA_VALUE_LEN]) != keyBytes:
		return nil, fmt.Errorf("%s is not an AES-256 key (CKA_VALUE_LEN %x, want 32 bytes)", what, v[p11.CKA_VALUE_LEN])
	case !boolean(v[p11.CKA_SENSITIVE]):
		return nil, fmt.Errorf("%s is not sensitive (its value can be read out); refusing it as root key", what)
	case !boolean(v[p11.CKA_ENCRYPT]) || !boolean(v[p11.CKA_DECRYPT]):
		return nil, fmt.Errorf("%s does not allow both encrypt and decrypt", what)
	}
	return bytes.Clone(v[p11.CKA_ID]), nil
}

// refindKey looks the key object up again after the token rejected its handle, and checks it is the same
// key (same CKA_ID, so the same ID).
func (p *Provider) refindKey(s p11.SessionHandle) (p11.ObjectHandle, error) {
	hs, err := p.findKeys(s, p.uri.Object)
	if err != nil {
		return 0, err
	}
	switch {
	case len(hs) == 0:
		return 0, fmt.Errorf("key %q is gone from token %q", p.uri.Object, p.tokenLabel)
	case len(hs) > 1:
		return 0, p.ambiguous(len(hs))
	}
	ckaID, err := p.checkKey(s, hs[0])
	if err != nil {
		return 0, err
	}
	if !bytes.Equal(ckaID, p.ckaID) {
		return 0, fmt.Errorf("key %q on token %q was replaced by another object (CKA_ID differs)", p.uri.Object, p.tokenLabel)
	}
	p.mu.Lock()
	p.key, p.keyStale = hs[0], false
	p.mu.Unlock()
	return hs[0], nil
}

func (p *Provider) ambiguous(n int) error {
	return fmt.Errorf("%d secret key objects labelled %q%s on token %q; add id=<CKA_ID> to the URI or remove the extra ones", n, p.uri.Object, p.idHint(), p.tokenLabel)
}

func (p *Provider) idHint() string {
	if p.uri.ID == nil {
		return ""
	}
	return " with id=" + escapeBytes(p.uri.ID)
}
