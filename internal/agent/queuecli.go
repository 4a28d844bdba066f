package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"posagent/internal/api"
	"posagent/internal/dbfile"
	"posagent/internal/queue"
)

// DataDir is where the queue commands look for dir's agent: dir itself, or
// dir/data when dir is a demo's --data directory (the demo keeps its
// database and endpoint file there, its configuration beside).
func DataDir(dir string) string {
	for _, name := range []string{DBFile, api.EndpointFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return dir
		}
	}
	demo := filepath.Join(dir, "data")
	for _, name := range []string{DBFile, api.EndpointFile} {
		if _, err := os.Stat(filepath.Join(demo, name)); err == nil {
			return demo
		}
	}
	return dir
}

// ListQueue prints the retry queue of dataDir: read from the database, or,
// while an agent runs on it (the database is locked), through that agent's
// API (GET /v1/queue), as the same table.
func ListQueue(ctx context.Context, w io.Writer, dataDir string) error {
	err := ShowQueue(w, dataDir)
	if !errors.Is(err, dbfile.ErrLocked) {
		return err
	}
	if _, serr := os.Stat(filepath.Join(dataDir, api.EndpointFile)); serr != nil {
		return fmt.Errorf("%w; with its API on, posagent queue lists through it", err)
	}
	pending, dead, err := queueThroughAPI(ctx, dataDir)
	if err != nil {
		return err
	}
	return WriteJobs(w, pending, dead)
}

// queueThroughAPI reads the running agent's queue from GET /v1/queue.
func queueThroughAPI(ctx context.Context, dataDir string) (pending, dead []queue.Job, err error) {
	e, token, err := api.ReadEndpoint(dataDir)
	if err != nil {
		return nil, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.URL+"/v1/queue", nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("posagent API at %s: %w (is the agent still running?)", e.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("posagent API at %s: %w", e.URL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("list the queue: %s", apiMessage(resp.Status, body))
	}
	var list struct {
		Pending, Dead []api.Job
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, nil, fmt.Errorf("GET /v1/queue: %w", err)
	}
	return jobsFromAPI(list.Pending), jobsFromAPI(list.Dead), nil
}

func jobsFromAPI(js []api.Job) []queue.Job {
	out := make([]queue.Job, 0, len(js))
	for _, j := range js {
		out = append(out, queue.Job{ID: j.ID, Kind: j.Kind, Key: j.Key, State: queue.State(j.State), Attempts: j.Attempts,
			NextAt: j.NextAt.Time, Deadline: j.Deadline.Time, Created: j.Created.Time, LastError: j.LastError})
	}
	return out
}
