package engine

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"math"
	"net/netip"
	"strings"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/store"
	"clavis.dev/clavis/internal/token"
)

const (
	// enrollTTL is how long an enrolment stays pending.
	enrollTTL = 24 * time.Hour
	// enrollCooldown is the time between two enrolments addressed to one email (spec §6.2).
	enrollCooldown = 10 * time.Minute
)

var errEnrollNotPending = clavis.E(clavis.KindConflict, "Enrollment is not pending")

// enrollmentView is the enrolment as callers see it at now (a pending one past its expiry is expired).
func enrollmentView(en *store.Enrollment, now time.Time) *clavis.Enrollment {
	out := en.Enrollment
	if out.Status == clavis.EnrollmentPending && !now.Before(out.ExpiresAt) {
		out.Status = clavis.EnrollmentExpired
	}
	return &out
}

// Enroll files a public enrolment request (spec §4.8). Its answer, and the work done before it, never
// depend on whether the addressed email belongs to a user: nothing here looks users up (the notifier
// resolves the addressee later, in the background). The per-email cooldown applies to every address
// alike.
func (e *Engine) Enroll(ctx context.Context, in clavis.EnrollInput, ip netip.Addr) (*clavis.EnrollTicket, error) {
	if err := checkLen("name", in.Name, 1, 255); err != nil {
		return nil, err
	}
	if err := checkLen("description", in.Description, 0, 1024); err != nil {
		return nil, err
	}
	email, err := normalizeEmail(in.HumanEmail)
	if err != nil {
		return nil, clavis.Invalid("human_email", "human_email must be a valid email address")
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, e.classify(ctx, clavis.Internal(err))
	}
	secret := base64.RawURLEncoding.EncodeToString(b[:])
	now := e.now()
	en := &store.Enrollment{Enrollment: clavis.Enrollment{ID: newID(), Name: in.Name, Description: in.Description,
		HumanEmail: email, Status: clavis.EnrollmentPending, CreatedAt: now, ExpiresAt: now.Add(enrollTTL)},
		SecretHash: token.HashKey(e.pepper, secret)}
	err = e.write(ctx, func(tx store.Tx) error {
		last, err := tx.ClaimEnrollment(email, now, now.Add(-enrollCooldown))
		if err != nil {
			return err
		}
		if last != nil {
			wait := last.Add(enrollCooldown).Sub(now)
			return &clavis.Error{Kind: clavis.KindRateLimited, Message: "An enrollment for this email was requested recently; retry later",
				RetryAfter: int(math.Ceil(wait.Seconds()))}
		}
		return tx.CreateEnrollment(en)
	})
	if err != nil {
		return nil, err
	}
	// The request belongs to no org yet, so its event goes to the sink (and the notifier) only.
	e.emit(ctx, []*clavis.AuditEvent{{ID: newID(), Action: "agent.enroll_request", ActorID: "anonymous",
		ActorType: clavis.PrincipalAnonymous, ResourceType: "enrollment", ResourceID: en.ID,
		Details: map[string]any{"name": en.Name}, IPAddress: ipString(ip), CreatedAt: now}})
	return &clavis.EnrollTicket{EnrollmentID: en.ID, Secret: clavis.Sensitive(secret),
		ApprovalURL: e.cfg.Issuer + "/v1/agents/enrollments/" + en.ID, ExpiresAt: en.ExpiresAt}, nil
}

