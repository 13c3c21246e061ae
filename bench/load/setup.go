package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// groupSize is the number of secrets under one list prefix: secret i lives at bench/g<i/100>/s<i>, so the
// prefix "bench/g<k>/" matches exactly 100 paths whenever group k is full.
const groupSize = 100

func secretPath(i int) string {
	return "bench/g" + strconv.Itoa(i/groupSize) + "/s" + strconv.Itoa(i)
}

// fixture is what one clavis server was set up with.
type fixture struct {
	base     string
	n        int
	vaultID  string
	agentID  string
	agentKey string // ocv_…, for the token op
	agentJWT string // the agent's access token (TTL 86400 s), for fetch, write and list
	userKey  string // 1ck_… of the vault owner, used for setup only
}

// apiClient is a minimal JSON-over-HTTP caller for setup (the measured ops build their own requests).
type apiClient struct {
	base string
	hc   *http.Client
}

// call sends body as JSON and decodes a 2xx answer into out; any status other than want is an error
// carrying the start of the problem document.
func (a *apiClient) call(ctx context.Context, method, path, bearer string, body, out any, want int) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		if len(b) > 300 {
			b = b[:300]
		}
		return fmt.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decoding answer: %w", method, path, err)
		}
	}
	return nil
}

func randomHex(nbytes int) string {
	b := make([]byte, nbytes)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// setupFixture signs up a fresh user (and so a fresh org), creates a personal key, a vault, an agent and a
// policy letting the agent read and write bench/**, writes the N secrets with `workers` concurrent PUTs
// (progress on progress), exchanges the agent key for a token, and checks that fetch and list answer as
// the ops expect.
func setupFixture(ctx context.Context, base string, n, workers int, progress io.Writer) (*fixture, error) {
	a := &apiClient{base: base, hc: &http.Client{Timeout: 60 * time.Second, Transport: newTransport(workers)}}
	defer a.hc.CloseIdleConnections()
	fx := &fixture{base: base, n: n}

	id := randomHex(6)
	var signup struct {
		AccessToken string `json:"access_token"`
	}
	if err := a.call(ctx, "POST", "/v1/auth/signup", "", map[string]any{
		"email": "bench-" + id + "@example.com", "password": "load-bench-" + randomHex(12), "display_name": "load bench",
	}, &signup, http.StatusOK); err != nil {
		return nil, fmt.Errorf("signup: %w", err)
	}
	// A personal key rather than the 900 s user token, so that a long setup cannot outlive it.
	var key struct {
		APIKey string `json:"api_key"`
	}
	if err := a.call(ctx, "POST", "/v1/auth/api-keys", signup.AccessToken, map[string]any{"name": "load-bench"}, &key, http.StatusCreated); err != nil {
		return nil, fmt.Errorf("personal key: %w", err)
	}
	fx.userKey = key.APIKey
	var vault struct {
		ID string `json:"id"`
	}
	if err := a.call(ctx, "POST", "/v1/vaults", fx.userKey, map[string]any{"name": "load-bench", "description": "bench/load"}, &vault, http.StatusCreated); err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	fx.vaultID = vault.ID
	var agent struct {
		Agent struct {
			ID string `json:"id"`
		} `json:"agent"`
		APIKey string `json:"api_key"`
	}
	if err := a.call(ctx, "POST", "/v1/agents", fx.userKey, map[string]any{
		"name": "load-bench-agent", "token_ttl_seconds": 86400,
	}, &agent, http.StatusCreated); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	fx.agentID, fx.agentKey = agent.Agent.ID, agent.APIKey
	if err := a.call(ctx, "POST", "/v1/vaults/"+fx.vaultID+"/policies", fx.userKey, map[string]any{
		"secret_path_pattern": "bench/**", "principal_type": "agent", "principal_id": fx.agentID,
		"permissions": []string{"read", "write"},
	}, nil, http.StatusCreated); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}

	if err := seed(ctx, a, fx, workers, progress); err != nil {
		return nil, err
	}

	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := a.call(ctx, "POST", "/v1/auth/agent-token", "", map[string]any{"api_key": fx.agentKey, "agent_id": fx.agentID}, &tok, http.StatusOK); err != nil {
		return nil, fmt.Errorf("agent token: %w", err)
	}
	fx.agentJWT = tok.AccessToken

	// Sanity checks: the agent reads a secret, and a list prefix matches a full group.
	if err := a.call(ctx, "GET", "/v1/vaults/"+fx.vaultID+"/secrets/"+secretPath(n-1), fx.agentJWT, nil, nil, http.StatusOK); err != nil {
		return nil, fmt.Errorf("agent fetch check: %w", err)
	}
	var list struct {
		Secrets []json.RawMessage `json:"secrets"`
	}
	if err := a.call(ctx, "GET", "/v1/vaults/"+fx.vaultID+"/secrets?prefix="+url.QueryEscape(listPrefix(0)), fx.agentJWT, nil, &list, http.StatusOK); err != nil {
		return nil, fmt.Errorf("agent list check: %w", err)
	}
	if want := min(n, groupSize); len(list.Secrets) != want {
		return nil, fmt.Errorf("list of prefix %q returned %d secrets, want %d", listPrefix(0), len(list.Secrets), want)
	}
	if n < groupSize {
		fmt.Fprintf(progress, "load: N=%d < %d: the list op lists %d paths, not %d\n", n, groupSize, n, groupSize)
	}
	return fx, nil
}

