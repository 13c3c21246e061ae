package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/rogpeppe/go-internal/testscript"
)

// keyringAvailable is the script condition [keyring]: dbus-daemon and gnome-keyring-daemon are installed.
// Without them a script guarded by [!keyring] skip is skipped — unless CLAVIS_REQUIRE_KEYRING is set
// (CI installs both), which makes their absence an error.
func keyringAvailable() (bool, error) {
	for _, bin := range []string{"dbus-daemon", "gnome-keyring-daemon", "secret-tool"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("CLAVIS_REQUIRE_KEYRING") != "" {
				return false, fmt.Errorf("%s not found and CLAVIS_REQUIRE_KEYRING is set (apt-get install dbus gnome-keyring libsecret-tools)", bin)
			}
			return false, nil
		}
	}
	return true, nil
}

// keyringd: start a private D-Bus session bus and a Secret Service (gnome-keyring-daemon with an
// unlocked login keyring) for this script, and point DBUS_SESSION_BUS_ADDRESS at it; both stop when the
// script ends.
func cmdKeyringd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: keyringd")
	}
	dir := ts.MkAbs("keyringd")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		ts.Fatalf("%v", err)
	}
	addr := "unix:path=" + filepath.Join(dir, "bus")
	bus := exec.Command("dbus-daemon", "--session", "--nofork", "--nopidfile", "--address="+addr) // #nosec G204 -- a private bus socket in the test work dir
	bus.Dir = dir
	start(ts, bus)
	conn := waitForBus(ts, addr)
	defer func() { _ = conn.Close() }()

	home := filepath.Join(dir, "home")
	kr := exec.Command("gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets")
	kr.Env = append(os.Environ(), "HOME="+home, "XDG_DATA_HOME="+filepath.Join(home, "share"),
		"XDG_RUNTIME_DIR="+dir, "DBUS_SESSION_BUS_ADDRESS="+addr)
	kr.Stdin = strings.NewReader("test-keyring-password") // unlocks (creates) the login keyring
	start(ts, kr)
	// Wait until the daemon owns the Secret Service name, so that no request activates another one.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var owned bool
		err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.freedesktop.secrets").Store(&owned)
		if err == nil && owned {
			break
		}
		if time.Now().After(deadline) {
			ts.Fatalf("gnome-keyring-daemon did not take org.freedesktop.secrets within 30s (%v)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.Setenv("DBUS_SESSION_BUS_ADDRESS", addr)
}

// start runs cmd in the background until the script ends.
func start(ts *testscript.TestScript, cmd *exec.Cmd) {
	if err := cmd.Start(); err != nil {
		ts.Fatalf("starting %s: %v", cmd.Path, err)
	}
	ts.Defer(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
}

func waitForBus(ts *testscript.TestScript, addr string) *dbus.Conn {
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := dbus.Connect(addr)
		if err == nil {
			return conn
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%v", fmt.Errorf("the private D-Bus did not start within 30s: %w", err))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
