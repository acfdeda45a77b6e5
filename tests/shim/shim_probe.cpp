// A small program for the shim's tests that need a fresh process (the shim reads its environment
// once, at start-up): it links libportsafe.so like the tests do and reports what it saw.
//   shim_probe bind0 [tcp|udp] [COUNT]  binds port 0 COUNT times; prints "port N" per bind
//   shim_probe bind PORT                binds 127.0.0.1:PORT; prints "port N" or "error MESSAGE"
//   shim_probe exec-adopt               binds port 0, then execs itself keeping the socket
//   shim_probe adopted FD PORT          (after exec) serves one connection on FD, closes it, prints
//                                       the slot state
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "portsafe/port_table.hpp"
#include "portsafe/runtime_root.hpp"
#include "portsafe/table_access.hpp"

namespace {

int bind_port(int type, uint16_t port) {
  const int fd = ::socket(AF_INET, type, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::printf("error %s\n", std::strerror(errno));
    std::exit(1);
  }
  return fd;
}

int bind_zero(int type) { return bind_port(type, 0); }

int port_of(int fd) {
  sockaddr_in addr{};
  socklen_t length = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  return ntohs(addr.sin_port);
}

int run_bind0(int argc, char** argv) {
  const int type = argc > 2 && std::strcmp(argv[2], "udp") == 0 ? SOCK_DGRAM : SOCK_STREAM;
  const int count = argc > 3 ? std::atoi(argv[3]) : 1;
  for (int i = 0; i < count; ++i) std::printf("port %d\n", port_of(bind_zero(type)));
  return 0;
}

int run_exec_adopt(char** argv) {
  const int fd = bind_zero(SOCK_STREAM);
  ::fcntl(fd, F_SETFD, 0);  // keep it across exec
  const std::string fd_text = std::to_string(fd);
  const std::string port_text = std::to_string(port_of(fd));
  std::fflush(stdout);
  char* args[] = {argv[0], const_cast<char*>("adopted"), const_cast<char*>(fd_text.c_str()),
                  const_cast<char*>(port_text.c_str()), nullptr};
  ::execv("/proc/self/exe", args);
  std::printf("error exec %s\n", std::strerror(errno));
  return 1;
}

// Listens, connects a client and accepts it: a server that served someone (really used its port).
bool serve_one_connection(int listener, uint16_t port) {
  if (::listen(listener, 1) != 0) return false;
  const int client = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;
  const int accepted = ::accept(listener, nullptr, nullptr);
  if (accepted < 0) return false;
  ::close(accepted);
  ::close(client);
  return true;
}

int run_adopted(char** argv) {
  const int fd = std::atoi(argv[2]);
  const auto port = static_cast<uint16_t>(std::atoi(argv[3]));
  if (!serve_one_connection(fd, port) || ::close(fd) != 0) {
    std::printf("error %s\n", std::strerror(errno));
    return 1;
  }
  const portsafe::RuntimeRoot root = portsafe::resolve_runtime_root();
  portsafe::TableOpen opened = portsafe::open_root_table(root.path);
  if (!opened.table) {
    std::printf("error %s\n", opened.message.c_str());
    return 1;
  }
  const auto view = opened.table->view(portsafe::Protocol::tcp, port);
  std::printf("port %u state %s\n", port, view ? portsafe::slot_state_name(view->state) : "none");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "bind0") return run_bind0(argc, argv);
  if (mode == "bind" && argc > 2) {
    std::printf("port %d\n", port_of(bind_port(SOCK_STREAM, static_cast<uint16_t>(std::atoi(argv[2])))));
    return 0;
  }
  if (mode == "exec-adopt") return run_exec_adopt(argv);
  if (mode == "adopted" && argc > 3) return run_adopted(argv);
  std::fprintf(stderr, "usage: shim_probe bind0 [tcp|udp] [COUNT] | bind PORT | exec-adopt\n");
  return 2;
}
