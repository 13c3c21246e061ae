package cli

import (
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"clavis.dev/clavis"
	"clavis.dev/clavis/client"
)

// shareView is api.md's ShareListItem (and, with share_url, what share create prints).
type shareView struct {
	ID             string    `json:"id"`
	ShareURL       string    `json:"share_url,omitempty"`
	SecretID       string    `json:"secret_id,omitempty"`
	SecretPath     string    `json:"secret_path,omitempty"`
	RecipientType  string    `json:"recipient_type"`
	RecipientID    string    `json:"recipient_id,omitempty"`
	RecipientEmail string    `json:"recipient_email,omitempty"`
	AccessCount    int       `json:"access_count"`
	MaxAccessCount int       `json:"max_access_count"`
	ExpiresAt      time.Time `json:"expires_at"`
	CreatedAt      time.Time `json:"created_at,omitzero"`
	IsExpired      bool      `json:"is_expired"`
	IsAccepted     bool      `json:"is_accepted"`
}

func viewShare(sh *clavis.Share) shareView {
	return shareView{ID: sh.ID, ShareURL: sh.URL, SecretID: sh.SecretID, SecretPath: sh.SecretPath, RecipientType: sh.RecipientType,
		RecipientID: sh.RecipientID, RecipientEmail: sh.RecipientEmail, AccessCount: sh.AccessCount, MaxAccessCount: sh.MaxAccessCount,
		ExpiresAt: sh.ExpiresAt, CreatedAt: sh.CreatedAt, IsExpired: sh.Expired, IsAccepted: sh.IsAccepted()}
}

func shareTable(vs ...shareView) table {
	t := table{header: []string{"ID", "PATH", "RECIPIENT", "ACCESSES", "EXPIRES", "ACCEPTED", "EXPIRED"}}
	for _, v := range vs {
		to := v.RecipientType
		if v.RecipientID != "" {
			to += ":" + v.RecipientID
		} else if v.RecipientEmail != "" {
			to += ":" + v.RecipientEmail
		}
		t.rows = append(t.rows, []string{v.ID, v.SecretPath, to, fmt.Sprintf("%d/%d", v.AccessCount, v.MaxAccessCount),
			ts(v.ExpiresAt), yesNo(v.IsAccepted), yesNo(v.IsExpired)})
	}
	return t
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// shareCmd: share create|list|accept|decline|revoke|open (api.md §4.11).
func (a *app) shareCmd() *cobra.Command {
	c := &cobra.Command{Use: "share", Short: "share secrets with people, agents or a one-time link",
		Example: "  clavis share create api/stripe --to anyone --expires-in 1h\n  clavis share list --inbound\n  clavis share open https://vault.example.com/v1/share/3f25…"}
	c.AddCommand(a.shareCreate(), a.shareList(), a.shareAnswer("accept"), a.shareAnswer("decline"), a.shareRevoke(), a.shareOpen())
	return c
}

// parseRecipient reads --to: anyone, creator, user:ID, agent:ID or email:ADDRESS.
func parseRecipient(to string, in *clavis.ShareInput) error {
	kind, rest, _ := strings.Cut(to, ":")
	switch kind {
	case "anyone":
		in.RecipientType = clavis.ShareToAnyone
	case "creator":
		in.RecipientType = clavis.ShareToCreator
	case "user", "agent":
		in.RecipientType, in.RecipientID = kind, rest
	case "email":
		in.RecipientType, in.Email = clavis.ShareToExternalEmail, rest
	default:
		return localErr("--to must be anyone, creator, user:ID, agent:ID or email:ADDRESS")
	}
	return nil
}

func (a *app) shareCreate() *cobra.Command {
	var to, expiresAt string
	var expiresIn time.Duration
	var maxReads int
	var passStdin bool
	var ips []string
	c := &cobra.Command{Use: "create PATH", Short: "share the latest value of a secret of the current vault",
		Example: "  clavis share create api/stripe --to anyone --expires-in 1h\n" +
			"  echo 'blue tuesday' | clavis share create api/stripe --to anyone --expires-in 30m --passphrase-stdin\n" +
			"  clavis share create db/password --to agent:7a1e… --expires-in 24h --max-reads 5",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			in := clavis.ShareInput{IPAllowlist: ips}
			if err := parseRecipient(to, &in); err != nil {
				return err
			}
			exp := time.Now().Add(expiresIn)
			if expiresAt != "" {
				t, err := time.Parse(time.RFC3339, expiresAt)
				if err != nil {
					return localErr("--expires-at: %v", err)
				}
				exp = t
			}
			in.ExpiresAt = &exp
			if c.Flags().Changed("max-reads") {
				in.MaxAccessCount = &maxReads
			}
			if passStdin {
				line, err := a.stdin().ReadString('\n')
				if err != nil && err != io.EOF {
					return localErr("reading the passphrase: %v", err)
				}
				if line = strings.TrimRight(line, "\r\n"); line == "" {
					return localErr("--passphrase-stdin: no passphrase on stdin")
				}
				in.Passphrase = clavis.Sensitive(line)
			}
			s, v, err := a.withVault()
			if err != nil {
				return err
			}
			id, err := secretID(c, s, v, args[0])
			if err != nil {
				return err
			}
			sh, err := s.C.CreateShare(c.Context(), id, in)
			if err != nil {
				return err
			}
			sh.SecretID, sh.SecretPath = id, args[0]
			view := viewShare(sh)
			f, err := a.format(s)
			if err != nil {
				return err
			}
			if f == "table" {
				_, err := fmt.Fprintln(a.io.Out, sh.URL)
				a.msg("share %s: %d access(es) until %s", sh.ID, sh.MaxAccessCount, ts(sh.ExpiresAt))
				return err
			}
			return a.emit(s, view, table{})
		}}
	f := c.Flags()
	f.StringVar(&to, "to", "anyone", "recipient: anyone, creator (agents), user:ID, agent:ID or email:ADDRESS")
	f.DurationVar(&expiresIn, "expires-in", time.Hour, "how long the share lasts")
	f.StringVar(&expiresAt, "expires-at", "", "expiry time (RFC 3339), instead of --expires-in")
	f.IntVar(&maxReads, "max-reads", 1, "how many times the share may be opened")
	f.BoolVar(&passStdin, "passphrase-stdin", false, "read a passphrase the recipient must give from the first line of stdin")
	f.StringArrayVar(&ips, "ip", nil, "IP address or CIDR the share may be opened from (repeatable)")
	return c
}

