package engine

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestEngineDoesNotPrintServerKeys checks that fmt and slog show none of the server keys an Engine holds.
func TestEngineDoesNotPrintServerKeys(t *testing.T) {
	pepper, auditKey := bytes.Repeat([]byte{0xa7}, 32), bytes.Repeat([]byte{0x5c}, 32)
	e := &Engine{cfg: Config{Issuer: "https://vault.example"}, pepper: pepper, auditKey: auditKey}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("msg", "engine", e, "nested", struct{ E *Engine }{e})
	slog.New(slog.NewTextHandler(&logged, nil)).Info("msg", "engine", e, "nested", struct{ E *Engine }{e})
	outputs := []string{logged.String()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%d"} {
		outputs = append(outputs, fmt.Sprintf(verb, e), fmt.Sprintf(verb, struct{ E *Engine }{e}))
	}
	for _, out := range outputs {
		for _, key := range [][]byte{pepper, auditKey} {
			if strings.Contains(out, hex.EncodeToString(key)) || strings.Contains(out, fmt.Sprint(key[:4])[1:12]) {
				t.Errorf("output reveals a server key: %s", out)
			}
		}
	}
}
