package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base32"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/skip2/go-qrcode"

	"clavis.dev/clavis/client"
	"clavis.dev/clavis/internal/clavistest"
	"clavis.dev/clavis/internal/totp"
)

// TestCLIScripts runs the scripts in testdata/cli: the real clavis binary against a real server (this
// binary's `server --dev` in a child process, SQLite in a temp dir). Each script gets a fresh account
// ($EMAIL, $PASSWORD at $URL) and its own $HOME and $XDG_CONFIG_HOME.
func TestCLIScripts(t *testing.T) {
	url, _ := startChild(t, t.TempDir())
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "cli"),
		Setup: func(env *testscript.Env) error {
			email, pw := "cli-"+clavistest.RandHex(6)+"@example.com", "Pw-"+clavistest.RandHex(12)
			if _, err := client.New(url).Signup(context.Background(), email, pw, ""); err != nil {
				return err
			}
			env.Setenv("URL", url)
			env.Setenv("EMAIL", email)
			env.Setenv("PASSWORD", pw)
			env.Setenv("HOME", filepath.Join(env.WorkDir, "home"))
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, "home", ".config"))
			return os.MkdirAll(filepath.Join(env.WorkDir, "home"), 0o700)
		},
		Condition: func(cond string) (bool, error) {
			if cond == "keyring" {
				return keyringAvailable()
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"mode":     cmdMode,
			"normjson": cmdNormJSON,
			"argvfree": cmdArgvFree,
			"sleep":    cmdSleep,
			"mfaon":    cmdMFAOn,
			"mfaenrol": cmdMFAEnrol,
			"keyringd": cmdKeyringd,
		},
	})
}

// mode FILE PERM: the file's permission bits are PERM (octal).
func cmdMode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: mode FILE PERM")
	}
	fi, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	want, err := strconv.ParseUint(args[1], 8, 32)
	ts.Check(err)
	if got := uint64(fi.Mode().Perm()); (got == want) == neg {
		ts.Fatalf("mode of %s = %04o, want %s%04o", args[0], got, map[bool]string{true: "not ", false: ""}[neg], want)
	}
}

var (
	uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	timeRE = regexp.MustCompile(`"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)"`)
	urlRE  = regexp.MustCompile(`http://127\.0\.0\.1:\d+`)
	keyRE  = regexp.MustCompile(`"(ocv|1ck)_[A-Za-z0-9_\-]+"`)
)

// normjson FILE: replaces uuids, timestamps, the server URL and keys in FILE by placeholders, so that a
// golden -o json output compares with cmp.
func cmdNormJSON(ts *testscript.TestScript, neg bool, args []string) {
	p := ts.MkAbs(args[0])
	b, err := os.ReadFile(p) // #nosec G304 -- a file of the script's work dir
	ts.Check(err)
	b = uuidRE.ReplaceAll(b, []byte("<uuid>"))
	b = timeRE.ReplaceAll(b, []byte(`"<time>"`))
	b = urlRE.ReplaceAll(b, []byte("<url>"))
	b = keyRE.ReplaceAll(b, []byte(`"<key>"`))
	ts.Check(os.WriteFile(p, b, 0o600)) // #nosec G703 -- a file of the script's work dir
}

