package cli

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Ctrl-C during a client command ends it with exit code 130 and a message, instead of killing the
// process mid-request. The server holds the request until the signal has been delivered.
func TestInterruptEndsAClientCommandCleanly(t *testing.T) {
	arrived := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done() // the client gives up when interrupted
	}))
	defer srv.Close()
	go func() {
		select {
		case <-arrived:
			_ = syscall.Kill(syscall.Getpid(), syscall.SIGINT)
		case <-time.After(time.Minute):
		}
	}()
	var out, errb bytes.Buffer
	env := map[string]string{"CLAVIS_API_KEY": "1ck_x", "HOME": t.TempDir(), "XDG_CONFIG_HOME": t.TempDir()}
	code := Main(context.Background(), []string{"vault", "list", "--url", srv.URL}, IO{
		In: strings.NewReader(""), Out: &out, Err: &errb,
		Getenv: func(k string) string { return env[k] }, Environ: func() []string { return nil },
	}, nil)
	if code != ExitInterrupted || !strings.Contains(errb.String(), "interrupted") {
		t.Fatalf("exit %d, stderr %q; want %d and 'interrupted'", code, errb.String(), ExitInterrupted)
	}
}
