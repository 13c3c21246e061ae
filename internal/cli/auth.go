package cli

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"clavis.dev/clavis"
	"clavis.dev/clavis/client"
)

// loginCmd: password login (hidden prompt, MFA code when challenged) that creates a personal API key
// cli@<hostname> valid 30 days and stores it for the profile; --api-key-stdin stores a given key.
func (a *app) loginCmd() *cobra.Command {
	var email string
	var keyStdin bool
	c := &cobra.Command{
		Use:   "login",
		Short: "log in and store a 30-day personal API key for this profile",
		Long: `Log in with email and password (hidden prompt; an MFA code is asked for when the account has MFA).
Login creates a personal API key named cli@<hostname> that expires in 30 days and stores it for the
profile: in the OS keyring when available (the Secret Service on Linux, which needs a D-Bus session bus;
the Keychain on macOS; the Credential Manager on Windows), otherwise — with a warning, or always with
--no-keyring — in $XDG_CONFIG_HOME/clavis/credentials.json (0600, in a 0700 directory).
With --api-key-stdin, the key read from stdin is stored instead; logout forgets such a key but does not
revoke it (it was not created by login and may be in use elsewhere).`,
		Example: "  clavis login --url https://vault.example.com --email me@example.com\n  echo \"$KEY\" | clavis login --url https://vault.example.com --api-key-stdin",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			u := a.g.url
			if u == "" {
				u = a.firstEnv("CLAVIS_URL", "ONECLAW_API_URL", "ONECLAW_BASE_URL")
			}
			if u == "" {
				if p, err := a.config(); err == nil {
					u = p[a.profileName()].URL
				}
			}
			if u == "" {
				return localErr("no server URL: pass --url or set CLAVIS_URL")
			}
			ctx := c.Context()
			anon := client.New(u)
			var key, keyID string
			if keyStdin {
				k, err := a.readLine("API key: ", true)
				if err != nil {
					return err
				}
				key = strings.TrimSpace(k)
				if _, err := anon.APIKeyToken(ctx, key); err != nil {
					return err
				}
			} else {
				if email == "" {
					e, err := a.readLine("Email: ", false)
					if err != nil {
						return err
					}
					email = strings.TrimSpace(e)
				}
				pw, err := a.readLine("Password: ", true)
				if err != nil {
					return err
				}
				tok, err := anon.Login(ctx, email, pw)
				if err != nil {
					return err
				}
				if tok.MFAToken != "" {
					code, err := a.readLine("MFA code: ", false)
					if err != nil {
						return err
					}
					if tok, err = anon.MFAVerify(ctx, string(tok.MFAToken), strings.TrimSpace(code)); err != nil {
						return err
					}
				}
				user := anon.WithToken(string(tok.AccessToken))
				host, _ := os.Hostname()
				exp := time.Now().Add(30 * 24 * time.Hour).UTC()
				k, raw, err := user.CreateAPIKey(ctx, clavis.APIKeyInput{Name: "cli@" + host, ExpiresAt: &exp})
				if err != nil {
					return err
				}
				key, keyID = string(raw), k.ID
				_ = user.RevokeToken(ctx)
			}
			creds, err := a.readCreds()
			if err != nil {
				return err
			}
			lg := storedLogin{URL: strings.TrimRight(u, "/"), KeyID: keyID, Email: email}
			if err := a.keyringSet(keyringAccount(a.profileName(), lg.URL), key); err == nil {
				lg.InKeyring = true
			} else {
				lg.APIKey = key
				if !a.g.noKeyring {
					a.msg("warning: %v; storing the key in the credentials file (0600)", err)
				}
			}
			oldAccount := keyringAccount(a.profileName(), creds[a.profileName()].URL)
			if creds[a.profileName()].InKeyring && (!lg.InKeyring || oldAccount != keyringAccount(a.profileName(), lg.URL)) {
				_ = a.keyringDelete(oldAccount) // best effort: the new login replaces the old entry
			}
			creds[a.profileName()] = lg
			if err := a.writeCreds(creds); err != nil {
				return err
			}
			profiles, err := a.config()
			if err != nil {
				return err
			}
			p := profiles[a.profileName()]
			p.URL = strings.TrimRight(u, "/")
			profiles[a.profileName()] = p
			if err := a.saveConfig(profiles); err != nil {
				return err
			}
			a.msg("logged in to %s (profile %s)", origin(u), a.profileName())
			return nil
		},
	}
	c.Flags().StringVar(&email, "email", "", "account email (asked for when not given)")
	c.Flags().BoolVar(&keyStdin, "api-key-stdin", false, "store an API key (1ck_ or ocv_) read from stdin")
	c.Flags().BoolVar(&a.g.noKeyring, "no-keyring", false, "store the key in the credentials file, not the OS keyring")
	return c
}