// PollEnrollment reports an enrolment's status to the holder of its secret (spec §4.8). The first poll
// after approval mints the agent's key and returns it; the key exists nowhere else (the agent row keeps
// its hash), and no later poll returns it. A wrong secret and an unknown id are both KindNotFound.
func (e *Engine) PollEnrollment(ctx context.Context, id, secret string, _ netip.Addr) (*clavis.EnrollmentStatus, error) {
	if !validID(id) || secret == "" {
		return nil, clavis.ErrNotFound
	}
	now := e.now()
	var en *store.Enrollment
	err := e.read(ctx, func(tx store.Tx) error {
		var err error
		en, err = tx.GetEnrollment(id)
		if clavis.IsKind(err, clavis.KindNotFound) {
			return clavis.ErrNotFound
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(en.SecretHash, token.HashKey(e.pepper, secret)) != 1 {
		return nil, clavis.ErrNotFound
	}
	out := &clavis.EnrollmentStatus{EnrollmentID: en.ID, Status: enrollmentView(en, now).Status, AgentID: en.AgentID}
	if en.Status != clavis.EnrollmentApproved || en.KeyDelivered {
		return out, nil
	}
	raw, err := token.NewAPIKey(token.AgentKeyPrefix)
	if err != nil {
		return nil, e.classify(ctx, clavis.Internal(err))
	}
	delivered := false
	err = e.write(ctx, func(tx store.Tx) error {
		delivered = false
		ok, err := tx.DeliverEnrollmentKey(en.ID)
		if err != nil || !ok {
			return err
		}
		a, err := tx.GetAgent(en.AgentID)
		if clavis.IsKind(err, clavis.KindNotFound) {
			return nil // deleted since its approval: there is no key to deliver
		}
		if err != nil {
			return err
		}
		a.KeyHash = token.HashKey(e.pepper, raw)
		if err := tx.UpdateAgent(a); err != nil {
			return err
		}
		delivered = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	if delivered {
		out.APIKey = clavis.Sensitive(raw)
	}
	return out, nil
}

// addressedTo loads an enrolment addressed to user c's email; anything else is ErrNotFound.
func addressedTo(tx store.Tx, c *clavis.Caller, id string) (*store.Enrollment, error) {
	u, err := tx.GetUser(c.ID)
	if err != nil {
		return nil, err
	}
	en, err := tx.GetEnrollment(id)
	if clavis.IsKind(err, clavis.KindNotFound) {
		return nil, clavis.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if en.HumanEmail != strings.ToLower(u.Email) {
		return nil, clavis.ErrNotFound
	}
	return en, nil
}

// ListEnrollments lists the enrolments addressed to the user, newest first.
func (e *Engine) ListEnrollments(ctx context.Context, c *clavis.Caller) ([]*clavis.Enrollment, error) {
	if err := e.refuseScoped(ctx, c, "enrollment", ""); err != nil {
		return nil, err
	}
	if err := requireUser(c); err != nil {
		return nil, err
	}
	now := e.now()
	out := []*clavis.Enrollment{}
	err := e.read(ctx, func(tx store.Tx) error {
		out = out[:0]
		u, err := tx.GetUser(c.ID)
		if err != nil {
			return err
		}
		ens, err := tx.ListEnrollments(strings.ToLower(u.Email))
		if err != nil {
			return err
		}
		for _, en := range ens {
			out = append(out, enrollmentView(en, now))
		}
		return nil
	})
	return out, err
}

// ApproveEnrollment registers the enrolled agent in the user's org, created by the user, with the
// requested name and description and the options in (spec §4.8).
func (e *Engine) ApproveEnrollment(ctx context.Context, c *clavis.Caller, id string, in clavis.EnrollApproval) (*clavis.Agent, error) {
	if err := e.refuseScoped(ctx, c, "enrollment", id); err != nil {
		return nil, err
	}
	if err := requireUser(c); err != nil {
		return nil, err
	}
	if err := lookupIDs(id); err != nil {
		return nil, err
	}
	now := e.now()
	var en *store.Enrollment
	err := e.read(ctx, func(tx store.Tx) error {
		var err error
		en, err = addressedTo(tx, c, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if enrollmentView(en, now).Status != clavis.EnrollmentPending {
		return nil, errEnrollNotPending
	}
	// The key minted with the agent is never shown: the agent gets a fresh one at its next poll.
	a, _, err := e.newAgent(ctx, c, clavis.AgentInput{Name: en.Name, Description: en.Description, Scopes: in.Scopes,
		VaultIDs: in.VaultIDs, ExpiresAt: in.ExpiresAt, TokenTTL: in.TokenTTL},
		func(tx store.Tx, a *store.Agent) error {
			return e.decideEnrollment(tx, c, id, clavis.EnrollmentApproved, a.ID, now)
		})
	if err != nil {
		return nil, err
	}
	return &a.Agent, nil
}

// DenyEnrollment refuses an enrolment addressed to the user.
func (e *Engine) DenyEnrollment(ctx context.Context, c *clavis.Caller, id string) error {
	if err := e.refuseScoped(ctx, c, "enrollment", id); err != nil {
		return err
	}
	if err := requireUser(c); err != nil {
		return err
	}
	if err := lookupIDs(id); err != nil {
		return err
	}
	return e.write(ctx, func(tx store.Tx) error {
		return e.decideEnrollment(tx, c, id, clavis.EnrollmentDenied, "", e.now())
	})
}

// decideEnrollment records user c's decision on a pending enrolment addressed to it.
func (e *Engine) decideEnrollment(tx store.Tx, c *clavis.Caller, id, status, agentID string, now time.Time) error {
	if err := tx.ExpireEnrollments(now); err != nil {
		return err
	}
	en, err := addressedTo(tx, c, id)
	if err != nil {
		return err
	}
	en.Status, en.AgentID, en.OrgID, en.DecidedBy = status, agentID, c.OrgID, c.ID
	if err := tx.DecideEnrollment(en); err != nil {
		if clavis.IsKind(err, clavis.KindNotFound) {
			return errEnrollNotPending
		}
		return err
	}
	action := "agent.enroll_deny"
	if status == clavis.EnrollmentApproved {
		action = "agent.enroll_approve"
	}
	return e.record(tx, callerEvent(c, action, "enrollment", id, map[string]any{"name": en.Name}))
}
