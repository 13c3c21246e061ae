package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"clavis.dev/clavis/client"
)

// Profile is one entry of config.json: non-secret settings.
type Profile struct {
	URL    string `json:"url,omitempty"`
	Vault  string `json:"vault_id,omitempty"`
	Output string `json:"output,omitempty"`
}

// storedLogin is one profile's entry of credentials.json: the key `login` stored — in the file (APIKey)
// or, with InKeyring, in the OS keyring (keyring.go). KeyID is set when login created the key (logout
// revokes it); a key given with --api-key-stdin is only forgotten.
type storedLogin struct {
	URL       string `json:"url"`
	APIKey    string `json:"api_key,omitempty"`
	InKeyring bool   `json:"keyring,omitempty"`
	KeyID     string `json:"key_id,omitempty"`
	Email     string `json:"email,omitempty"`
}

// link is the directory link file .clavis.json (no secrets).
type link struct {
	URL    string `json:"url,omitempty"`
	Vault  string `json:"vault_id,omitempty"`
	Prefix string `json:"prefix,omitempty"`
}

const linkFile = ".clavis.json"

// configDir is $XDG_CONFIG_HOME/clavis, else ~/.config/clavis.
func (a *app) configDir() (string, error) {
	if d := a.io.Getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "clavis"), nil
	}
	home := a.io.Getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return "", localErr("no config directory: %v", err)
		}
	}
	return filepath.Join(home, ".config", "clavis"), nil
}

func (a *app) profileName() string {
	if a.g.profile != "" {
		return a.g.profile
	}
	if p := a.io.Getenv("CLAVIS_PROFILE"); p != "" {
		return p
	}
	return "default"
}

// readJSON decodes path into v; a missing file leaves v unchanged and is not an error.
func readJSON(path string, v any) error {
	b, err := os.ReadFile(path) // #nosec G304 -- the CLI's own config and credentials files
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return localErr("%v", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return localErr("%s: %v", path, err)
	}
	return nil
}

// config reads config.json's profiles.
func (a *app) config() (map[string]Profile, error) {
	dir, err := a.configDir()
	if err != nil {
		return nil, err
	}
	var c struct {
		Profiles map[string]Profile `json:"profiles"`
	}
	if err := readJSON(filepath.Join(dir, "config.json"), &c); err != nil {
		return nil, err
	}
	if c.Profiles == nil {
		c.Profiles = map[string]Profile{}
	}
	return c.Profiles, nil
}

func (a *app) saveConfig(p map[string]Profile) error {
	dir, err := a.configDir()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return localErr("%v", err)
	}
	b, _ := json.MarshalIndent(map[string]any{"profiles": p}, "", "  ")
	return writeFileAtomic(filepath.Join(dir, "config.json"), append(b, '\n'), 0o600)
}

// credsPath is credentials.json, after checking that it and its directory are private to the user: the
// directory 0700 and the file 0600 at most, both owned by the user. A file others can read is refused
// (exit 1) rather than used.
func (a *app) credsPath() (string, error) {
	dir, err := a.configDir()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "credentials.json")
	for _, p := range []string{dir, path} {
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", localErr("%v", err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return "", localErr("%s is a symbolic link; refusing to use it for credentials", p)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return "", localErr("%s is accessible by other users (mode %04o); run: chmod go-rwx %s", p, fi.Mode().Perm(), p)
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
			return "", localErr("%s is not owned by you; refusing to use it for credentials", p)
		}
	}
	return path, nil
}

func (a *app) readCreds() (map[string]storedLogin, error) {
	path, err := a.credsPath()
	if err != nil {
		return nil, err
	}
	var c struct {
		Profiles map[string]storedLogin `json:"profiles"`
	}
	if err := readJSON(path, &c); err != nil {
		return nil, err
	}
	if c.Profiles == nil {
		c.Profiles = map[string]storedLogin{}
	}
	return c.Profiles, nil
}

// writeCreds stores the logins in credentials.json, created 0600 in a 0700 directory.
func (a *app) writeCreds(c map[string]storedLogin) error {
	path, err := a.credsPath()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return localErr("%v", err)
	}
	b, _ := json.MarshalIndent(map[string]any{"profiles": c}, "", "  ")
	return writeFileAtomic(path, append(b, '\n'), 0o600)
}

// writeFileAtomic writes data to a temporary file in path's directory with mode perm and renames it over
// path, so that path is never a symlink followed nor a partial file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return localErr("%v", err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(perm); err != nil {
		_ = f.Close() // best effort: the Chmod error is the one to report
		return localErr("%v", err)
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close() // best effort: the Write error is the one to report
		return localErr("%v", err)
	}
	if err := f.Close(); err != nil {
		return localErr("%v", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return localErr("%v", err)
	}
	return nil
}

