package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"clavis.dev/clavis"
)

// secretCmd groups the secret commands of docs/cli.md §2. Values are never taken from argv.
func (a *app) secretCmd() *cobra.Command {
	c := &cobra.Command{Use: "secret", Short: "manage secrets of the current vault",
		Example: "  clavis secret set db/password < pw.txt\n  clavis secret get db/password --plain"}
	c.AddCommand(a.secretList(), a.secretGet(), a.secretSet(), a.secretDelete(), a.secretVersions(),
		a.secretRotate(), a.secretDescribe(), a.secretDisable(), a.secretRestore(), a.secretUse(), a.secretUseConfig())
	return c
}

func metaTable(ms ...secretView) table {
	t := table{header: []string{"PATH", "TYPE", "VERSION", "CREATED", "EXPIRES"}}
	for _, m := range ms {
		t.rows = append(t.rows, []string{m.Path, m.Type, strconv.Itoa(m.Version), ts(m.CreatedAt), tsp(m.ExpiresAt)})
	}
	return t
}

// withVault resolves an authenticated session and its vault.
func (a *app) withVault() (*session, string, error) {
	s, err := a.resolve(true)
	if err != nil {
		return nil, "", err
	}
	v, err := s.vaultID()
	return s, v, err
}

func (a *app) secretList() *cobra.Command {
	var prefix string
	c := &cobra.Command{Use: "list", Short: "list secrets (metadata only)", Example: "  clavis secret list --prefix db/", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, v, err := a.withVault()
			if err != nil {
				return err
			}
			if !c.Flags().Changed("prefix") {
				prefix = s.Prefix
			}
			ms, err := s.C.ListSecrets(c.Context(), v, prefix)
			if err != nil {
				return err
			}
			views := listOf(ms, viewMeta)
			return a.emit(s, views, metaTable(views...))
		}}
	c.Flags().StringVar(&prefix, "prefix", "", "only paths starting with this prefix")
	return c
}

func (a *app) secretGet() *cobra.Command {
	var version int
	var plain bool
	c := &cobra.Command{Use: "get PATH", Short: "print a secret's value", Example: "  clavis secret get db/password --plain\n  clavis secret get db/password --version 2 -o json", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, v, err := a.withVault()
			if err != nil {
				return err
			}
			var sv *clavis.SecretValue
			if version > 0 {
				sv, err = s.C.GetVersion(c.Context(), v, args[0], version)
			} else {
				sv, err = s.C.GetSecret(c.Context(), v, args[0])
			}
			if err != nil {
				return err
			}
			if plain {
				_, err := io.WriteString(a.io.Out, string(sv.Value))
				return err
			}
			view := viewMeta(sv.SecretMeta)
			val := string(sv.Value)
			view.Value = &val
			f, err := a.format(s)
			if err != nil {
				return err
			}
			if f == "table" {
				_, err := fmt.Fprintln(a.io.Out, val)
				return err
			}
			return a.emit(s, view, table{})
		}}
	c.Flags().IntVar(&version, "version", 0, "read this version instead of the latest")
	c.Flags().BoolVar(&plain, "plain", false, "print only the value, no newline added")
	return c
}

func (a *app) secretSet() *cobra.Command {
	var typ, fromFile, expires, metadata string
	var maxReads int
	var raw bool
	c := &cobra.Command{Use: "set PATH", Short: "write a new version; the value comes from stdin, --from-file or a hidden prompt",
		Long: `Write a new version of the secret at PATH. The value is never taken from the command line: it is read
from --from-file, else from stdin when it is not a terminal, else from a hidden prompt. One trailing
newline is dropped unless --raw.`,
		Example: "  printf %s \"$PW\" | clavis secret set db/password --type password\n  clavis secret set tls/key --from-file key.pem --type private_key",
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, v, err := a.withVault()
			if err != nil {
				return err
			}
			var val []byte
			switch {
			case fromFile != "":
				if val, err = os.ReadFile(fromFile); err != nil { // #nosec G304 -- the file the user named with --from-file
					return localErr("%v", err)
				}
			case a.io.Interactive:
				line, err := a.readLine("Value: ", true)
				if err != nil {
					return err
				}
				val = []byte(line)
			default:
				if val, err = io.ReadAll(a.io.In); err != nil {
					return localErr("reading the value from stdin: %v", err)
				}
			}
			if !raw {
				sval := strings.TrimSuffix(string(val), "\n")
				val = []byte(strings.TrimSuffix(sval, "\r"))
			}
			in := clavis.SecretInput{Value: clavis.Sensitive(val), Type: typ}
			if metadata != "" {
				if !json.Valid([]byte(metadata)) {
					return localErr("--metadata is not valid JSON")
				}
				in.Metadata = json.RawMessage(metadata)
			}
			if expires != "" {
				t, err := time.Parse(time.RFC3339, expires)
				if err != nil {
					return localErr("--expires-at: %v", err)
				}
				in.ExpiresAt = &t
			}
			if c.Flags().Changed("max-reads") {
				in.MaxAccessCount = &maxReads
			}
			m, err := s.C.PutSecret(c.Context(), v, args[0], in)
			if err != nil {
				return err
			}
			return a.emit(s, viewMeta(*m), metaTable(viewMeta(*m)))
		}}
	f := c.Flags()
	f.StringVar(&typ, "type", "", "secret type (generic, api_key, password, private_key, certificate, ssh_key, env, file, note, env_bundle)")
	f.StringVar(&fromFile, "from-file", "", "read the value from this file")
	f.StringVar(&expires, "expires-at", "", "expiry time (RFC 3339)")
	f.IntVar(&maxReads, "max-reads", 0, "maximum number of reads of this version")
	f.StringVar(&metadata, "metadata", "", "metadata as a JSON object")
	f.BoolVar(&raw, "raw", false, "keep a trailing newline")
	return c
}

