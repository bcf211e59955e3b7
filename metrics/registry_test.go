package metrics

import (
	"strings"
	"testing"
	"time"
)

// TestRegister: a backend registers once, with every function; a second
// registration of its type or a missing function panics naming it, and
// Lookup and Types see what registered.
func TestRegister(t *testing.T) {
	b := Backend{Type: "test-only", New: func(Account, *Instruments) (Source, error) { return nil, nil },
		Check: func(Account) error { return nil }, Language: Language{Name: "t", Escape: func(string, Place) (string, error) { return "", nil }},
		FromKayenta: func(Language, []byte, map[string]string, map[string]string) (string, error) { return "", nil },
		Window:      func(string) time.Duration { return 0 }}
	Register(b)
	t.Cleanup(func() {
		registryMu.Lock()
		delete(registry, b.Type)
		registryMu.Unlock()
	})
	if got, ok := Lookup("test-only"); !ok || got.Type != "test-only" || !strings.Contains(strings.Join(Types(), ","), "test-only") {
		t.Errorf("Lookup %v %v, Types %v", got.Type, ok, Types())
	}
	for name, bad := range map[string]Backend{"twice": b, "no window": {Type: "x", New: b.New, FromKayenta: b.FromKayenta, Language: b.Language}} {
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			Register(bad)
		}()
	}
}
