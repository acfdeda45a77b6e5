// pick_worker is the pick-a-port idiom written the way Go programs write it, for the seccomp
// interception tests (tests/intercept/test_*.py). Go makes its own raw syscalls, so LD_PRELOAD
// never sees these binds: only the seccomp tier can coordinate them.
//
// Modes (-mode):
//
//	idiom  (default) -rounds times: listen on port 0, read the number, close, pause a moment,
//	       listen on that number again, serve one connection (TCP) or datagram (UDP), close.
//	       Prints one JSON line: failed rounds, their errors, every picked port, and for each
//	       good round [port, start ns, end ns] (wall clock), the span the round relied on it.
//	loop   listens on port 0 and closes, every 20 ms, printing "ok PORT" each time, until a
//	       bind fails: then prints "error: ERRNO_NAME: message" and exits 3. SIGTERM is ignored,
//	       so the worker outlives a launcher that dies (PDEATHSIG reaches only its child).
//	hold   listens on port 0, prints "PORT", then keeps the socket until killed.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

type report struct {
	Failures int            `json:"failures"`
	Errors   map[string]int `json:"errors"`
	Ports    []int          `json:"ports"`
	Spans    [][3]int64     `json:"spans"`
}

// errnoNames are the errors a bind can meet here; reports name them, not a sentence.
var errnoNames = map[syscall.Errno]string{
	syscall.EADDRINUSE: "EADDRINUSE", syscall.ENOSYS: "ENOSYS", syscall.EACCES: "EACCES",
	syscall.EADDRNOTAVAIL: "EADDRNOTAVAIL", syscall.EINTR: "EINTR", syscall.EPERM: "EPERM",
	syscall.EBADF: "EBADF", syscall.ENOTSOCK: "ENOTSOCK",
}

func errnoName(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if name, ok := errnoNames[errno]; ok {
			return name
		}
		return fmt.Sprintf("errno%d", int(errno))
	}
	return "other"
}

func address(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }

func pause(rng *rand.Rand, low, high time.Duration) {
	time.Sleep(low + time.Duration(rng.Int63n(int64(high-low)+1)))
}

// tcpRound: the number is picked by one listener and "handed" to the next one.
func tcpRound(network, host string, rng *rand.Rand) (int, error) {
	probe, err := net.Listen(network, address(host, 0))
	if err != nil {
		return 0, err
	}
	port := probe.Addr().(*net.TCPAddr).Port
	probe.Close()
	pause(rng, 500*time.Microsecond, 3*time.Millisecond) // the gap where another process can take it
	server, err := net.Listen(network, address(host, port))
	if err != nil {
		return port, err
	}
	defer server.Close()
	client, err := net.Dial(network, server.Addr().String())
	if err != nil {
		return port, err
	}
	// The client resets at close: no TIME_WAIT blocks a later round's bind (that would be the
	// kernel's doing, not a stolen port).
	client.(*net.TCPConn).SetLinger(0)
	conn, err := server.Accept()
	if err != nil {
		client.Close()
		return port, err
	}
	pause(rng, 0, 2*time.Millisecond) // the server runs for a moment
	client.Close()
	conn.Close()
	return port, nil
}

func udpRound(network, host string, rng *rand.Rand) (int, error) {
	probe, err := net.ListenPacket(network, address(host, 0))
	if err != nil {
		return 0, err
	}
	port := probe.LocalAddr().(*net.UDPAddr).Port
	probe.Close()
	pause(rng, 500*time.Microsecond, 3*time.Millisecond)
	server, err := net.ListenPacket(network, address(host, port))
	if err != nil {
		return port, err
	}
	defer server.Close()
	client, err := net.Dial(network, server.LocalAddr().String())
	if err != nil {
		return port, err
	}
	defer client.Close()
	if _, err := client.Write([]byte("x")); err != nil {
		return port, err
	}
	server.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 16)
	if _, _, err := server.ReadFrom(buf); err != nil {
		return port, err
	}
	return port, nil
}

func runIdiom(network, host string, udp bool, rounds int, rng *rand.Rand) {
	r := report{Errors: map[string]int{}, Ports: []int{}, Spans: [][3]int64{}}
	for i := 0; i < rounds; i++ {
		start := time.Now().UnixNano()
		var port int
		var err error
		if udp {
			port, err = udpRound(network, host, rng)
		} else {
			port, err = tcpRound(network, host, rng)
		}
		if port != 0 {
			r.Ports = append(r.Ports, port)
		}
		if err != nil {
			r.Failures++
			r.Errors[errnoName(err)]++
			continue
		}
		r.Spans = append(r.Spans, [3]int64{int64(port), start, time.Now().UnixNano()})
	}
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
}

func runLoop(network, host string, rounds int) {
	signal.Ignore(syscall.SIGTERM)
	for i := 0; rounds == 0 || i < rounds; i++ {
		l, err := net.Listen(network, address(host, 0))
		if err != nil {
			fmt.Printf("error: %s: %v\n", errnoName(err), err)
			os.Exit(3)
		}
		fmt.Printf("ok %d\n", l.Addr().(*net.TCPAddr).Port)
		l.Close()
		time.Sleep(20 * time.Millisecond)
	}
}

func runHold(network, host string) {
	l, err := net.Listen(network, address(host, 0))
	if err != nil {
		fmt.Printf("error: %s: %v\n", errnoName(err), err)
		os.Exit(3)
	}
	fmt.Println(l.Addr().(*net.TCPAddr).Port)
	for { // not select{}: with nothing else to run, Go would call that a deadlock and exit
		time.Sleep(time.Hour)
	}
}

func main() {
	mode := flag.String("mode", "idiom", "idiom, loop or hold")
	rounds := flag.Int("rounds", 100, "rounds of the idiom (loop: 0 = until a bind fails)")
	proto := flag.String("proto", "tcp", "tcp or udp")
	family := flag.Int("family", 4, "4 or 6")
	seed := flag.Int64("seed", 1, "seed of the pauses")
	flag.Parse()
	host := "127.0.0.1"
	if *family == 6 {
		host = "::1"
	}
	network := fmt.Sprintf("%s%d", *proto, *family)
	switch *mode {
	case "idiom":
		runIdiom(network, host, *proto == "udp", *rounds, rand.New(rand.NewSource(*seed)))
	case "loop":
		runLoop(network, host, *rounds)
	case "hold":
		runHold(network, host)
	default:
		fmt.Fprintf(os.Stderr, "pick_worker: unknown -mode %q (idiom, loop or hold)\n", *mode)
		os.Exit(2)
	}
}
