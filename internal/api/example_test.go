package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"posagent/internal/api"
	"posagent/internal/event"
)

// Customer is what a POS needs from a decoded event.
type Customer struct {
	SenceNo       string `json:"sence_no"`
	UserID        string `json:"user_id"` // the full 2088… id
	SchoolStdCode string `json:"school_std_code"`
}

// follow reads posagent's event stream from baseURL with token, calling
// onCustomer for every decoded customer, until the stream ends or ctx is
// done. It returns the id of the last event read: pass it as lastID when
// reconnecting, and the stream resumes right after it.
func follow(ctx context.Context, baseURL, token, lastID string, onCustomer func(Customer)) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", baseURL+"/v1/events", nil)
	if err != nil {
		return lastID, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return lastID, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return lastID, fmt.Errorf("events: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if id, ok := strings.CutPrefix(line, "id: "); ok {
			lastID = id
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue // comments (keep-alives), retry:, event: gap
		}
		var ev struct {
			Type string `json:"type"`
			Customer
		}
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			return lastID, err
		}
		if ev.Type == "decoded" {
			onCustomer(ev.Customer)
		}
	}
	return lastID, sc.Err()
}

// A POS program follows the event stream and learns each customer, with
// the sence_no to pay with.
func Example_followCustomers() {
	// posagent's side, here in-process; a POS finds the URL in the started
	// event (api_url) and the token in its api_token_file.
	bus := event.NewBus()
	token := strings.Repeat("ab", 32)
	srv, err := api.New(api.Options{Listen: "127.0.0.1:0", Token: token, Bus: bus, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		fmt.Println(err)
		return
	}
	go srv.Serve()
	defer srv.Close(context.Background())
	bus.Publish(event.Scan{SenceNo: "till1-20261122-000001", CodeMasked: "28************2123", Source: "sim"})
	bus.Publish(event.Decoded{SenceNo: "till1-20261122-000001", UserID: "2088000000000001", UserIDMasked: "2088********0001", SchoolStdCode: "4136013432"})

	// The POS side: from the start of the run (Last-Event-ID 0).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	last, _ := follow(ctx, srv.URL(), token, "0", func(c Customer) {
		fmt.Println("customer", c.UserID, "school", c.SchoolStdCode, "pay with sence_no", c.SenceNo)
		cancel()
	})
	fmt.Println("resume after id", last)
	// Output:
	// customer 2088000000000001 school 4136013432 pay with sence_no till1-20261122-000001
	// resume after id 2
}
