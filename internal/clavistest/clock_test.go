package clavistest_test

import (
	"context"
	"encoding/base32"
	"net/netip"
	"testing"
	"time"

	"clavis.dev/clavis"
	"clavis.dev/clavis/internal/clavistest"
	"clavis.dev/clavis/internal/totp"
)

// The engine's clock is injected: every expiry is decided at its exact instant, tested without sleeping.
// One tick is one microsecond, the precision of every stored time.
const tick = time.Microsecond

func clockEnv(t *testing.T) (*clavistest.Env, *clavistest.Clock) {
	t.Helper()
	clk := clavistest.NewClock()
	return clavistest.New(t, clavistest.Options{Clock: clk.Now}), clk
}

func TestSecretExpiryBoundary(t *testing.T) {
	env, clk := clockEnv(t)
	ctx := context.Background()
	u := env.Signup(t)
	v, err := u.C.CreateVault(ctx, clavis.VaultInput{Name: "clock"})
	if err != nil {
		t.Fatal(err)
	}
	at := clavis.Truncate(clk.Now().Add(time.Minute))
	if _, err := u.C.PutSecret(ctx, v.ID, "k", clavis.SecretInput{Value: "v", ExpiresAt: &at}); err != nil {
		t.Fatal(err)
	}
	clk.Set(at.Add(-tick))
	if _, err := u.C.GetSecret(ctx, v.ID, "k"); err != nil {
		t.Fatalf("one tick before expires_at: want 200, got %v", err)
	}
	clk.Set(at)
	if _, err := u.C.GetSecret(ctx, v.ID, "k"); !clavis.IsKind(err, clavis.KindGone) {
		t.Fatalf("exactly at expires_at: want 410, got %v", err)
	}
}

func TestAgentExpiryBoundary(t *testing.T) {
	env, clk := clockEnv(t)
	ctx := context.Background()
	u := env.Signup(t)
	at := clavis.Truncate(clk.Now().Add(time.Hour))
	ak, err := u.C.CreateAgent(ctx, clavis.AgentInput{Name: "expiring", ExpiresAt: &at})
	if err != nil {
		t.Fatal(err)
	}
	a, key := ak.Agent, ak.Key
	clk.Set(at.Add(-tick))
	tok, err := env.Client().AgentToken(ctx, string(key), a.ID)
	if err != nil {
		t.Fatalf("key exchange one tick before expires_at: %v", err)
	}
	ac := env.Client().WithToken(string(tok.AccessToken))
	if _, err := ac.AgentMe(ctx); err != nil {
		t.Fatalf("request one tick before expires_at: %v", err)
	}
	clk.Set(at)
	if _, err := ac.AgentMe(ctx); !clavis.IsKind(err, clavis.KindUnauthorized) {
		t.Fatalf("token of an agent exactly at its expires_at: want 401, got %v", err)
	}
	if _, err := env.Client().AgentToken(ctx, string(key), a.ID); !clavis.IsKind(err, clavis.KindUnauthorized) {
		t.Fatalf("key exchange exactly at expires_at: want 401, got %v", err)
	}
}

func TestAccessTokenExpiryBoundary(t *testing.T) {
	env, clk := clockEnv(t)
	ctx := context.Background()
	u := env.Signup(t)
	issued := clk.Now()
	tok, err := env.Client().Login(ctx, u.Email, u.Password)
	if err != nil {
		t.Fatal(err)
	}
	c := env.Client().WithToken(string(tok.AccessToken))
	// exp is whole seconds after issuance; the 5 s leeway (spec §2.4) applies after it.
	exp := time.Unix(issued.Unix()+int64(tok.ExpiresIn), 0).Add(5 * time.Second)
	clk.Set(exp.Add(-time.Second))
	if _, err := c.Me(ctx); err != nil {
		t.Fatalf("a second before exp+leeway: %v", err)
	}
	clk.Set(exp.Add(time.Second))
	if _, err := c.Me(ctx); !clavis.IsKind(err, clavis.KindUnauthorized) {
		t.Fatalf("a second after exp+leeway: want 401, got %v", err)
	}
}

func TestLockoutExpiryBoundary(t *testing.T) {
	env, clk := clockEnv(t)
	ctx := context.Background()
	u := env.Signup(t)
	for range 5 {
		if _, err := env.Client().Login(ctx, u.Email, "wrong-"+u.Password); err == nil {
			t.Fatal("a wrong password logged in")
		}
	}
	lockedAt := clk.Now()
	if _, err := env.Client().Login(ctx, u.Email, u.Password); err == nil {
		t.Fatal("a locked account logged in with its password")
	}
	clk.Set(lockedAt.Add(15*time.Minute - tick))
	if _, err := env.Client().Login(ctx, u.Email, u.Password); err == nil {
		t.Fatal("logged in one tick before the lock ends")
	}
	clk.Set(lockedAt.Add(15 * time.Minute))
	if _, err := env.Client().Login(ctx, u.Email, u.Password); err != nil {
		t.Fatalf("login exactly when the lock ends: %v", err)
	}
}

// A TOTP code is accepted once: again in the same step it is a replay; the next step's code works.
func TestTOTPStepReplay(t *testing.T) {
	env, clk := clockEnv(t)
	ctx := context.Background()
	u := env.Signup(t)
	ip := netip.MustParseAddr("127.0.0.1")
	tok, err := env.Client().Login(ctx, u.Email, u.Password)
	if err != nil {
		t.Fatal(err)
	}
	caller, err := env.Engine.Authenticate(ctx, string(tok.AccessToken), ip)
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := env.Engine.MFASetup(ctx, caller)
	if err != nil {
		t.Fatal(err)
	}
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(string(secret))
	if err != nil {
		t.Fatal(err)
	}
	step := func() int64 { return clk.Now().Unix() / totp.Period }
	// start at the beginning of a step, so that a tick later is still the same step
	clk.Set(time.Unix((step()+1)*totp.Period, 0))
	if _, err := env.Engine.MFAVerifySetup(ctx, caller, totp.Code(key, step())); err != nil {
		t.Fatalf("verify setup: %v", err)
	}
	login := func(code string) error {
		chal, err := env.Engine.Login(ctx, u.Email, u.Password, ip)
		if err != nil {
			return err
		}
		_, err = env.Engine.MFAVerify(ctx, string(chal.MFAToken), code, ip)
		return err
	}
	clk.Set(clk.Now().Add(totp.Period * time.Second)) // the setup's step is spent
	code := totp.Code(key, step())
	if err := login(code); err != nil {
		t.Fatalf("a fresh step's code: %v", err)
	}
	clk.Advance(totp.Period*time.Second - time.Second) // the last second of the same step
	if err := login(code); err == nil {
		t.Fatal("the same code was accepted twice in its step (replay)")
	}
	clk.Advance(time.Second) // the next step
	if err := login(totp.Code(key, step())); err != nil {
		t.Fatalf("the next step's code: %v", err)
	}
}
