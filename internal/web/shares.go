package web

import (
	"strings"

	"clavis.dev/clavis"
)

// Shares (docs/dashboard.md §2.9): the shares the user created (revoke) and those addressed to the
// user (accept, decline, open). A share is created from the secret's detail page. Opening a share is a
// POST, like a reveal: it counts one access, and its answer is the one page that shows the value.

// recipients lists the org's members and agents a share may name (what the user may list of them).
func recipients(q *req) []principalOption {
	ctx := q.r.Context()
	var out []principalOption
	if us, err := q.svc.ListMembers(ctx); err == nil {
		for _, u := range us {
			out = append(out, principalOption{Value: u.ID, Label: u.Email + " (user)"})
		}
	}
	if as, err := q.svc.ListAgents(ctx); err == nil {
		for _, a := range as {
			out = append(out, principalOption{Value: a.ID, Label: a.Name + " (agent)"})
		}
	}
	return out
}

type sharesPage struct {
	Outbound []*clavis.Share
	Inbound  []*clavis.Share
}

func sharesView(h *Handler, q *req) (string, any, error) {
	ctx := q.r.Context()
	out, err := q.svc.ListOutboundShares(ctx)
	if err != nil {
		return "", nil, err
	}
	in, err := q.svc.ListInboundShares(ctx)
	if err != nil {
		return "", nil, err
	}
	return "shares", sharesPage{Outbound: out, Inbound: in}, nil
}

// createShare shares the latest value of the secret at the form's path, found by its stable id.
func createShare(h *Handler, q *req) error {
	ctx := q.r.Context()
	vault, path := q.r.PathValue("vault"), q.r.PostFormValue("path")
	ms, err := q.svc.ListVersions(ctx, vault, path)
	if err != nil {
		return again(secretView, err)
	}
	if len(ms) == 0 || ms[0].Secret == nil {
		return again(secretView, clavis.E(clavis.KindNotFound, "No such secret"))
	}
	exp, err := formTime(q, "share_expires_at")
	if err != nil {
		return again(secretView, err)
	}
	maxAcc, err := formInt(q, "share_max_access_count")
	if err != nil {
		return again(secretView, err)
	}
	in := clavis.ShareInput{RecipientType: q.r.PostFormValue("recipient_type"), ExpiresAt: exp, MaxAccessCount: maxAcc,
		Passphrase: clavis.Sensitive(q.r.PostFormValue("passphrase")), IPAllowlist: fields(q.r.PostFormValue("ip_allowlist"))}
	switch in.RecipientType {
	case clavis.ShareToUser, clavis.ShareToAgent:
		in.RecipientID = strings.TrimSpace(q.r.PostFormValue("recipient_id"))
	case clavis.ShareToExternalEmail:
		in.Email = strings.TrimSpace(q.r.PostFormValue("recipient_email"))
	}
	if _, err := q.svc.CreateShare(ctx, ms[0].Secret.ID, in); err != nil {
		return again(secretView, err)
	}
	return redirect(q, "/ui/shares", "share-created")
}

func revokeShare(h *Handler, q *req) error {
	if err := q.svc.RevokeShare(q.r.Context(), q.r.PathValue("share")); err != nil {
		return again(sharesView, err)
	}
	return redirect(q, "/ui/shares", "share-revoked")
}

// answerShare accepts or declines a share addressed to the user.
func answerShare(accept bool) action {
	return func(h *Handler, q *req) error {
		id, done := q.r.PathValue("share"), "share-declined"
		var err error
		if accept {
			done = "share-accepted"
			err = q.svc.AcceptShare(q.r.Context(), id)
		} else {
			err = q.svc.DeclineShare(q.r.Context(), id)
		}
		if err != nil {
			return again(sharesView, err)
		}
		return redirect(q, "/ui/shares", done)
	}
}

type sharedValuePage struct {
	*clavis.SharedSecret
	Value string
}

// openShare reads an inbound share with its passphrase: an access that counts, audited.
func openShare(h *Handler, q *req) error {
	s, err := q.svc.OpenShare(q.r.Context(), q.r.PathValue("share"), clavis.Sensitive(q.r.PostFormValue("passphrase")))
	if err != nil {
		return again(sharesView, err)
	}
	h.render(q, 200, "sharevalue", sharedValuePage{SharedSecret: s, Value: string(s.Value)}, "")
	return nil
}
