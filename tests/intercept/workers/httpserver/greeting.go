// Package httpserver is a small HTTP service with a real Go test (greeting_test.go) that starts
// it on a port-0 listener with net/http/httptest: the way Go projects test their servers. The
// seccomp interception tests compile it with `go test -c` and run the test binary under
// portsafe-run (tests/intercept/test_go_test_http_server.py).
package httpserver

import (
	"fmt"
	"net/http"
)

// Greeting answers every request with a line naming its path.
func Greeting() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s\n", r.URL.Path)
	})
}
