package metrics

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sync"
	"time"
)

// Backend is one type of metrics source, registered by its own package
// (Register) as database/sql drivers are: a package and one import in
// metrics/all add a source.
type Backend struct {
	// Type is the account type and the key of a native query
	// ("prometheus").
	Type string
	// New builds an account's client.
	New func(Account, *Instruments) (Source, error)
	// Uses are the type-specific account settings (TypeSpecific) this
	// type reads: an account of the type setting another is refused.
	Uses []string
	// Check, when set, validates the account's settings further (its own
	// Settings decoded strictly, what the type needs).
	Check func(Account) error
	// Language escapes scope values for the query language; Verbatim
	// substitutes them as they are (an account with raw scopes).
	Language, Verbatim Language
	// FromKayenta renders a Kayenta query object of this type.
	FromKayenta func(lang Language, raw []byte, templates, vars map[string]string) (string, error)
	// Window is the span each point of a rendered query reads.
	Window func(query string) time.Duration
	// Settings, when set, is the zero value of the type's own settings
	// struct (decoded from Account.Settings), for the configuration
	// reference; it lives in the package's settings.go.
	Settings any
}

var (
	registryMu sync.RWMutex
	registry   = map[string]Backend{}
)

// Register makes a backend available by its type. It panics when the type
// is empty, registered twice or missing a function, as database/sql does:
// a wiring defect found at start.
func Register(b Backend) {
	registryMu.Lock()
	defer registryMu.Unlock()
	switch {
	case b.Type == "":
		panic("metrics: Register of a backend with no type")
	case b.New == nil || b.FromKayenta == nil || b.Window == nil || b.Language.Escape == nil:
		panic(fmt.Sprintf("metrics: Register of backend %q with a missing function", b.Type))
	}
	if _, dup := registry[b.Type]; dup {
		panic(fmt.Sprintf("metrics: Register called twice for backend %q", b.Type))
	}
	registry[b.Type] = b
}

// Lookup returns the backend of a type.
func Lookup(typ string) (Backend, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	b, ok := registry[typ]
	return b, ok
}

// Types lists the registered types, sorted.
func Types() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	return slices.Sorted(maps.Keys(registry))
}

// SettingKeys are the config keys of the type's own settings struct.
func (b Backend) SettingKeys() []string {
	if b.Settings == nil {
		return nil
	}
	t := reflect.TypeOf(b.Settings)
	keys := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		keys = append(keys, t.Field(i).Tag.Get("mapstructure"))
	}
	return keys
}
