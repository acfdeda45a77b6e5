// The Go twin of programs/echo_job.py, built static (CGO_ENABLED=0): Go makes its socket calls as
// raw syscalls, which no preload library sees. A server on :8080 answers with the job's id; after
// the barrier a client dials 127.0.0.1:8080 and prints what it got as one JSON line.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: virtual_go_echo ID BARRIER_DIR PORT")
		os.Exit(2)
	}
	id, barrier, port := os.Args[1], os.Args[2], os.Args[3]
	listener, err := net.Listen("tcp", ":"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	seen := map[string]interface{}{"server_sockname": listener.Addr().(*net.TCPAddr).Port}
	go func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}
			conn.Write([]byte(id))
			conn.Close()
		}
	}()
	os.WriteFile(filepath.Join(barrier, "ready-"+id), nil, 0o644)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(barrier, "go")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			fmt.Fprintln(os.Stderr, "no go at the barrier within 60 s")
			os.Exit(1)
		}
		time.Sleep(10 * time.Millisecond)
	}
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 10*time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dial:", err)
		os.Exit(1)
	}
	seen["client_peername"] = conn.RemoteAddr().(*net.TCPAddr).Port
	reply, _ := io.ReadAll(conn)
	seen["reply"] = string(reply)
	real, _ := strconv.Atoi(os.Getenv("PORTSAFE_REAL_PORT_" + port))
	seen["real_port"] = real
	out, _ := json.Marshal(seen)
	fmt.Println(string(out))
}
