#include "portsafe/supervisor_client.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "portsafe/fd_passing.hpp"
#include "portsafe/install_layout.hpp"
#include "portsafe/runtime_root.hpp"

extern char** environ;

namespace portsafe {
namespace {

using wire::ErrorCode;
using wire::MessageType;

// Connects without waiting; returns the errno of connect() on failure.
int connect_unix(const std::string& path, UniqueFd& out) {
  struct sockaddr_un addr {};
  if (path.size() >= sizeof addr.sun_path) return ENAMETOOLONG;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return errno;
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) return errno;
  out = std::move(fd);
  return 0;
}

// LD_PRELOAD without our shim: the supervisor must bind with the bare kernel.
std::string preload_without_shim(const char* preload) {
  std::string kept;
  if (preload == nullptr) return kept;
  std::string_view rest(preload);
  while (!rest.empty()) {
    const auto cut = rest.find_first_of(": ");
    std::string_view item = rest.substr(0, cut);
    rest = cut == std::string_view::npos ? std::string_view{} : rest.substr(cut + 1);
    if (item.empty() || item.find(kShimFileName) != std::string_view::npos) continue;
    if (!kept.empty()) kept += ':';
    kept += item;
  }
  return kept;
}

template <typename T>
Outcome<T> unexpected_reply(const SupervisorClient::Reply& reply) {
  if (reply.type == MessageType::error) {
    if (auto error = wire::decode_error(reply.payload)) {
      Outcome<T> o;
      o.error = *error;
      return o;
    }
  }
  return Outcome<T>::failure(ErrorCode::bad_payload,
                             fmt::format("unexpected {} reply from the supervisor", wire::message_type_name(reply.type)));
}

template <typename T, typename Decode>
Outcome<T> expect(Outcome<SupervisorClient::Reply> reply, MessageType wanted, Decode decode) {
  if (!reply.ok()) {
    Outcome<T> o;
    o.error = reply.error;
    return o;
  }
  if (reply.value->type != wanted) return unexpected_reply<T>(*reply.value);
  auto decoded = decode(reply.value->payload);
  if (!decoded) {
    return Outcome<T>::failure(ErrorCode::bad_payload,
                               fmt::format("malformed {} reply from the supervisor", wire::message_type_name(wanted)));
  }
  Outcome<T> o;
  o.value = std::move(*decoded);
  return o;
}

}  // namespace

