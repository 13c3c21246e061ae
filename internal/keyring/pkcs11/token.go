//go:build cgo

package pkcs11

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	p11 "github.com/miekg/pkcs11"
)

// findToken returns the one slot whose initialized token matches the URI's token label, serial and
// slot-id.
func findToken(c *p11.Ctx, u *URI) (uint, p11.TokenInfo, error) {
	slots, err := c.GetSlotList(true)
	if err != nil {
		return 0, p11.TokenInfo{}, fmt.Errorf("list slots: %w", err)
	}
	var (
		match  []uint
		info   p11.TokenInfo
		labels []string
	)
	for _, slot := range slots {
		if u.HasSlotID && slot != u.SlotID {
			continue
		}
		ti, err := c.GetTokenInfo(slot)
		if err != nil || ti.Flags&p11.CKF_TOKEN_INITIALIZED == 0 {
			continue
		}
		labels = append(labels, trimPadding(ti.Label))
		if u.Token != "" && trimPadding(ti.Label) != u.Token || u.Serial != "" && trimPadding(ti.SerialNumber) != u.Serial {
			continue
		}
		match = append(match, slot)
		info = ti
	}
	switch len(match) {
	case 1:
		return match[0], info, nil
	case 0:
		slices.Sort(labels)
		if len(labels) > 10 {
			labels = append(labels[:10], "…")
		}
		return 0, p11.TokenInfo{}, fmt.Errorf("no initialized token matches %s (tokens present: %s)", u.tokenSelector(), quoteAll(labels))
	default:
		return 0, p11.TokenInfo{}, fmt.Errorf("%d tokens match %s; add serial= or slot-id= to the URI", len(match), u.tokenSelector())
	}
}

func (u *URI) tokenSelector() string {
	var parts []string
	if u.Token != "" {
		parts = append(parts, fmt.Sprintf("token=%q", u.Token))
	}
	if u.Serial != "" {
		parts = append(parts, fmt.Sprintf("serial=%q", u.Serial))
	}
	if u.HasSlotID {
		parts = append(parts, fmt.Sprintf("slot-id=%d", u.SlotID))
	}
	return strings.Join(parts, " ")
}

func quoteAll(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// trimPadding drops the blank (or NUL) padding of a fixed-size PKCS#11 string field.
func trimPadding(s string) string { return strings.TrimRight(s, " \x00") }

// ulong decodes a CK_ULONG attribute value (native byte order, 4 or 8 bytes); anything else is ^0.
func ulong(b []byte) uint {
	switch len(b) {
	case 8:
		return uint(binary.NativeEndian.Uint64(b))
	case 4:
		return uint(binary.NativeEndian.Uint32(b))
	}
	return ^uint(0)
}

// boolean decodes a CK_BBOOL attribute value.
func boolean(b []byte) bool { return len(b) == 1 && b[0] != 0 }

// isCode reports whether err is a PKCS#11 error with one of the codes.
func isCode(err error, codes ...uint) bool {
	var e p11.Error
	return errors.As(err, &e) && slices.Contains(codes, uint(e))
}

// isSessionLost reports an error after which the session (and likely every session) is unusable.
func isSessionLost(err error) bool {
	return isCode(err, p11.CKR_SESSION_HANDLE_INVALID, p11.CKR_SESSION_CLOSED, p11.CKR_USER_NOT_LOGGED_IN,
		p11.CKR_DEVICE_REMOVED, p11.CKR_TOKEN_NOT_PRESENT, p11.CKR_DEVICE_ERROR)
}

// isUnavailable reports an error that means the token cannot serve requests right now.
func isUnavailable(err error) bool {
	var se *sessionError
	return errors.As(err, &se) || isSessionLost(err) ||
		isCode(err, p11.CKR_DEVICE_MEMORY, p11.CKR_SESSION_COUNT, p11.CKR_CRYPTOKI_NOT_INITIALIZED, p11.CKR_TOKEN_NOT_RECOGNIZED)
}
