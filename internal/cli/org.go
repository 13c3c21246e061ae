package cli

import (
	"time"

	"github.com/spf13/cobra"

	"clavis.dev/clavis"
)

// memberView is api.md's OrgMember.
type memberView struct {
	ID          string    `json:"id"`
	Email       string    `json:"email"`
	DisplayName string    `json:"display_name"`
	Role        string    `json:"role"`
	AuthMethod  string    `json:"auth_method"`
	CreatedAt   time.Time `json:"created_at"`
}

func viewMember(u *clavis.User) memberView {
	return memberView{u.ID, u.Email, u.DisplayName, string(u.Role), "password", u.CreatedAt}
}

func memberTable(ms ...memberView) table {
	t := table{header: []string{"ID", "EMAIL", "NAME", "ROLE", "CREATED"}}
	for _, m := range ms {
		t.rows = append(t.rows, []string{m.ID, m.Email, m.DisplayName, m.Role, ts(m.CreatedAt)})
	}
	return t
}

// orgCmd: org members|invite|set-role|remove (api.md §4.12).
func (a *app) orgCmd() *cobra.Command {
	c := &cobra.Command{Use: "org", Short: "manage your organisation's members",
		Example: "  clavis org members\n  clavis org invite bo@example.com --role admin\n  clavis org set-role 3f25… member"}
	members := &cobra.Command{Use: "members", Short: "list the org's members", Example: "  clavis org members -o json", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := a.resolve(true)
			if err != nil {
				return err
			}
			us, err := s.C.ListMembers(c.Context())
			if err != nil {
				return err
			}
			views := listOf(us, viewMember)
			return a.emit(s, views, memberTable(views...))
		}}
	var role string
	invite := &cobra.Command{Use: "invite EMAIL", Short: "invite an email; signing up with it joins the org with the role",
		Example: "  clavis org invite bo@example.com\n  clavis org invite ops@example.com --role admin", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := a.resolve(true)
			if err != nil {
				return err
			}
			inv, err := s.C.InviteMember(c.Context(), args[0], clavis.Role(role))
			if err != nil {
				return err
			}
			view := struct {
				Message   string    `json:"message"`
				Email     string    `json:"email"`
				Role      string    `json:"role"`
				ExpiresAt time.Time `json:"expires_at"`
			}{"Invitation created", inv.Email, string(inv.Role), inv.ExpiresAt}
			return a.emit(s, view, table{header: []string{"EMAIL", "ROLE", "EXPIRES"},
				rows: [][]string{{inv.Email, string(inv.Role), ts(inv.ExpiresAt)}}})
		}}
	invite.Flags().StringVar(&role, "role", "member", "role: member, admin or owner")
	setRole := &cobra.Command{Use: "set-role USER_ID ROLE", Short: "change a member's role (owner, admin or member)",
		Example: "  clavis org set-role 3f2504e0-4f89-41d3-9a0c-0305e82c3301 admin", Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := a.resolve(true)
			if err != nil {
				return err
			}
			u, err := s.C.SetMemberRole(c.Context(), args[0], clavis.Role(args[1]))
			if err != nil {
				return err
			}
			return a.emit(s, viewMember(u), memberTable(viewMember(u)))
		}}
	remove := &cobra.Command{Use: "remove USER_ID", Short: "remove a member: the account is disabled, its sessions and keys stop working",
		Example: "  clavis org remove 3f2504e0-4f89-41d3-9a0c-0305e82c3301", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := a.resolve(true)
			if err != nil {
				return err
			}
			if err := s.C.RemoveMember(c.Context(), args[0]); err != nil {
				return err
			}
			a.msg("removed member %s", args[0])
			return nil
		}}
	c.AddCommand(members, invite, setRole, remove)
	return c
}
