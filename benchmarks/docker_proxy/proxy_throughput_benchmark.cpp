// Throughput (bulk transfer) and round-trip latency (64-byte request/response) on loopback:
// a direct connection, Debian's docker-proxy 20.10 and portsafe-docker-proxy, measured side by
// side in one run. Each proxy is started as dockerd starts it (argv, status pipe on fd 3).
// Every iteration measures the three paths in turn (interleaved, so drift hits all alike) and
// the counters report each path and portsafe's ratios:
//   throughput_interleaved: portsafe_vs_direct (target >= 0.9), portsafe_vs_docker_proxy (>= 1.5)
//   round_trip_interleaved: portsafe_vs_docker_proxy (time ratio; target < 1)
// Debian's docker-proxy: $PORTSAFE_BENCH_DOCKER_PROXY, else fetched by
// scripts/fetch-docker-proxy.sh into the build directory (skipped when unavailable).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "portsafe/install_layout.hpp"

namespace {

constexpr size_t kChunk = 1 << 20;
constexpr size_t kBytesPerIteration = 64 << 20;
constexpr size_t kMessage = 64;


uint16_t port_of(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

int listen_on(const char* ip) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  ::inet_pton(AF_INET, ip, &address.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(fd, 64) != 0) std::abort();
  return fd;
}

int connect_to(uint16_t port, const char* ip = "127.0.0.1") {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  ::inet_pton(AF_INET, ip, &address.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// The "container": a source that streams bytes until the peer leaves, and an echo server.
class Backend {
 public:
  Backend() : source_(listen_on("127.0.0.2")), echo_(listen_on("127.0.0.2")) {
    threads_.emplace_back([this] { serve(source_, &Backend::stream); });
    threads_.emplace_back([this] { serve(echo_, &Backend::echo); });
  }
  ~Backend() {
    ::shutdown(source_, SHUT_RDWR);
    ::shutdown(echo_, SHUT_RDWR);
    for (auto& t : threads_) t.join();
    ::close(source_);
    ::close(echo_);
  }
  uint16_t source_port() const { return port_of(source_); }
  uint16_t echo_port() const { return port_of(echo_); }

 private:
  static void stream(int fd) {
    static std::vector<char> data(kChunk, 'x');
    while (::send(fd, data.data(), data.size(), MSG_NOSIGNAL) > 0) {
    }
  }
  static void echo(int fd) {
    const int on = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    char buffer[4096];
    ssize_t n;
    while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) {
      if (::send(fd, buffer, static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
    }
  }
  void serve(int listener, void (*handle)(int)) {
    while (true) {
      const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      std::thread([fd, handle] {
        handle(fd);
        ::close(fd);
      }).detach();
    }
  }
  int source_, echo_;
  std::vector<std::thread> threads_;
};

Backend& backend() {
  static Backend instance;
  return instance;
}

uint16_t free_port() {
  const int fd = listen_on("0.0.0.0");
  const uint16_t port = port_of(fd);
  ::close(fd);
  return port;
}

// A proxy started as dockerd starts it; stopped with SIGINT.
class ProxyProcess {
 public:
  ProxyProcess(const std::string& program, uint16_t container_port) : port_(free_port()) {
    int status_pipe[2];
    if (::pipe(status_pipe) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(status_pipe[1], 3);
      const int null_fd = ::open("/dev/null", O_RDWR);
      ::dup2(null_fd, 0);
      ::dup2(null_fd, 1);
      ::dup2(null_fd, 2);  // docker-proxy logs every stop
      const std::string host_port = std::to_string(port_), cport = std::to_string(container_port);
      ::execl(program.c_str(), program.c_str(), "-proto", "tcp", "-host-ip", "0.0.0.0", "-host-port",
              host_port.c_str(), "-container-ip", "127.0.0.2", "-container-port", cport.c_str(), nullptr);
      ::_exit(127);
    }
    ::close(status_pipe[1]);
    pollfd p{status_pipe[0], POLLIN, 0};
    char status[2] = {};
    if (::poll(&p, 1, 10'000) == 1 && ::read(status_pipe[0], status, 2) == 2) ready_ = status[0] == '0';
    ::close(status_pipe[0]);
  }
  ~ProxyProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGINT);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool ready() const { return ready_; }
  uint16_t port() const { return port_; }

 private:
  uint16_t port_;
  pid_t pid_ = -1;
  bool ready_ = false;
};

std::string debian_docker_proxy() {
  if (const char* path = std::getenv("PORTSAFE_BENCH_DOCKER_PROXY")) return path;
  const std::string command = std::string(PORTSAFE_SOURCE_DIR "/scripts/fetch-docker-proxy.sh ") +
                              PORTSAFE_BINARY_DIR "/docker-proxy-cache 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return "";
  char line[4096] = {};
  const bool got = std::fgets(line, sizeof line, pipe) != nullptr;
  ::pclose(pipe);
  if (!got) return "";
  std::string path(line);
  while (!path.empty() && path.back() == '\n') path.pop_back();
  return path;
}

// Returns the port to connect to for a path ("direct", "docker_proxy", "portsafe"), keeping the
// proxy alive for the benchmark's duration; 0 when the path is unavailable.
struct Path {
  std::unique_ptr<ProxyProcess> proxy;
  uint16_t port = 0;
  std::string error;
};

// Google Benchmark calls a benchmark several times (to size the iterations): one proxy per path
// and backend serves them all.
Path& open_path(const std::string& name, uint16_t container_port) {
  static std::map<std::pair<std::string, uint16_t>, Path> paths;
  const auto key = std::make_pair(name, container_port);
  if (const auto it = paths.find(key); it != paths.end()) return it->second;
  Path& path = paths[key];
  if (name == "direct") {
    path.port = container_port;
    return path;
  }
  const std::string program =
      name == "portsafe" ? portsafe::sibling_program("portsafe-docker-proxy") : debian_docker_proxy();
  if (program.empty() || ::access(program.c_str(), X_OK) != 0) {
    path.error = name + " unavailable (set PORTSAFE_BENCH_DOCKER_PROXY or run scripts/fetch-docker-proxy.sh)";
    return path;
  }
  path.proxy = std::make_unique<ProxyProcess>(program, container_port);
  if (!path.proxy->ready()) {
    path.error = program + " did not report ready on fd 3";
    return path;
  }
  path.port = path.proxy->port();
  return path;
}


int connect_path(const std::string& name, uint16_t port) {
  if (name != "direct") return connect_to(port);
  return connect_to(port, "127.0.0.2");  // the direct reference talks to the backend itself
}

const std::array<const char*, 3> kPaths = {"direct", "docker_proxy", "portsafe"};

// One connection per path, opened once; an empty vector (and state skipped) when one is missing.
std::vector<int> connect_all(benchmark::State& state, uint16_t container_port) {
  std::vector<int> fds;
  for (const char* name : kPaths) {
    Path& path = open_path(name, container_port);
    const int fd = path.error.empty() ? connect_path(name, path.port) : -1;
    if (fd < 0) {
      state.SkipWithError(path.error.empty() ? "cannot connect" : path.error.c_str());
      for (int open : fds) ::close(open);
      return {};
    }
    fds.push_back(fd);
  }
  return fds;
}

double seconds_since(const std::chrono::steady_clock::time_point& start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Each iteration reads kBytesPerIteration through every path in turn, so slow drift of the
// machine (other load, frequency) hits all three alike; the ratios compare interleaved samples.
void BM_Throughput(benchmark::State& state) {
  static std::vector<int> fds;
  if (fds.empty()) fds = connect_all(state, backend().source_port());
  if (fds.empty()) return;
  std::vector<char> buffer(kChunk);
  std::array<double, 3> seconds{};
  for (auto _ : state) {
    for (size_t p = 0; p < kPaths.size(); ++p) {
      const auto start = std::chrono::steady_clock::now();
      size_t left = kBytesPerIteration;
      while (left > 0) {
        const ssize_t n = ::recv(fds[p], buffer.data(), std::min(left, buffer.size()), 0);
        if (n <= 0) {
          state.SkipWithError("connection closed");
          return;
        }
        left -= static_cast<size_t>(n);
      }
      seconds[p] += seconds_since(start);
    }
  }
  const double bytes = static_cast<double>(state.iterations()) * kBytesPerIteration;
  const double direct = bytes / seconds[0], docker = bytes / seconds[1], ours = bytes / seconds[2];
  state.counters["direct_MBps"] = direct / 1e6;
  state.counters["docker_proxy_MBps"] = docker / 1e6;
  state.counters["portsafe_MBps"] = ours / 1e6;
  state.counters["portsafe_vs_direct"] = ours / direct;
  state.counters["portsafe_vs_docker_proxy"] = ours / docker;
}

void BM_RoundTrip(benchmark::State& state) {
  static std::vector<int> fds;
  if (fds.empty()) fds = connect_all(state, backend().echo_port());
  if (fds.empty()) return;
  constexpr int kRounds = 200;
  std::array<double, 3> seconds{};
  std::array<char, kMessage> message{};
  for (auto _ : state) {
    for (size_t p = 0; p < kPaths.size(); ++p) {
      const auto start = std::chrono::steady_clock::now();
      for (int r = 0; r < kRounds; ++r) {
        if (::send(fds[p], message.data(), message.size(), 0) != static_cast<ssize_t>(message.size())) {
          state.SkipWithError("send failed");
          return;
        }
        size_t got = 0;
        while (got < message.size()) {
          const ssize_t n = ::recv(fds[p], message.data() + got, message.size() - got, 0);
          if (n <= 0) {
            state.SkipWithError("connection closed");
            return;
          }
          got += static_cast<size_t>(n);
        }
      }
      seconds[p] += seconds_since(start);
    }
  }
  const double rounds = static_cast<double>(state.iterations()) * kRounds;
  const double direct = seconds[0] / rounds, docker = seconds[1] / rounds, ours = seconds[2] / rounds;
  state.counters["direct_us"] = direct * 1e6;
  state.counters["docker_proxy_us"] = docker * 1e6;
  state.counters["portsafe_us"] = ours * 1e6;
  state.counters["portsafe_vs_direct"] = ours / direct;
  state.counters["portsafe_vs_docker_proxy"] = ours / docker;
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  benchmark::Initialize(&argc, argv);
  benchmark::RegisterBenchmark("throughput_interleaved", BM_Throughput)->Unit(benchmark::kMillisecond)->MinTime(3.0);
  benchmark::RegisterBenchmark("round_trip_interleaved", BM_RoundTrip)->Unit(benchmark::kMillisecond)->MinTime(3.0);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
