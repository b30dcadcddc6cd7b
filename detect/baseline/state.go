package baseline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// StateVersion is written into every State; Restore refuses other versions
// rather than misreading them.
const StateVersion = 1

// State is the serializable form of a Baseline.
type State struct {
	Version  int           `json:"version"`
	Start    time.Time     `json:"start"`
	Entities []EntityState `json:"entities"`
}

// EntityState is one actor's profile.
type EntityState struct {
	Key       string              `json:"key"`
	Actor     string              `json:"actor"`
	First     time.Time           `json:"first"`
	Last      time.Time           `json:"last"`
	Total     int64               `json:"total"`
	Actions   map[string]*Counter `json:"actions,omitempty"`
	Networks  map[string]*Counter `json:"networks,omitempty"`
	Resources map[string]*Counter `json:"resources,omitempty"`
	WinStart  time.Time           `json:"win_start"`
	WinCount  int64               `json:"win_count"`
	Avg       float64             `json:"avg"`
	Windows   int                 `json:"windows"`
	Alerted   bool                `json:"alerted,omitempty"`
}

// Snapshot returns the state, least recently seen actor first (so that
// Restore rebuilds the same recency order).
func (b *Baseline) Snapshot() *State {
	s := &State{Version: StateVersion, Start: b.start, Entities: make([]EntityState, 0, len(b.entities))}
	for e := b.lru.Back(); e != nil; e = e.Prev() {
		p := e.Value.(*profile)
		s.Entities = append(s.Entities, EntityState{
			Key: p.key, Actor: p.actor, First: p.first, Last: p.last, Total: p.total,
			Actions: p.actions, Networks: p.networks, Resources: p.resources,
			WinStart: p.winStart, WinCount: p.winCount, Avg: p.avg, Windows: p.windows, Alerted: p.winAlerted,
		})
	}
	return s
}

// Restore replaces b's state with s. Entities beyond the configured cap
// are dropped, oldest first.
func (b *Baseline) Restore(s *State) error {
	if s.Version != StateVersion {
		return fmt.Errorf("baseline state version %d, want %d", s.Version, StateVersion)
	}
	b.entities = map[string]*profile{}
	b.lru.Init()
	b.start = s.Start
	ents := s.Entities
	if len(ents) > b.cfg.MaxEntities {
		ents = ents[len(ents)-b.cfg.MaxEntities:]
	}
	orEmpty := func(m map[string]*Counter) map[string]*Counter {
		if m == nil {
			return map[string]*Counter{}
		}
		return m
	}
	for _, e := range ents {
		p := &profile{
			key: e.Key, actor: e.Actor, first: e.First, last: e.Last, total: e.Total,
			actions: orEmpty(e.Actions), networks: orEmpty(e.Networks), resources: orEmpty(e.Resources),
			winStart: e.WinStart, winCount: e.WinCount, avg: e.Avg, windows: e.Windows, winAlerted: e.Alerted,
		}
		p.elem = b.lru.PushFront(p)
		b.entities[p.key] = p
	}
	return nil
}

// Store keeps baseline state between runs. The CLI uses FileStore; the
// server will keep one state per organisation in its database behind the
// same interface.
type Store interface {
	// Load returns the saved state, or (nil, nil) when none was saved yet.
	// Any other failure (unreadable, corrupt) is an error.
	Load(ctx context.Context) (*State, error)
	// Save replaces the saved state.
	Save(ctx context.Context, s *State) error
}

// FileStore keeps state as JSON in one file, replaced atomically.
type FileStore struct {
	Path string
}

// Load implements Store.
func (f FileStore) Load(ctx context.Context) (*State, error) {
	data, err := os.ReadFile(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read baseline state: %w", err)
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("parse baseline state %s: %w", f.Path, err)
	}
	return &s, nil
}

// Save implements Store: it writes a temporary file and renames it, so a
// crash never leaves half a state.
func (f FileStore) Save(ctx context.Context, s *State) error {
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode baseline state: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.Path), ".baseline-*")
	if err != nil {
		return fmt.Errorf("save baseline state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("save baseline state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save baseline state: %w", err)
	}
	if err := os.Rename(tmp.Name(), f.Path); err != nil {
		return fmt.Errorf("save baseline state: %w", err)
	}
	return nil
}