func listPrefix(group int) string { return "bench/g" + strconv.Itoa(group) + "/" }

// seed writes secrets 0..n-1 as the vault owner with `workers` concurrent PUTs, retrying a failed PUT a
// few times, and reports progress every two seconds.
func seed(ctx context.Context, a *apiClient, fx *fixture, workers int, progress io.Writer) error {
	var next, done atomic.Int64
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var errOnce sync.Once
	var firstErr error
	start := time.Now()
	for w := 0; w < min(workers, fx.n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= fx.n || ctx.Err() != nil {
					return
				}
				body := map[string]any{"value": randomHex(32), "type": "generic"}
				var err error
				for attempt := 0; attempt < 5; attempt++ {
					if err = a.call(ctx, "PUT", "/v1/vaults/"+fx.vaultID+"/secrets/"+secretPath(i), fx.userKey, body, nil, http.StatusCreated); err == nil || ctx.Err() != nil {
						break
					}
					time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
				}
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("writing secret %d: %w", i, err); cancel() })
					return
				}
				done.Add(1)
			}
		}()
	}
	stop := make(chan struct{})
	var reporter sync.WaitGroup
	reporter.Add(1)
	go func() {
		defer reporter.Done()
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				d := done.Load()
				el := time.Since(start)
				rate := float64(d) / el.Seconds()
				eta := "?"
				if rate > 0 {
					eta = (time.Duration(float64(int64(fx.n)-d)/rate) * time.Second).Round(time.Second).String()
				}
				fmt.Fprintf(progress, "load: N=%d seeding: %d/%d (%.0f%%, %.0f PUT/s, ETA %s)\n", fx.n, d, fx.n, 100*float64(d)/float64(fx.n), rate, eta)
			}
		}
	}()
	wg.Wait()
	close(stop)
	reporter.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	fmt.Fprintf(progress, "load: N=%d seeded %d secrets in %v\n", fx.n, fx.n, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// opSpec is one measured operation: how to build its request and which status means success.
type opSpec struct {
	target string // "ceiling" or "clavis"
	name   string
	want   int
	// newReq builds one request; rng belongs to the calling client goroutine.
	newReq func(rng *mrand.Rand) (*http.Request, error)
}

func ceilingOp(base string) opSpec {
	u := base + "/v1/ceiling"
	return opSpec{target: "ceiling", name: "json", want: http.StatusOK, newReq: func(*mrand.Rand) (*http.Request, error) {
		return http.NewRequest("GET", u, nil)
	}}
}

// op returns the spec of a Clavis operation. Every op except token runs as the agent with its access
// token, so that each request goes through token verification and policy evaluation.
func (fx *fixture) op(name string) opSpec {
	bearer := "Bearer " + fx.agentJWT
	secrets := fx.base + "/v1/vaults/" + fx.vaultID + "/secrets"
	s := opSpec{target: "clavis", name: name}
	switch name {
	case "fetch": // GET the value of a uniformly random one of the N secrets
		s.want = http.StatusOK
		s.newReq = func(rng *mrand.Rand) (*http.Request, error) {
			req, err := http.NewRequest("GET", secrets+"/"+secretPath(rng.IntN(fx.n)), nil)
			if err == nil {
				req.Header.Set("Authorization", bearer)
			}
			return req, err
		}
	case "token": // exchange the agent key for a new access token
		body, _ := json.Marshal(map[string]string{"api_key": fx.agentKey, "agent_id": fx.agentID})
		u := fx.base + "/v1/auth/agent-token"
		s.want = http.StatusOK
		s.newReq = func(*mrand.Rand) (*http.Request, error) {
			req, err := http.NewRequest("POST", u, bytes.NewReader(body))
			if err == nil {
				req.Header.Set("Content-Type", "application/json")
			}
			return req, err
		}
	case "write": // PUT a new version (fresh 64-char value) of a uniformly random one of the N secrets
		s.want = http.StatusCreated
		s.newReq = func(rng *mrand.Rand) (*http.Request, error) {
			var v [32]byte
			for i := 0; i < len(v); i += 8 {
				binary.LittleEndian.PutUint64(v[i:], rng.Uint64())
			}
			body := `{"value":"` + hex.EncodeToString(v[:]) + `","type":"generic"}`
			req, err := http.NewRequest("PUT", secrets+"/"+secretPath(rng.IntN(fx.n)), bytes.NewReader([]byte(body)))
			if err == nil {
				req.Header.Set("Authorization", bearer)
				req.Header.Set("Content-Type", "application/json")
			}
			return req, err
		}
	case "list": // list the 100 paths of a uniformly random full group
		groups := max(1, fx.n/groupSize)
		urls := make([]string, groups)
		for g := range urls {
			urls[g] = secrets + "?prefix=" + url.QueryEscape(listPrefix(g))
		}
		s.want = http.StatusOK
		s.newReq = func(rng *mrand.Rand) (*http.Request, error) {
			req, err := http.NewRequest("GET", urls[rng.IntN(groups)], nil)
			if err == nil {
				req.Header.Set("Authorization", bearer)
			}
			return req, err
		}
	default:
		panic("unknown op " + name)
	}
	return s
}
