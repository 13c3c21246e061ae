package clavistest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
)

// TestApprovalGrantExactlyOnce: one approved secret_access grant lets exactly one of 50 concurrent reads
// through; the others are answered approval_required, all naming one new pending approval.
func TestApprovalGrantExactlyOnce(t *testing.T) {
	env := clavistest.New(t)
	ctx := context.Background()
	owner := env.Signup(t)
	o := env.Client().WithToken(owner.Token)
	v, err := o.CreateVault(ctx, clavis.VaultInput{Name: "gated"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.PutSecret(ctx, v.ID, "prod/key", clavis.SecretInput{Value: "guarded"}); err != nil {
		t.Fatal(err)
	}
	ak, err := o.CreateAgent(ctx, clavis.AgentInput{Name: "bot"})
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
	a := env.Client().WithToken(string(tok.AccessToken))
	approvalOf := func(err error) string {
		var ce *clavis.Error
		if errors.As(err, &ce) && ce.Kind == clavis.KindApprovalRequired {
			return ce.ApprovalID
		}
		return ""
	}
	_, err = a.GetSecret(ctx, v.ID, "prod/key")
	first := approvalOf(err)
	if first == "" {
		t.Fatalf("first read: %v, want approval_required", err)
	}
	if _, err := o.DecideApproval(ctx, first, true, "once"); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var values []string
	pending := map[string]int{}
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sv, err := a.GetSecret(ctx, v.ID, "prod/key")
			mu.Lock()
			defer mu.Unlock()
			switch id := approvalOf(err); {
			case err == nil:
				values = append(values, string(sv.Value))
			case id != "":
				pending[id]++
			default:
				t.Errorf("read: %v", err)
			}
		}()
	}
	wg.Wait()
	if len(values) != 1 || values[0] != "guarded" {
		t.Fatalf("%d reads succeeded (%v), want exactly 1", len(values), len(values))
	}
	if len(pending) != 1 || pending[first] != 0 {
		t.Fatalf("the 49 refused reads named approvals %v, want one new pending approval", pending)
	}
	for id, n := range pending {
		if n != 49 {
			t.Fatalf("approval %s named %d times, want 49", id, n)
		}
	}

	// The grant's use is in the audit log: the one read names the approval it used.
	evs, err := o.ListAudit(ctx, clavis.AuditQuery{Action: "secret.read", ActorID: ak.Agent.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Details["approval_id"] != first {
		t.Fatalf("read events of the agent: %+v, want one naming approval %s", evs, first)
	}
}

// TestApprovalGrantSurvivesFailedRequest: a gated request that fails after authorization (here: no
// secret at the path yet) leaves the grant unused for the next request.
func TestApprovalGrantSurvivesFailedRequest(t *testing.T) {
	env := clavistest.New(t)
	ctx := context.Background()
	owner := env.Signup(t)
	o := env.Client().WithToken(owner.Token)
	v, err := o.CreateVault(ctx, clavis.VaultInput{Name: "gated"})
	if err != nil {
		t.Fatal(err)
	}
	ak, err := o.CreateAgent(ctx, clavis.AgentInput{Name: "bot"})
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
	a := env.Client().WithToken(string(tok.AccessToken))
	_, err = a.GetSecret(ctx, v.ID, "prod/later")
	var ce *clavis.Error
	if !errors.As(err, &ce) || ce.Kind != clavis.KindApprovalRequired {
		t.Fatalf("gated read of a missing path: %v, want approval_required (existence is not revealed)", err)
	}
	if _, err := o.DecideApproval(ctx, ce.ApprovalID, true, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := a.GetSecret(ctx, v.ID, "prod/later"); !clavis.IsKind(err, clavis.KindNotFound) {
		t.Fatalf("read with a grant of a missing path: %v, want not found", err)
	}
	if _, err := o.PutSecret(ctx, v.ID, "prod/later", clavis.SecretInput{Value: "now"}); err != nil {
		t.Fatal(err)
	}
	sv, err := a.GetSecret(ctx, v.ID, "prod/later")
	if err != nil || string(sv.Value) != "now" {
		t.Fatalf("the grant must survive the failed request: %v", err)
	}
}

// TestApprovalExpiry: a pending approval expires after 24 h (deciding it is then a conflict, and the
// next gated request opens a new one); an approved grant unused for an hour no longer lets a read
// through; an enrolment expires after 24 h too.
func TestApprovalExpiry(t *testing.T) {
	clock := clavistest.NewClock()
	env := clavistest.New(t, clavistest.Options{Clock: clock.Now})
	ctx := context.Background()
	owner := env.Signup(t)
	_, key, err := env.Client().WithToken(owner.Token).CreateAPIKey(ctx, clavis.APIKeyInput{Name: "long-lived"})
	if err != nil {
		t.Fatal(err)
	}
	o := env.Client().WithToken(string(key)) // outlives the clock's jumps, unlike a 15-minute token
	v, err := o.CreateVault(ctx, clavis.VaultInput{Name: "gated"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.PutSecret(ctx, v.ID, "prod/key", clavis.SecretInput{Value: "guarded"}); err != nil {
		t.Fatal(err)
	}
	ak, err := o.CreateAgent(ctx, clavis.AgentInput{Name: "bot"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.CreatePolicy(ctx, v.ID, clavis.PolicyInput{Pattern: "prod/**", PrincipalType: clavis.PrincipalAgent,
		PrincipalID: ak.Agent.ID, Permissions: []string{"read"}, RequireApproval: true}); err != nil {
		t.Fatal(err)
	}
	a := env.Client().WithToken(string(ak.Key))
	pending := func() string {
		t.Helper()
		_, err := a.GetSecret(ctx, v.ID, "prod/key")
		var ce *clavis.Error
		if !errors.As(err, &ce) || ce.Kind != clavis.KindApprovalRequired {
			t.Fatalf("gated read: %v, want approval_required", err)
		}
		return ce.ApprovalID
	}
	first := pending()
	clock.Advance(24*time.Hour + time.Second)
	if x, err := o.GetApproval(ctx, first); err != nil || x.Status != clavis.ApprovalExpired {
		t.Fatalf("after 24 h: %+v, %v; want expired", x, err)
	}
	if _, err := o.DecideApproval(ctx, first, true, ""); !clavis.IsKind(err, clavis.KindConflict) {
		t.Fatalf("deciding an expired approval: %v, want conflict", err)
	}
	second := pending()
	if second == first {
		t.Fatal("an expired approval was reused")
	}
	if _, err := o.DecideApproval(ctx, second, true, ""); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour + time.Second)
	if third := pending(); third == second {
		t.Fatal("a grant older than an hour let the read through, or its approval was reused")
	}

	res, err := http.Post(env.URL+"/v1/agents/enroll", "application/json",
		strings.NewReader(`{"name":"late","human_email":"`+owner.Email+`"}`))
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("enroll: %v", err)
	}
	var en struct {
		ID     string `json:"enrollment_id"`
		Secret string `json:"enrollment_secret"`
	}
	if err := json.NewDecoder(res.Body).Decode(&en); err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	clock.Advance(24*time.Hour + time.Second)
	if _, err := o.ApproveEnrollment(ctx, en.ID, clavis.EnrollApproval{}); !clavis.IsKind(err, clavis.KindConflict) {
		t.Fatalf("approving an expired enrolment: %v, want conflict", err)
	}
	req, _ := http.NewRequest("GET", env.URL+"/v1/agents/enroll/"+en.ID, nil)
	req.Header.Set("X-Enrollment-Secret", en.Secret)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	_ = json.NewDecoder(res.Body).Decode(&st)
	_ = res.Body.Close()
	if st["status"] != clavis.EnrollmentExpired {
		t.Fatalf("poll after expiry: %v", st)
	}
}