// findLink walks up from the working directory to the nearest .clavis.json.
func findLink() (*link, string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return nil, "", nil
	}
	for {
		p := filepath.Join(dir, linkFile)
		if _, err := os.Stat(p); err == nil {
			var l link
			if err := readJSON(p, &l); err != nil {
				return nil, "", err
			}
			return &l, p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil, "", nil
		}
		dir = parent
	}
}

// session is the resolved target of a client command.
type session struct {
	URL     string
	Vault   string
	Prefix  string // the link file's prefix, the default --prefix
	Output  string
	Bearer  string
	FromEnv bool
	Login   *storedLogin
	C       *client.Client
}

// firstEnv returns the first set variable of names.
func (a *app) firstEnv(names ...string) string {
	for _, n := range names {
		if v := a.io.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// envCredential applies docs/cli.md §1: any CLAVIS_* credential set → every ONECLAW_* one is ignored;
// within a family a token beats a key.
func (a *app) envCredential() string {
	if v := a.firstEnv("CLAVIS_TOKEN", "CLAVIS_API_KEY"); v != "" {
		return v
	}
	return a.firstEnv("ONECLAW_TOKEN", "ONECLAW_AGENT_TOKEN", "ONECLAW_API_KEY", "ONECLAW_AGENT_API_KEY")
}

// resolve builds the session: URL (--url > env > link > profile), vault (--vault > env > link >
// profile), credential (env > stored login). needAuth makes a missing credential errNotLoggedIn.
// Stored credentials go only to the origin that issued them: another origin named by the link file or
// the environment is refused (exit 1) unless --url was given.
func (a *app) resolve(needAuth bool) (*session, error) {
	profiles, err := a.config()
	if err != nil {
		return nil, err
	}
	prof := profiles[a.profileName()]
	l, lpath, err := findLink()
	if err != nil {
		return nil, err
	}
	if l == nil {
		l = &link{}
	}
	s := &session{Prefix: l.Prefix, Output: prof.Output}
	envURL := a.firstEnv("CLAVIS_URL", "ONECLAW_API_URL", "ONECLAW_BASE_URL")
	switch {
	case a.g.url != "":
		s.URL = a.g.url
	case envURL != "":
		s.URL = envURL
	case l.URL != "":
		s.URL = l.URL
	default:
		s.URL = prof.URL
	}
	switch {
	case a.g.vault != "":
		s.Vault = a.g.vault
	case a.firstEnv("CLAVIS_VAULT_ID", "ONECLAW_VAULT_ID") != "":
		s.Vault = a.firstEnv("CLAVIS_VAULT_ID", "ONECLAW_VAULT_ID")
	case l.Vault != "":
		s.Vault = l.Vault
	default:
		s.Vault = prof.Vault
	}
	if cred := a.envCredential(); cred != "" {
		s.Bearer, s.FromEnv = cred, true
	} else {
		creds, err := a.readCreds()
		if err != nil {
			return nil, err
		}
		if lg, ok := creds[a.profileName()]; ok {
			s.Login = &lg
			if s.URL == "" {
				s.URL = lg.URL
			}
			if a.g.url == "" && origin(s.URL) != origin(lg.URL) {
				src := "the environment"
				if envURL == "" {
					src = lpath
				}
				return nil, localErr("%s names %s, but profile %q is logged in to %s: stored credentials go only to their origin (pass --url to override)",
					src, origin(s.URL), a.profileName(), origin(lg.URL))
			}
			s.Bearer = lg.APIKey
			if lg.InKeyring {
				if s.Bearer, err = a.keyringGet(keyringAccount(a.profileName(), lg.URL)); err != nil {
					return nil, localErr("profile %q keeps its key in the OS keyring, which cannot be read (%v): log in again, with --no-keyring to use the credentials file", a.profileName(), err)
				}
			}
		}
	}
	if s.URL == "" {
		if needAuth {
			return nil, errNotLoggedIn
		}
		return nil, localErr("no server URL: pass --url or set CLAVIS_URL")
	}
	if needAuth && s.Bearer == "" {
		return nil, errNotLoggedIn
	}
	s.C = client.New(s.URL, client.WithToken(s.Bearer))
	return s, nil
}

// origin is scheme://host[:port] of u, lower-cased; u itself when it does not parse.
func origin(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return u
	}
	return strings.ToLower(p.Scheme + "://" + p.Host)
}

// vaultID is the session's vault or a local error naming how to choose one.
func (s *session) vaultID() (string, error) {
	if s.Vault == "" {
		return "", localErr("no vault: pass --vault, set CLAVIS_VAULT_ID, or run `clavis link --vault ID`")
	}
	return s.Vault, nil
}

// msg prints a message on stderr unless --quiet.
func (a *app) msg(format string, args ...any) {
	if !a.g.quiet {
		fmt.Fprintf(a.io.Err, format+"\n", args...)
	}
}