int spawn_supervisor(const std::string& program, const std::string& root) {
  const std::string preload = preload_without_shim(std::getenv("LD_PRELOAD"));
  const std::string log = supervisor_log_path(root);
  const pid_t child = ::fork();
  if (child < 0) return -1;
  if (child == 0) {
    // portsafed detaches by itself once it listens (or exits 1 with one line on stderr, which
    // goes to the log), so waiting for this child tells whether it started.
    ::setsid();
    const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    ::dup2(null_fd, 0);
    ::dup2(null_fd, 1);
    ::dup2(log_fd >= 0 ? log_fd : null_fd, 2);
    if (preload.empty()) {
      ::unsetenv("LD_PRELOAD");
    } else {
      ::setenv("LD_PRELOAD", preload.c_str(), 1);
    }
    const char* argv[] = {program.c_str(), "--runtime-dir", root.c_str(), nullptr};
    ::execve(program.c_str(), const_cast<char* const*>(argv), environ);
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string last_log_line(const std::string& root) {
  std::ifstream in(supervisor_log_path(root));
  std::string line;
  std::string last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

Outcome<std::unique_ptr<SupervisorClient>> SupervisorClient::connect_socket(const std::string& socket_path) {
  UniqueFd fd;
  if (const int error = connect_unix(socket_path, fd); error != 0) {
    return Outcome<std::unique_ptr<SupervisorClient>>::failure(
        ErrorCode::internal, fmt::format("cannot reach the supervisor at {}: {}", socket_path, std::strerror(error)));
  }
  Outcome<std::unique_ptr<SupervisorClient>> o;
  o.value = std::make_unique<SupervisorClient>(std::move(fd));
  return o;
}

Outcome<std::unique_ptr<SupervisorClient>> SupervisorClient::connect(const std::string& root,
                                                                     const std::string& supervisor_program,
                                                                     std::chrono::milliseconds timeout) {
  const std::string path = supervisor_socket_path(root);
  UniqueFd fd;
  int error = connect_unix(path, fd);
  if (error != 0 && !supervisor_program.empty() && (error == ENOENT || error == ECONNREFUSED)) {
    if (::access(supervisor_program.c_str(), X_OK) != 0) {
      return Outcome<std::unique_ptr<SupervisorClient>>::failure(
          ErrorCode::internal, fmt::format("cannot start the supervisor: {} is not executable: {}; reinstall portsafe",
                                           supervisor_program, std::strerror(errno)));
    }
    if (const int status = spawn_supervisor(supervisor_program, root); status > 0) {
      const std::string reason = last_log_line(root);
      return Outcome<std::unique_ptr<SupervisorClient>>::failure(
          ErrorCode::internal, fmt::format("the supervisor did not start (exit {}): {}", status,
                                           reason.empty() ? std::string("no message in its log") : reason));
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto pause = std::chrono::milliseconds(1);
    while (true) {
      error = connect_unix(path, fd);
      if (error == 0 || std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(50));
    }
  }
  if (error != 0) {
    return Outcome<std::unique_ptr<SupervisorClient>>::failure(
        ErrorCode::internal,
        fmt::format("cannot reach the supervisor at {}: {}", path, std::strerror(error)));
  }
  Outcome<std::unique_ptr<SupervisorClient>> o;
  o.value = std::make_unique<SupervisorClient>(std::move(fd));
  return o;
}

Outcome<SupervisorClient::Reply> SupervisorClient::call(MessageType type, const std::vector<uint8_t>& payload) {
  const auto frame = wire::make_frame(type, payload);
  if (const int error = send_with_fds(fd_.get(), frame.data(), frame.size(), nullptr, 0); error != 0) {
    return Outcome<Reply>::failure(ErrorCode::internal,
                                   fmt::format("lost the supervisor while sending: {}", std::strerror(error)));
  }
  Reply reply;
  uint8_t header_bytes[wire::kHeaderSize];
  int error = receive_exact(fd_.get(), header_bytes, sizeof header_bytes, &reply.fds);
  if (error != 0) {
    return Outcome<Reply>::failure(ErrorCode::internal,
                                   error < 0 ? std::string("the supervisor closed the connection without a reply")
                                             : fmt::format("lost the supervisor: {}", std::strerror(error)));
  }
  const wire::FrameHeader header = wire::decode_header(header_bytes);
  if (auto problem = wire::check_header(header)) return Outcome<Reply>::failure(problem->code, problem->message);
  reply.type = static_cast<MessageType>(header.type);
  reply.payload.resize(header.length);
  error = receive_exact(fd_.get(), reply.payload.data(), reply.payload.size(), &reply.fds);
  if (error != 0) {
    return Outcome<Reply>::failure(ErrorCode::internal, "the supervisor's reply was cut short");
  }
  Outcome<Reply> o;
  o.value = std::move(reply);
  return o;
}

Outcome<wire::JobOpened> SupervisorClient::open_job(const std::string& job_name, uint64_t job_id) {
  return expect<wire::JobOpened>(call(MessageType::open_job, wire::encode(wire::OpenJob{job_name, job_id})),
                                 MessageType::job_opened, wire::decode_job_opened);
}

Outcome<wire::Reserved> SupervisorClient::reserve(const std::vector<wire::PortRequest>& ports) {
  return expect<wire::Reserved>(call(MessageType::reserve, wire::encode(wire::Reserve{ports})), MessageType::reserved,
                                wire::decode_reserved);
}

Outcome<wire::Reserved> SupervisorClient::reserve_again(const std::vector<wire::PortRequest>& ports) {
  wire::Reserve request{ports};
  request.rehold = true;
  return expect<wire::Reserved>(call(MessageType::reserve, wire::encode(request)), MessageType::reserved,
                                wire::decode_reserved);
}

Outcome<AcquiredSocket> SupervisorClient::acquire(const wire::Acquire& request) {
  auto reply = call(MessageType::acquire, wire::encode(request));
  if (!reply.ok()) {
    Outcome<AcquiredSocket> o;
    o.error = reply.error;
    return o;
  }
  if (reply.value->type != MessageType::acquired) return unexpected_reply<AcquiredSocket>(*reply.value);
  auto info = wire::decode_acquired(reply.value->payload);
  if (!info || reply.value->fds.size() != 1) {
    return Outcome<AcquiredSocket>::failure(ErrorCode::bad_payload,
                                            "the supervisor's acquired reply did not carry exactly one socket");
  }
  Outcome<AcquiredSocket> o;
  o.value = AcquiredSocket{*info, std::move(reply.value->fds.front())};
  return o;
}

Outcome<bool> SupervisorClient::release(Protocol proto, uint16_t port) {
  return expect<bool>(call(MessageType::release, wire::encode(wire::PortKey{proto, port})), MessageType::ok,
                      [](const std::vector<uint8_t>& p) { return p.empty() ? std::optional<bool>(true) : std::nullopt; });
}

Outcome<bool> SupervisorClient::annotate(const wire::Annotate& request) {
  return expect<bool>(call(MessageType::annotate, wire::encode(request)), MessageType::ok,
                      [](const std::vector<uint8_t>& p) { return p.empty() ? std::optional<bool>(true) : std::nullopt; });
}

Outcome<wire::StatusReply> SupervisorClient::status() {
  return expect<wire::StatusReply>(call(MessageType::status, {}), MessageType::status_reply, wire::decode_status);
}

Outcome<wire::GcReply> SupervisorClient::gc() {
  return expect<wire::GcReply>(call(MessageType::gc, {}), MessageType::gc_reply, wire::decode_gc);
}

Outcome<wire::Pong> SupervisorClient::ping() {
  return expect<wire::Pong>(call(MessageType::ping, {}), MessageType::pong, wire::decode_pong);
}

}  // namespace portsafe
