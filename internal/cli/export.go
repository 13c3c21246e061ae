package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"clavis.dev/clavis"
)

// exportCmd writes the readable secrets under a prefix as dotenv, dotenv-export, json, yaml or shell;
// dotenv-export and shell single-quote every value (safe to eval). --file is written 0600 through a
// temporary file and a rename, never through a symlink.
func (a *app) exportCmd() *cobra.Command {
	var o loadOptions
	var format, file string
	c := &cobra.Command{
		Use:     "export",
		Short:   "write secrets as dotenv, dotenv-export, json, yaml or shell",
		Example: "  clavis export --prefix app/ --format dotenv --file .env\n  eval \"$(clavis export --format shell)\"",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, vault, err := a.withVault()
			if err != nil {
				return err
			}
			if !c.Flags().Changed("prefix") {
				o.Prefix = s.Prefix
			}
			o.Note = a.msg
			if isTerminal(a.io.Err) && !a.g.quiet {
				o.Progress = func(done, total int) { fmt.Fprintf(a.io.Err, "\rreading %d/%d", done+1, total) }
			}
			set, err := loadSecrets(c.Context(), s.C, vault, o)
			if o.Progress != nil {
				fmt.Fprintln(a.io.Err)
			}
			if err != nil {
				return err
			}
			out, err := renderEnv(format, set.Vars)
			if err != nil {
				return err
			}
			if file == "" {
				_, err := a.io.Out.Write(out)
				return err
			}
			if fi, err := os.Lstat(file); err == nil && fi.Mode()&os.ModeSymlink != 0 {
				return localErr("%s is a symbolic link; refusing to write through it", file)
			}
			if err := writeFileAtomic(filepath.Clean(file), out, 0o600); err != nil {
				return err
			}
			a.msg("exported %d variables to %s", len(set.Vars), file)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&o.Prefix, "prefix", "", "secrets under this path prefix")
	f.StringArrayVar(&o.AllowEnv, "allow-env", nil, "accept this otherwise refused variable name (repeatable)")
	f.StringVar(&format, "format", "dotenv", "dotenv, dotenv-export, json, yaml or shell")
	f.StringVar(&file, "file", "", "write to this file (mode 0600) instead of stdout")
	return c
}

// shellQuote single-quotes s for POSIX shells.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// dotenvQuote double-quotes s when it needs quoting, escaping what parseDotenv unescapes.
func dotenvQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n\r\"'\\#$=`") {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`, `$`, `\$`).Replace(s) + `"`
}

// renderEnv formats the variables, sorted by name.
func renderEnv(format string, vars []envSecret) ([]byte, error) {
	vs := append([]envSecret(nil), vars...)
	sort.Slice(vs, func(i, j int) bool { return vs[i].Name < vs[j].Name })
	var b bytes.Buffer
	switch format {
	case "dotenv":
		for _, v := range vs {
			fmt.Fprintf(&b, "%s=%s\n", v.Name, dotenvQuote(v.Value))
		}
	case "dotenv-export", "shell":
		for _, v := range vs {
			fmt.Fprintf(&b, "export %s=%s\n", v.Name, shellQuote(v.Value))
		}
	case "json", "yaml":
		m := map[string]string{}
		for _, v := range vs {
			m[v.Name] = v.Value
		}
		if format == "yaml" {
			j, _ := json.Marshal(m)
			if err := jsonToYAML(&b, j); err != nil {
				return nil, err
			}
			break
		}
		j, _ := json.MarshalIndent(m, "", "  ")
		b.Write(append(j, '\n'))
	default:
		return nil, localErr("unknown format %q (dotenv, dotenv-export, json, yaml or shell)", format)
	}
	return b.Bytes(), nil
}

// importCmd writes one secret per KEY of a .env file, at PREFIX/KEY. The whole file is
// validated before the first write, so a parse error writes nothing; progress shows on a TTY and a
// summary at the end.
func (a *app) importCmd() *cobra.Command {
	var prefix, typ string
	c := &cobra.Command{
		Use:     "import FILE",
		Short:   "import a .env file, one secret per key",
		Example: "  clavis import .env --prefix app/\n  clavis import prod.env --type api_key",
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, vault, err := a.withVault()
			if err != nil {
				return err
			}
			if !c.Flags().Changed("prefix") {
				prefix = s.Prefix
			}
			b, err := os.ReadFile(args[0])
			if err != nil {
				return localErr("%v", err)
			}
			kvs, err := parseDotenv(string(b))
			if err != nil {
				return localErr("%s: %v (nothing imported)", args[0], err)
			}
			seen := map[string]bool{}
			for _, kv := range kvs {
				if seen[kv[0]] {
					return localErr("%s: %s appears twice (nothing imported)", args[0], kv[0])
				}
				seen[kv[0]] = true
			}
			p := strings.TrimSuffix(prefix, "/")
			if p != "" {
				p += "/"
			}
			// Ctrl-C stops between two secrets, saying how many were written.
			ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			tty := isTerminal(a.io.Err) && !a.g.quiet
			for i, kv := range kvs {
				if tty {
					fmt.Fprintf(a.io.Err, "\rimporting %d/%d", i+1, len(kvs))
				}
				if err := ctx.Err(); err != nil {
					return localErr("interrupted after %d of %d secrets", i, len(kvs))
				}
				path := p + kv[0]
				if _, err := s.C.PutSecret(ctx, vault, path, clavis.SecretInput{Value: clavis.Sensitive(kv[1]), Type: typ}); err != nil {
					if tty {
						fmt.Fprintln(a.io.Err)
					}
					return fmt.Errorf("%s (after %d of %d imported): %w", path, i, len(kvs), err)
				}
			}
			if tty {
				fmt.Fprintln(a.io.Err)
			}
			a.msg("imported %d secrets into %s", len(kvs), vault)
			return nil
		},
	}
	c.Flags().StringVar(&prefix, "prefix", "", "path prefix of the new secrets")
	c.Flags().StringVar(&typ, "type", "", "type of the new secrets (default generic)")
	return c
}
