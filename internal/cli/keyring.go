package cli

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/zalando/go-keyring"
)

// The OS keyring holds a profile's stored key when one is available (docs/cli.md §1): the Secret Service
// over the D-Bus session bus on Linux and the BSDs, the Keychain on macOS, the Credential Manager on
// Windows. credentials.json then keeps only the login's metadata with "keyring": true. Entries are
// service "clavis", account "<profile>@<origin>".
const keyringService = "clavis"

// keyringTimeout bounds one keyring call: a Secret Service that shows an unlock prompt nobody can answer
// (no display) must not hang the CLI.
const keyringTimeout = 5 * time.Second

var errKeyringUnavailable = errors.New("no OS keyring available")

func keyringAccount(profile, url string) string { return profile + "@" + origin(url) }

// keyringUsable reports whether an OS keyring may be tried. On Unix systems other than macOS that means a
// D-Bus session bus in the environment: without DBUS_SESSION_BUS_ADDRESS the D-Bus library would try to
// autolaunch a bus daemon, which a CLI must not do.
func (a *app) keyringUsable() bool {
	if a.g.noKeyring {
		return false
	}
	switch runtime.GOOS {
	case "darwin", "windows":
		return true
	}
	return a.io.Getenv("DBUS_SESSION_BUS_ADDRESS") != ""
}

// keyringCall runs f with keyringTimeout.
func keyringCall(f func() (string, error)) (string, error) {
	type result struct {
		v   string
		err error
	}
	ch := make(chan result, 1)
	go func() { v, err := f(); ch <- result{v, err} }()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-time.After(keyringTimeout):
		return "", fmt.Errorf("the OS keyring did not answer within %s", keyringTimeout)
	}
}

// keyringSet stores key for the account; an error means the caller falls back to the file.
func (a *app) keyringSet(account, key string) error {
	if !a.keyringUsable() {
		return errKeyringUnavailable
	}
	_, err := keyringCall(func() (string, error) { return "", keyring.Set(keyringService, account, key) })
	return err
}

// keyringGet reads the key stored for the account.
func (a *app) keyringGet(account string) (string, error) {
	if !a.keyringUsable() {
		return "", errKeyringUnavailable
	}
	return keyringCall(func() (string, error) { return keyring.Get(keyringService, account) })
}

// keyringDelete forgets the account's key; a missing entry is not an error.
func (a *app) keyringDelete(account string) error {
	if !a.keyringUsable() {
		return errKeyringUnavailable
	}
	_, err := keyringCall(func() (string, error) { return "", keyring.Delete(keyringService, account) })
	if errors.Is(err, keyring.ErrNotFound) {
		return nil
	}
	return err
}
