package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"clavis.dev/clavis"
	"clavis.dev/clavis/client"
)

// agentCmd: agent list|create NAME|get|update|delete|rotate-key|token. A new ocv_ key is printed once, to
// stdout, with a warning on stderr.
func (a *app) agentCmd() *cobra.Command {
	c := &cobra.Command{Use: "agent", Short: "manage agents", Example: "  clavis agent create ci-bot --vault-id 3f0c…\n  clavis agent list"}
	agentTable := func(gs ...agentView) table {
		t := table{header: []string{"ID", "NAME", "ACTIVE", "VAULTS", "CREATED"}}
		for _, g := range gs {
			t.rows = append(t.rows, []string{g.ID, g.Name, fmt.Sprint(g.IsActive), strings.Join(g.VaultIDs, ","), ts(g.CreatedAt)})
		}
		return t
	}
	type keyView struct {
		Agent  agentView `json:"agent"`
		APIKey string    `json:"api_key"`
	}
	emitKey := func(s *session, k *clavis.AgentKey) error {
		a.msg("warning: this is the only time the agent key is shown; store it now")
		f, err := a.format(s)
		if err != nil {
			return err
		}
		if f == "table" {
			_, err := fmt.Fprintln(a.io.Out, string(k.Key))
			return err
		}
		return a.emit(s, keyView{viewAgent(k.Agent), string(k.Key)}, table{})
	}
	list := &cobra.Command{Use: "list", Short: "list the org's agents", Example: "  clavis agent list -o json", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := a.resolve(true)
			if err != nil {
				return err
			}
			gs, err := s.C.ListAgents(c.Context())
			if err != nil {
				return err
			}
			views := listOf(gs, viewAgent)
			return a.emit(s, views, agentTable(views...))
		}}
	var in clavis.AgentInput
	var ttl int
	var expires string
	create := &cobra.Command{Use: "create NAME", Short: "register an agent and print its key once", Example: "  clavis agent create ci-bot --vault-id 3f0c… --token-ttl 900", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := a.resolve(true)
			if err != nil {
				return err
			}
			in.Name = args[0]
			if c.Flags().Changed("token-ttl") {
				in.TokenTTL = &ttl
			}
			if expires != "" {
				t, err := time.Parse(time.RFC3339, expires)
				if err != nil {
					return localErr("--expires-at: %v", err)
				}
				in.ExpiresAt = &t
			}
			k, err := s.C.CreateAgent(c.Context(), in)
			if err != nil {
				return err
			}
			return emitKey(s, k)
		}}
	create.Flags().StringVar(&in.Description, "description", "", "description")
	create.Flags().StringSliceVar(&in.Scopes, "scope", nil, "path-glob scope (repeatable)")
	create.Flags().StringSliceVar(&in.VaultIDs, "vault-id", nil, "bind the agent to this vault (repeatable)")
	create.Flags().IntVar(&ttl, "token-ttl", 0, "token lifetime in seconds")
	create.Flags().StringVar(&expires, "expires-at", "", "expiry time (RFC 3339)")
	get := &cobra.Command{Use: "get ID", Short: "show an agent", Example: "  clavis agent get 7a1e…", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := a.resolve(true)
			if err != nil {
				return err
			}
			g, err := s.C.GetAgent(c.Context(), args[0])
			if err != nil {
				return err
			}
			return a.emit(s, viewAgent(g), agentTable(viewAgent(g)))
		}}
	var name, desc string
	var active bool
	update := &cobra.Command{Use: "update ID", Short: "change an agent", Example: "  clavis agent update 7a1e… --active=false", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := a.resolve(true)
			if err != nil {
				return err
			}
			var p clavis.AgentPatch
			if c.Flags().Changed("name") {
				p.Name = &name
			}
			if c.Flags().Changed("description") {
				p.Description = &desc
			}
			if c.Flags().Changed("active") {
				p.Active = &active
			}
			g, err := s.C.UpdateAgent(c.Context(), args[0], p)
			if err != nil {
				return err
			}
			return a.emit(s, viewAgent(g), agentTable(viewAgent(g)))
		}}
	update.Flags().StringVar(&name, "name", "", "new name")
	update.Flags().StringVar(&desc, "description", "", "new description")
	update.Flags().BoolVar(&active, "active", true, "activate or deactivate")
	del := &cobra.Command{Use: "delete ID", Short: "delete an agent with its policies", Example: "  clavis agent delete 7a1e…", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := a.resolve(true)
			if err != nil {
				return err
			}
			if err := s.C.DeleteAgent(c.Context(), args[0]); err != nil {
				return err
			}
			a.msg("deleted agent %s", args[0])
			return nil
		}}
	rotate := &cobra.Command{Use: "rotate-key ID", Short: "issue a new key; the old one stops working", Example: "  clavis agent rotate-key 7a1e…", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := a.resolve(true)
			if err != nil {
				return err
			}
			k, err := s.C.RotateAgentKey(c.Context(), args[0])
			if err != nil {
				return err
			}
			return emitKey(s, k)
		}}
	token := &cobra.Command{Use: "token", Short: "read an ocv_ key from stdin and print an agent JWT", Example: "  clavis agent token < agent.key", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			u := a.g.url
			if u == "" {
				u = a.firstEnv("CLAVIS_URL", "ONECLAW_API_URL", "ONECLAW_BASE_URL")
			}
			if u == "" {
				s, err := a.resolve(false)
				if err != nil {
					return err
				}
				u = s.URL
			}
			key, err := a.readLine("Agent key: ", true)
			if err != nil {
				return err
			}
			t, err := client.New(u).AgentToken(c.Context(), strings.TrimSpace(key), "")
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.io.Out, string(t.AccessToken))
			return err
		}}
	c.AddCommand(list, create, get, update, del, rotate, token)
	return c
}
