package clavistest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
	"clavis.dev/clavis/internal/netguard"
	"clavis.dev/clavis/internal/notify"
	"clavis.dev/clavis/internal/notify/smtptest"
)

// TestNotificationsReachHumans runs the whole path: an agent's gated read opens an approval, whose notice
// goes to the webhook (signed) and by email to the vault's owner with the dashboard link; an enrolment
// addressed to a user emails that user, one addressed to an unknown email emails nobody. No message
// holds the secret value or any key.
func TestNotificationsReachHumans(t *testing.T) {
	mail := smtptest.Start(t, nil)
	host, port, _ := strings.Cut(mail.Addr, ":")
	smtpCfg, err := notify.ParseSMTPURL("smtp://"+host+":"+port, "", "clavis@example.com")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var hooks []string
	hooked := make(chan struct{}, 20)
	receiver := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get(notify.HeaderSignature) == "" {
			t.Errorf("unsigned webhook")
		}
		mu.Lock()
		hooks = append(hooks, string(body))
		mu.Unlock()
		hooked <- struct{}{}
	}))
	defer receiver.Close()
	hook, err := notify.NewWebhook(receiver.URL, []byte("a-webhook-secret-of-some-length"),
		netguard.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}))
	if err != nil {
		t.Fatal(err)
	}
	n := notify.New(notify.Options{Webhooks: []*notify.Webhook{hook}, SMTP: smtpCfg, Backoff: 10 * time.Millisecond})
	env := clavistest.New(t, clavistest.Options{Notifier: n})
	ctx := context.Background()

	owner := env.Signup(t)
	o := env.Client().WithToken(owner.Token)
	v, err := o.CreateVault(ctx, clavis.VaultInput{Name: "payments"})
	if err != nil {
		t.Fatal(err)
	}
	const value = "CANARY-notify-value-0123456789"
	if _, err := o.PutSecret(ctx, v.ID, "prod/key", clavis.SecretInput{Value: value}); err != nil {
		t.Fatal(err)
	}
	ak, err := o.CreateAgent(ctx, clavis.AgentInput{Name: "deploy-bot"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.CreatePolicy(ctx, v.ID, clavis.PolicyInput{Pattern: "prod/**", PrincipalType: clavis.PrincipalAgent,
		PrincipalID: ak.Agent.ID, Permissions: []string{"read"}, RequireApproval: true}); err != nil {
		t.Fatal(err)
	}
	tok, err := env.Client().AgentToken(ctx, string(ak.Key), ak.Agent.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = env.Client().WithToken(string(tok.AccessToken)).GetSecret(ctx, v.ID, "prod/key")
	var ce *clavis.Error
	if !errors.As(err, &ce) || ce.ApprovalID == "" {
		t.Fatalf("gated read: %v", err)
	}

	waitFor := func(ch <-chan struct{}, what string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(30 * time.Second):
			t.Fatalf("no %s after 30 s", what)
		}
	}
	waitFor(mail.Arrived(), "email for the approval")
	waitFor(hooked, "webhook for the approval")
	m := mail.Messages()[0]
	if len(m.To) != 1 || m.To[0] != owner.Email || !strings.Contains(m.Data, env.URL+"/ui/approvals/"+ce.ApprovalID) ||
		!strings.Contains(m.Data, "deploy-bot") || !strings.Contains(m.Data, "prod/key") {
		t.Fatalf("approval email to %v:\n%s", m.To, m.Data)
	}
	var notice map[string]any
	mu.Lock()
	err = json.Unmarshal([]byte(hooks[0]), &notice)
	mu.Unlock()
	if err != nil || notice["type"] != clavis.NoticeApprovalRequested || notice["approval_id"] != ce.ApprovalID ||
		notice["vault_name"] != "payments" || notice["agent_name"] != "deploy-bot" {
		t.Fatalf("webhook notice: %v (%v)", notice, err)
	}

	// Deciding notifies the webhook only (nobody has to act any more).
	if _, err := o.DecideApproval(ctx, ce.ApprovalID, true, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(hooked, "webhook for the decision")

	// Enrolments: a user's email gets mail; an unknown email gets none (but the webhook hears of both).
	post := func(email string) {
		t.Helper()
		res, err := http.Post(env.URL+"/v1/agents/enroll", "application/json",
			strings.NewReader(`{"name":"new-bot","human_email":"`+email+`"}`))
		if err != nil || res.StatusCode != 201 {
			t.Fatalf("enroll: %v %v", res, err)
		}
		_ = res.Body.Close()
	}
	post("nobody-" + clavistest.RandHex(6) + "@example.com")
	waitFor(hooked, "webhook for the unknown email's enrolment")
	post(owner.Email)
	waitFor(hooked, "webhook for the owner's enrolment")
	waitFor(mail.Arrived(), "email for the enrolment")
	msgs := mail.Messages()
	if len(msgs) != 2 || msgs[1].To[0] != owner.Email || !strings.Contains(msgs[1].Data, "/ui/enrollments/") {
		t.Fatalf("enrolment emails: %+v", msgs)
	}

	mu.Lock()
	defer mu.Unlock()
	for _, text := range append(hooks, msgs[0].Data, msgs[1].Data) {
		for _, leak := range []string{value, string(ak.Key), "ocv_", "1ck_", "enrollment_secret"} {
			if strings.Contains(text, leak) {
				t.Fatalf("a notification holds %q:\n%s", leak, text)
			}
		}
	}
}
