package httpserver

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

// TestGreetingServer serves Greeting on httptest's loopback port-0 listener and asks it once. The
// port is written to $HTTPSERVER_PORT_FILE (when set) for the test that runs this binary.
func TestGreetingServer(t *testing.T) {
	server := httptest.NewServer(Greeting())
	defer server.Close()
	_, port, err := net.SplitHostPort(server.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("listening on port %s", port)
	if path := os.Getenv("HTTPSERVER_PORT_FILE"); path != "" {
		if err := os.WriteFile(path, []byte(port+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	response, err := http.Get(server.URL + "/portsafe")
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	body, err := io.ReadAll(response.Body)
	if err != nil {
		t.Fatal(err)
	}
	if response.StatusCode != http.StatusOK || string(body) != "hello /portsafe\n" {
		t.Fatalf("got %d %q", response.StatusCode, body)
	}
}
