package cli

import (
	"fmt"
	"sort"

	"github.com/spf13/cobra"
)

func profileField(p *Profile, key string) (*string, error) {
	switch key {
	case "url":
		return &p.URL, nil
	case "vault_id":
		return &p.Vault, nil
	case "output":
		return &p.Output, nil
	}
	return nil, localErr("unknown setting %q (url, vault_id or output)", key)
}

// configCmd: config get|set|list on the profile's non-secret settings (config.json).
func (a *app) configCmd() *cobra.Command {
	c := &cobra.Command{Use: "config", Short: "non-secret settings of the profile (url, vault_id, output)",
		Example: "  clavis config set vault_id 3f0c…\n  clavis config list --profile staging"}
	get := &cobra.Command{Use: "get KEY", Short: "print one setting", Example: "  clavis config get url", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			ps, err := a.config()
			if err != nil {
				return err
			}
			p := ps[a.profileName()]
			f, err := profileField(&p, args[0])
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.io.Out, *f)
			return err
		}}
	set := &cobra.Command{Use: "set KEY VALUE", Short: "change one setting (\"\" clears it)", Example: "  clavis config set output json", Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			ps, err := a.config()
			if err != nil {
				return err
			}
			p := ps[a.profileName()]
			f, err := profileField(&p, args[0])
			if err != nil {
				return err
			}
			if args[0] == "output" && args[1] != "" {
				a.g.output = args[1]
				if _, err := a.format(nil); err != nil {
					return err
				}
			}
			*f = args[1]
			ps[a.profileName()] = p
			return a.saveConfig(ps)
		}}
	list := &cobra.Command{Use: "list", Short: "list every profile's settings", Example: "  clavis config list -o json", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ps, err := a.config()
			if err != nil {
				return err
			}
			names := make([]string, 0, len(ps))
			for n := range ps {
				names = append(names, n)
			}
			sort.Strings(names)
			t := table{header: []string{"PROFILE", "URL", "VAULT_ID", "OUTPUT"}}
			for _, n := range names {
				t.rows = append(t.rows, []string{n, ps[n].URL, ps[n].Vault, ps[n].Output})
			}
			return a.emit(&session{Output: ps[a.profileName()].Output}, ps, t)
		}}
	c.AddCommand(get, set, list)
	return c
}