func (a *app) secretDelete() *cobra.Command {
	return &cobra.Command{Use: "delete PATH", Short: "soft-delete a secret (restore brings it back)", Example: "  clavis secret delete db/password", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, v, err := a.withVault()
			if err != nil {
				return err
			}
			if err := s.C.DeleteSecret(c.Context(), v, args[0]); err != nil {
				return err
			}
			a.msg("deleted %s", args[0])
			return nil
		}}
}

func (a *app) secretVersions() *cobra.Command {
	return &cobra.Command{Use: "versions PATH", Short: "list a secret's versions, newest first", Example: "  clavis secret versions db/password -o json", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, v, err := a.withVault()
			if err != nil {
				return err
			}
			ms, err := s.C.ListVersions(c.Context(), v, args[0])
			if err != nil {
				return err
			}
			views := listOf(ms, func(m clavis.SecretMeta) secretView {
				x := viewMeta(m)
				d := m.Version.Disabled
				x.IsDisabled = &d
				return x
			})
			t := table{header: []string{"VERSION", "TYPE", "CREATED", "CREATED BY", "DISABLED"}}
			for _, x := range views {
				t.rows = append(t.rows, []string{strconv.Itoa(x.Version), x.Type, ts(x.CreatedAt), x.CreatedBy, strconv.FormatBool(*x.IsDisabled)})
			}
			return a.emit(s, views, t)
		}}
}

func (a *app) secretRotate() *cobra.Command {
	var length int
	var charset, typ string
	c := &cobra.Command{Use: "rotate PATH", Short: "store a server-generated value as a new version", Example: "  clavis secret rotate api/token --length 48 --charset alphanumeric", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, v, err := a.withVault()
			if err != nil {
				return err
			}
			in := clavis.RotateInput{Charset: charset, Type: typ}
			if c.Flags().Changed("length") {
				in.Length = &length
			}
			m, err := s.C.RotateSecret(c.Context(), v, args[0], in)
			if err != nil {
				return err
			}
			return a.emit(s, viewMeta(*m), metaTable(viewMeta(*m)))
		}}
	c.Flags().IntVar(&length, "length", 32, "length of the generated value")
	c.Flags().StringVar(&charset, "charset", "", "character set (default hex)")
	c.Flags().StringVar(&typ, "type", "", "type of the new version (default: the previous version's)")
	return c
}

// secretDescribe prints the latest version's metadata: the listing entry of PATH, no value read.
func (a *app) secretDescribe() *cobra.Command {
	return &cobra.Command{Use: "describe PATH", Short: "show a secret's metadata without reading its value", Example: "  clavis secret describe db/password", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, v, err := a.withVault()
			if err != nil {
				return err
			}
			ms, err := s.C.ListVersions(c.Context(), v, args[0])
			if err != nil {
				return err
			}
			if len(ms) == 0 {
				return &clavis.Error{Kind: clavis.KindNotFound, Message: "secret not found"}
			}
			m := viewMeta(ms[0])
			return a.emit(s, m, metaTable(m))
		}}
}

func (a *app) secretDisable() *cobra.Command {
	return &cobra.Command{Use: "disable-version PATH VERSION", Short: "make one version unreadable", Example: "  clavis secret disable-version db/password 2", Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			s, v, err := a.withVault()
			if err != nil {
				return err
			}
			n, err := strconv.Atoi(args[1])
			if err != nil {
				return localErr("VERSION must be a number")
			}
			if err := s.C.DisableVersion(c.Context(), v, args[0], n); err != nil {
				return err
			}
			a.msg("disabled %s version %d", args[0], n)
			return nil
		}}
}

func (a *app) secretRestore() *cobra.Command {
	return &cobra.Command{Use: "restore PATH VERSION", Short: "copy a version into a new latest version (revives a deleted path)", Example: "  clavis secret restore db/password 1", Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			s, v, err := a.withVault()
			if err != nil {
				return err
			}
			n, err := strconv.Atoi(args[1])
			if err != nil {
				return localErr("VERSION must be a number")
			}
			m, err := s.C.RestoreVersion(c.Context(), v, args[0], n)
			if err != nil {
				return err
			}
			return a.emit(s, viewMeta(*m), metaTable(viewMeta(*m)))
		}}
}
