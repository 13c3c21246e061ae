package cli

import (
	"github.com/spf13/cobra"

	"clavis.dev/clavis"
)

// vaultCmd: vault list|create NAME|get [ID]|delete [ID]. get and delete default to the session's vault.
func (a *app) vaultCmd() *cobra.Command {
	c := &cobra.Command{Use: "vault", Short: "manage vaults", Example: "  clavis vault list\n  clavis vault create prod"}
	vaultTable := func(vs ...vaultView) table {
		t := table{header: []string{"ID", "NAME", "DESCRIPTION", "CREATED"}}
		for _, v := range vs {
			t.rows = append(t.rows, []string{v.ID, v.Name, v.Description, ts(v.CreatedAt)})
		}
		return t
	}
	list := &cobra.Command{Use: "list", Short: "list the vaults you can see", Example: "  clavis vault list -o json", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := a.resolve(true)
			if err != nil {
				return err
			}
			vs, err := s.C.ListVaults(c.Context())
			if err != nil {
				return err
			}
			views := listOf(vs, viewVault)
			return a.emit(s, views, vaultTable(views...))
		}}
	var desc string
	create := &cobra.Command{Use: "create NAME", Short: "create a vault", Example: "  clavis vault create prod --description \"production\"", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := a.resolve(true)
			if err != nil {
				return err
			}
			v, err := s.C.CreateVault(c.Context(), clavis.VaultInput{Name: args[0], Description: desc})
			if err != nil {
				return err
			}
			return a.emit(s, viewVault(v), vaultTable(viewVault(v)))
		}}
	create.Flags().StringVar(&desc, "description", "", "description")
	pick := func(s *session, args []string) (string, error) {
		if len(args) == 1 {
			return args[0], nil
		}
		return s.vaultID()
	}
	get := &cobra.Command{Use: "get [ID]", Short: "show a vault (default: the current vault)", Example: "  clavis vault get 3f0c…", Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := a.resolve(true)
			if err != nil {
				return err
			}
			id, err := pick(s, args)
			if err != nil {
				return err
			}
			v, err := s.C.GetVault(c.Context(), id)
			if err != nil {
				return err
			}
			return a.emit(s, viewVault(v), vaultTable(viewVault(v)))
		}}
	del := &cobra.Command{Use: "delete ID", Short: "delete a vault with its key, secrets and policies", Example: "  clavis vault delete 3f0c…", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := a.resolve(true)
			if err != nil {
				return err
			}
			if err := s.C.DeleteVault(c.Context(), args[0]); err != nil {
				return err
			}
			a.msg("deleted vault %s", args[0])
			return nil
		}}
	c.AddCommand(list, create, get, del)
	return c
}