// logoutCmd revokes the profile's stored key when login created it (not a key given with
// --api-key-stdin, which may be in use elsewhere) and forgets it, in the keyring and the file.
func (a *app) logoutCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "logout",
		Short:   "revoke and forget the profile's stored key",
		Example: "  clavis logout\n  clavis logout --profile staging",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			creds, err := a.readCreds()
			if err != nil {
				return err
			}
			lg, ok := creds[a.profileName()]
			if !ok {
				return errNotLoggedIn
			}
			account := keyringAccount(a.profileName(), lg.URL)
			key := lg.APIKey
			if lg.InKeyring {
				if key, err = a.keyringGet(account); err != nil {
					a.msg("warning: the key in the OS keyring cannot be read (%v); forgetting the login without revoking the key", err)
				}
			}
			if lg.KeyID != "" && key != "" {
				err := client.New(lg.URL, client.WithToken(key)).RevokeAPIKey(c.Context(), lg.KeyID)
				if err != nil && !clavis.IsKind(err, clavis.KindUnauthorized) {
					return err
				}
			}
			if lg.InKeyring {
				if err := a.keyringDelete(account); err != nil {
					a.msg("warning: the key could not be removed from the OS keyring: %v", err)
				}
			}
			delete(creds, a.profileName())
			if err := a.writeCreds(creds); err != nil {
				return err
			}
			a.msg("logged out of %s (profile %s)", origin(lg.URL), a.profileName())
			return nil
		},
	}
}

// whoamiView is whoami's -o json output.
type whoamiView struct {
	Type  string `json:"principal_type"`
	ID    string `json:"id"`
	Email string `json:"email,omitempty"`
	Name  string `json:"name,omitempty"`
	Role  string `json:"role,omitempty"`
	OrgID string `json:"org_id"`
	URL   string `json:"url"`
}

func (a *app) whoamiCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "whoami",
		Short:   "show the principal, org and server of the current credential",
		Example: "  clavis whoami\n  clavis whoami -o json",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := a.resolve(true)
			if err != nil {
				return err
			}
			var v whoamiView
			me, err := s.C.Me(c.Context())
			switch {
			case err == nil:
				v = whoamiView{Type: "user", ID: me.ID, Email: me.Email, Role: string(me.Role), OrgID: me.OrgID, URL: s.URL}
			case clavis.IsKind(err, clavis.KindForbidden):
				ag, err := s.C.AgentMe(c.Context())
				if err != nil {
					return err
				}
				v = whoamiView{Type: "agent", ID: ag.ID, Name: ag.Name, OrgID: ag.OrgID, URL: s.URL}
			default:
				return err
			}
			who := v.Email
			if who == "" {
				who = v.Name
			}
			return a.emit(s, v, table{rows: [][]string{{"principal:", v.Type + ":" + v.ID + " (" + who + ")"}, {"org:", v.OrgID}, {"url:", v.URL}}})
		},
	}
}

// linkCmd writes .clavis.json in the working directory.
func (a *app) linkCmd() *cobra.Command {
	var prefix string
	c := &cobra.Command{
		Use:     "link",
		Short:   "write .clavis.json (url, vault, prefix; no secrets) in the current directory",
		Example: "  clavis link --vault 3f0c… --prefix app/",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := a.resolve(false)
			if err != nil && !errors.Is(err, errNotLoggedIn) {
				return err
			}
			l := link{URL: a.g.url, Vault: a.g.vault, Prefix: prefix}
			if s != nil {
				l.URL, l.Vault = s.URL, s.Vault
			}
			if l.Vault == "" {
				return localErr("no vault: pass --vault")
			}
			b, _ := json.MarshalIndent(l, "", "  ")
			if err := writeFileAtomic(linkFile, append(b, '\n'), 0o644); err != nil {
				return err
			}
			a.msg("linked %s to vault %s", linkFile, l.Vault)
			return nil
		},
	}
	c.Flags().StringVar(&prefix, "prefix", "", "default secret path prefix for run, export, import and secret list")
	return c
}

func (a *app) unlinkCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "unlink",
		Short:   "remove .clavis.json from the current directory",
		Example: "  clavis unlink",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := os.Remove(linkFile); err != nil {
				return localErr("%v", err)
			}
			return nil
		},
	}
}