// argvfree CANARY: waits (up to 30 s) until some process has CANARY in its environment — the child of a
// background `clavis run` — then fails if any process's argv (/proc/*/cmdline) contains CANARY.
func cmdArgvFree(ts *testscript.TestScript, neg bool, args []string) {
	canary := []byte(args[0])
	deadline := time.Now().Add(30 * time.Second)
	for {
		procs, _ := filepath.Glob("/proc/[0-9]*")
		found := false
		for _, p := range procs {
			if env, err := os.ReadFile(p + "/environ"); err == nil && bytes.Contains(env, canary) { // #nosec G304 -- /proc entries of this machine's processes
				found = true
			}
			if cmd, err := os.ReadFile(p + "/cmdline"); err == nil && bytes.Contains(cmd, canary) { // #nosec G304 -- /proc entries of this machine's processes
				ts.Fatalf("secret in argv of %s: %q", p, strings.ReplaceAll(string(cmd), "\x00", " "))
			}
		}
		if found {
			ts.Logf("a process holds the secret in its environment; none in argv (%d processes)", len(procs))
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("no process with the secret in its environment")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sleep DURATION: pauses the script.
func cmdSleep(ts *testscript.TestScript, neg bool, args []string) {
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	time.Sleep(d)
	_ = fmt.Sprint()
}

// mfaon FILE: enables TOTP MFA on the script's account ($URL, $EMAIL, $PASSWORD) and writes FILE with the
// password and a code of the next time step, one a line, for `clavis login` to read from stdin.
func cmdMFAOn(ts *testscript.TestScript, neg bool, args []string) {
	ctx := context.Background()
	c := client.New(ts.Getenv("URL"))
	tok, err := c.Login(ctx, ts.Getenv("EMAIL"), ts.Getenv("PASSWORD"))
	ts.Check(err)
	u := c.WithToken(string(tok.AccessToken))
	_, secret, err := u.MFASetup(ctx)
	ts.Check(err)
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimRight(string(secret), "="))
	ts.Check(err)
	step := time.Now().Unix() / 30
	_, err = u.MFAVerifySetup(ctx, totp.Code(key, step))
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(ts.Getenv("PASSWORD")+"\n"+totp.Code(key, step+1)+"\n"), 0o600))
}

// mfaenrol: runs `clavis mfa enable` as the script's user, answering its code prompt with a code of the
// secret it printed, and checks that it printed recovery codes.
func cmdMFAEnrol(ts *testscript.TestScript, neg bool, args []string) {
	cmd := exec.Command("clavis", "mfa", "enable")
	for _, k := range []string{"PATH", "HOME", "XDG_CONFIG_HOME"} {
		cmd.Env = append(cmd.Env, k+"="+ts.Getenv(k))
	}
	cmd.Dir = ts.Getenv("WORK")
	if p, err := exec.LookPath("clavis"); err == nil {
		cmd.Path = p
	}
	for _, dir := range strings.Split(ts.Getenv("PATH"), string(os.PathListSeparator)) {
		if _, err := os.Stat(filepath.Join(dir, "clavis")); err == nil {
			cmd.Path = filepath.Join(dir, "clavis")
			break
		}
	}
	in, err := cmd.StdinPipe()
	ts.Check(err)
	out, err := cmd.StdoutPipe()
	ts.Check(err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	ts.Check(cmd.Start())
	sc := bufio.NewScanner(out)
	recovery := 0
	var uri string
	var qr []string // the lines between the URI and the secret
	sawSecret := false
	for sc.Scan() {
		line := sc.Text()
		secret, isSecret := strings.CutPrefix(line, "secret: ")
		switch {
		case uri == "":
			uri, _ = strings.CutPrefix(line, "otpauth URI: ")
		case !sawSecret && !isSecret:
			qr = append(qr, line)
		case isSecret:
			sawSecret = true
			// The QR code printed between the URI and the secret encodes exactly the URI.
			want, err := qrcode.New(uri, qrcode.Medium)
			ts.Check(err)
			if got := strings.Join(qr, "\n") + "\n"; got != want.ToSmallString(false) || len(qr) < 10 {
				ts.Fatalf("the QR code printed (%d lines) is not the otpauth URI's", len(qr))
			}
			key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimRight(secret, "="))
			ts.Check(err)
			fmt.Fprintln(in, totp.Code(key, time.Now().Unix()/30))
			_ = in.Close() // the prompt has its answer
		default:
			recovery++
		}
	}
	if err := cmd.Wait(); err != nil {
		ts.Fatalf("clavis mfa enable: %v\n%s", err, stderr.String())
	}
	if recovery == 0 || !strings.Contains(stderr.String(), "Recovery codes") {
		ts.Fatalf("no recovery codes printed (stderr %q)", stderr.String())
	}
}