// secretID finds the stable id of the secret at path from the vault's metadata (no value is read).
func secretID(c *cobra.Command, s *session, vault, path string) (string, error) {
	ms, err := s.C.ListSecrets(c.Context(), vault, path)
	if err != nil {
		return "", err
	}
	for _, m := range ms {
		if m.Secret.Path == path {
			return m.Secret.ID, nil
		}
	}
	return "", &exitError{code: ExitServer, err: fmt.Errorf("no secret at %s that you may read", path)}
}

func (a *app) shareList() *cobra.Command {
	var inbound bool
	c := &cobra.Command{Use: "list", Short: "list the shares you created (or, with --inbound, those addressed to you)",
		Example: "  clavis share list\n  clavis share list --inbound -o json", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := a.resolve(true)
			if err != nil {
				return err
			}
			list := s.C.ListOutboundShares
			if inbound {
				list = s.C.ListInboundShares
			}
			shs, err := list(c.Context())
			if err != nil {
				return err
			}
			views := listOf(shs, viewShare)
			return a.emit(s, views, shareTable(views...))
		}}
	c.Flags().BoolVar(&inbound, "inbound", false, "list the shares addressed to you")
	return c
}

func (a *app) shareAnswer(verb string) *cobra.Command {
	return &cobra.Command{Use: verb + " ID", Short: verb + " a share addressed to you",
		Example: "  clavis share " + verb + " 3f2504e0-4f89-41d3-9a0c-0305e82c3301", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := a.resolve(true)
			if err != nil {
				return err
			}
			answer := s.C.AcceptShare
			if verb == "decline" {
				answer = s.C.DeclineShare
			}
			if err := answer(c.Context(), args[0]); err != nil {
				return err
			}
			a.msg("%s share %s", map[string]string{"accept": "accepted", "decline": "declined"}[verb], args[0])
			return nil
		}}
}

func (a *app) shareRevoke() *cobra.Command {
	return &cobra.Command{Use: "revoke ID", Short: "revoke a share you created", Example: "  clavis share revoke 3f2504e0-4f89-41d3-9a0c-0305e82c3301",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := a.resolve(true)
			if err != nil {
				return err
			}
			if err := s.C.RevokeShare(c.Context(), args[0]); err != nil {
				return err
			}
			a.msg("revoked share %s", args[0])
			return nil
		}}
}

// shareOpen opens a share URL. Stored credentials go only to their own origin: a URL of another origin
// is refused rather than sent them (and link shares need none).
func (a *app) shareOpen() *cobra.Command {
	var plain, passStdin bool
	c := &cobra.Command{Use: "open URL", Short: "open a share (counts one access) and print the value",
		Example: "  clavis share open https://vault.example.com/v1/share/3f2504e0-4f89-41d3-9a0c-0305e82c3301 --plain\n" +
			"  echo 'blue tuesday' | clavis share open $URL --passphrase-stdin",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			u, err := url.Parse(args[0])
			if err != nil || u.Host == "" {
				return localErr("not a share URL: want <server>/v1/share/<id>")
			}
			id, ok := strings.CutPrefix(u.EscapedPath(), "/v1/share/")
			if !ok || id == "" || strings.Contains(id, "/") {
				return localErr("not a share URL: want <server>/v1/share/<id>")
			}
			var pass clavis.Sensitive
			if passStdin {
				line, err := a.stdin().ReadString('\n')
				if err != nil && err != io.EOF {
					return localErr("reading the passphrase: %v", err)
				}
				pass = clavis.Sensitive(strings.TrimRight(line, "\r\n"))
			}
			s, err := a.resolve(false)
			if err != nil {
				s = &session{} // no profile or URL: open the link anonymously
			}
			cl := client.New(origin(args[0]))
			if s.Bearer != "" {
				if origin(s.URL) != origin(args[0]) {
					return localErr("the share is on %s, but your credentials are for %s: they go only to their origin",
						origin(args[0]), origin(s.URL))
				}
				cl = s.C
			}
			got, err := cl.OpenShare(c.Context(), id, pass)
			if err != nil {
				return err
			}
			f, err := a.format(s)
			if err != nil {
				return err
			}
			if plain {
				_, err := io.WriteString(a.io.Out, string(got.Value))
				return err
			}
			if f == "table" {
				_, err := fmt.Fprintln(a.io.Out, string(got.Value))
				return err
			}
			return writeAs(a.io.Out, f, struct {
				ID             string `json:"id"`
				Path           string `json:"path"`
				Type           string `json:"type"`
				Value          string `json:"value"`
				AccessCount    int    `json:"access_count"`
				MaxAccessCount int    `json:"max_access_count"`
			}{got.ShareID, got.Path, got.Type, string(got.Value), got.AccessCount, got.MaxAccessCount}, table{})
		}}
	c.Flags().BoolVar(&plain, "plain", false, "print only the value, no newline added")
	c.Flags().BoolVar(&passStdin, "passphrase-stdin", false, "read the share's passphrase from the first line of stdin")
	return c
}
