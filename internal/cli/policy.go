package cli

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"clavis.dev/clavis"
)

// policyCmd: policy list|create|update|delete|explain on the current vault.
func (a *app) policyCmd() *cobra.Command {
	c := &cobra.Command{Use: "policy", Short: "manage the access policies of the current vault",
		Example: "  clavis policy create --agent 7a1e… --pattern 'app/*' --permission read\n  clavis policy explain --agent 7a1e… --path app/db --permission read"}
	policyTable := func(ps ...policyView) table {
		t := table{header: []string{"ID", "PATTERN", "PRINCIPAL", "PERMISSIONS", "EFFECT", "PRIORITY"}}
		for _, p := range ps {
			t.rows = append(t.rows, []string{p.ID, p.SecretPathPattern, p.PrincipalType + ":" + p.PrincipalID,
				strings.Join(p.Permissions, ","), p.Effect, fmt.Sprint(p.Priority)})
		}
		return t
	}
	list := &cobra.Command{Use: "list", Short: "list the vault's policies", Example: "  clavis policy list -o json", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, v, err := a.withVault()
			if err != nil {
				return err
			}
			ps, err := s.C.ListPolicies(c.Context(), v)
			if err != nil {
				return err
			}
			views := listOf(ps, viewPolicy)
			return a.emit(s, views, policyTable(views...))
		}}
	var agent, user, pattern, effect, conditions string
	var perms []string
	var priority int
	var approval bool
	principal := func() (clavis.PrincipalType, string, error) {
		switch {
		case agent != "" && user != "":
			return "", "", localErr("give --agent or --user, not both")
		case agent != "":
			return clavis.PrincipalAgent, agent, nil
		case user != "":
			return clavis.PrincipalUser, user, nil
		}
		return "", "", nil
	}
	create := &cobra.Command{Use: "create", Short: "create a policy", Example: "  clavis policy create --agent 7a1e… --pattern 'app/**' --permission read --permission write", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, v, err := a.withVault()
			if err != nil {
				return err
			}
			pt, pid, err := principal()
			if err != nil {
				return err
			}
			if pid == "" {
				return localErr("give --agent ID or --user ID")
			}
			in := clavis.PolicyInput{Pattern: pattern, PrincipalType: pt, PrincipalID: pid, Permissions: perms, Priority: priority, RequireApproval: approval}
			if effect != "" {
				e := clavis.Effect(effect)
				in.Effect = &e
			}
			if conditions != "" {
				if !json.Valid([]byte(conditions)) {
					return localErr("--conditions is not valid JSON")
				}
				in.Conditions = json.RawMessage(conditions)
			}
			p, err := s.C.CreatePolicy(c.Context(), v, in)
			if err != nil {
				return err
			}
			return a.emit(s, viewPolicy(p), policyTable(viewPolicy(p)))
		}}
	for _, cmd := range []*cobra.Command{create} {
		f := cmd.Flags()
		f.StringVar(&agent, "agent", "", "agent id the policy applies to")
		f.StringVar(&user, "user", "", "user id the policy applies to")
		f.StringVar(&pattern, "pattern", "**", "secret path glob")
		f.StringArrayVar(&perms, "permission", nil, "permission: read, write, delete, use, … (repeatable)")
		f.StringVar(&effect, "effect", "", "allow (default) or deny")
		f.IntVar(&priority, "priority", 0, "priority (highest wins)")
		f.BoolVar(&approval, "require-approval", false, "reads need a human approval")
		f.StringVar(&conditions, "conditions", "", "conditions as a JSON object")
	}
	var upPattern, upEffect string
	var upPerms []string
	var upPriority int
	update := &cobra.Command{Use: "update ID", Short: "change a policy", Example: "  clavis policy update 5b2d… --priority 10", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, v, err := a.withVault()
			if err != nil {
				return err
			}
			var p clavis.PolicyPatch
			if c.Flags().Changed("pattern") {
				p.Pattern = &upPattern
			}
			if c.Flags().Changed("permission") {
				p.Permissions = &upPerms
			}
			if c.Flags().Changed("priority") {
				p.Priority = &upPriority
			}
			if c.Flags().Changed("effect") {
				e := clavis.Effect(upEffect)
				p.Effect = &e
			}
			pol, err := s.C.UpdatePolicy(c.Context(), v, args[0], p)
			if err != nil {
				return err
			}
			return a.emit(s, viewPolicy(pol), policyTable(viewPolicy(pol)))
		}}
	update.Flags().StringVar(&upPattern, "pattern", "", "secret path glob")
	update.Flags().StringArrayVar(&upPerms, "permission", nil, "permissions (repeatable; replaces the list)")
	update.Flags().IntVar(&upPriority, "priority", 0, "priority")
	update.Flags().StringVar(&upEffect, "effect", "", "allow or deny")
	del := &cobra.Command{Use: "delete ID", Short: "delete a policy", Example: "  clavis policy delete 5b2d…", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, v, err := a.withVault()
			if err != nil {
				return err
			}
			if err := s.C.DeletePolicy(c.Context(), v, args[0]); err != nil {
				return err
			}
			a.msg("deleted policy %s", args[0])
			return nil
		}}
	var exAgent, exUser, exPath, exPerm string
	explain := &cobra.Command{Use: "explain", Short: "explain whether a principal may act on a path now", Example: "  clavis policy explain --agent 7a1e… --path app/db --permission read", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, v, err := a.withVault()
			if err != nil {
				return err
			}
			q := clavis.ExplainQuery{Path: exPath, Permission: clavis.Permission(exPerm)}
			switch {
			case exAgent != "":
				q.PrincipalType, q.PrincipalID = clavis.PrincipalAgent, exAgent
			case exUser != "":
				q.PrincipalType, q.PrincipalID = clavis.PrincipalUser, exUser
			}
			e, err := s.C.Explain(c.Context(), v, q)
			if err != nil {
				return err
			}
			view := struct {
				Allowed  bool   `json:"allowed"`
				Reason   string `json:"reason"`
				PolicyID string `json:"policy_id,omitempty"`
			}{e.Allowed, e.Reason, e.PolicyID}
			return a.emit(s, view, table{rows: [][]string{{"allowed:", fmt.Sprint(e.Allowed)}, {"reason:", e.Reason}, {"policy:", e.PolicyID}}})
		}}
	explain.Flags().StringVar(&exAgent, "agent", "", "agent id (default: yourself)")
	explain.Flags().StringVar(&exUser, "user", "", "user id")
	explain.Flags().StringVar(&exPath, "path", "", "secret path")
	explain.Flags().StringVar(&exPerm, "permission", "read", "permission")
	c.AddCommand(list, create, update, del, explain)
	return c
}
