package runtime

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// Factory opens a runtime from its configuration parameters (for Docker:
// "host"). Parameters a runtime does not know are an error, so typos show.
type Factory func(ctx context.Context, params map[string]string) (Runtime, error)

var (
	factoriesMu sync.RWMutex
	factories   = map[string]Factory{}
)

// Register makes a runtime available to Open by name. Runtimes call it from
// init, so the server names a runtime in its configuration and never
// imports a concrete one. Registering a name twice is a programming error
// and panics, as database/sql does.
func Register(name string, f Factory) {
	factoriesMu.Lock()
	defer factoriesMu.Unlock()
	if _, dup := factories[name]; dup {
		panic("runtime: Register called twice for " + name)
	}
	factories[name] = f
}

// Open opens the runtime registered as name.
func Open(ctx context.Context, name string, params map[string]string) (Runtime, error) {
	factoriesMu.RLock()
	f, ok := factories[name]
	factoriesMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: no runtime %q (have %v)", ErrInvalidArgument, name, Names())
	}
	return f(ctx, params)
}

// Names lists the registered runtimes.
func Names() []string {
	factoriesMu.RLock()
	defer factoriesMu.RUnlock()
	names := make([]string, 0, len(factories))
	for n := range factories {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
