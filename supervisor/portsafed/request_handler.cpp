#include "request_handler.hpp"

#include <fmt/format.h>

#include <cstring>

#include "portsafe/log.hpp"
#include "portsafe/process_identity.hpp"

#ifndef PORTSAFE_VERSION
#define PORTSAFE_VERSION "unknown"
#endif

namespace portsafe::supervisor {
namespace {

using wire::ErrorCode;
using wire::MessageType;

Reply make_reply(MessageType type, std::vector<uint8_t> payload = {}) {
  Reply reply;
  reply.type = type;
  reply.payload = std::move(payload);
  return reply;
}

Reply fail(ErrorCode code, std::string message) { return make_error_reply(wire::ErrorReply{code, std::move(message)}); }

Reply refuse_while_stopping(const char* what) {
  return fail(ErrorCode::stopping,
              fmt::format("this supervisor is exiting (idle) and takes no new {}; reconnect to start a fresh one", what));
}

}  // namespace

Reply make_error_reply(const wire::ErrorReply& error) { return make_reply(MessageType::error, wire::encode(error)); }

RequestHandler::RequestHandler(PortTable& table, ProcessIdentity self)
    : table_(table), self_(self), keeper_(table, self) {}

Reply RequestHandler::handle(const Peer& peer, const Request& request) {
  return std::visit(
      [&](const auto& r) -> Reply {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, wire::OpenJob>) return open_job(peer, r);
        if constexpr (std::is_same_v<T, wire::Reserve>) return reserve(peer, r);
        if constexpr (std::is_same_v<T, wire::Acquire>) return acquire(r);
        if constexpr (std::is_same_v<T, ReleaseRequest>) return release(peer, r);
        if constexpr (std::is_same_v<T, wire::Annotate>) return annotate(r);
        if constexpr (std::is_same_v<T, StatusRequest>) return status();
        if constexpr (std::is_same_v<T, GcRequest>) return gc();
        if constexpr (std::is_same_v<T, PingRequest>) return ping();
      },
      request);
}

const JobInfo* RequestHandler::job_of(uint64_t connection) const {
  const auto it = jobs_.find(connection);
  return it == jobs_.end() ? nullptr : &it->second;
}

Reply RequestHandler::open_job(const Peer& peer, const wire::OpenJob& request) {
  if (stopping_) return refuse_while_stopping("jobs");
  if (const JobInfo* current = job_of(peer.connection)) {
    return fail(ErrorCode::bad_payload,
                fmt::format("this connection already belongs to job '{}'; open a new connection for another job",
                            current->name));
  }
  JobInfo job;
  if (request.job_id == 0) {
    // A new job led by the peer: its identity (pid + start time) is the job's id.
    const auto leader = read_process_identity(peer.pid);
    if (!leader) return fail(ErrorCode::no_job, fmt::format("the requesting process {} is gone", peer.pid));
    job.id = pack_identity(*leader);
  } else {
    if (!is_process_alive(unpack_identity(request.job_id))) {
      return fail(ErrorCode::no_job, fmt::format("job {} has ended (its leader, pid {}, is gone); start a new job",
                                                 request.job_id, unpack_identity(request.job_id).pid));
    }
    job.id = request.job_id;
  }
  job.name = request.job_name;
  if (job.name.empty()) {
    for (const auto& [connection, other] : jobs_) {
      if (other.id == job.id && !other.name.empty()) job.name = other.name;
    }
  }
  if (job.name.empty()) job.name = fmt::format("job-{}", unpack_identity(job.id).pid);
  log_info("connection {} (pid {}) opened job '{}' ({})", peer.connection, peer.pid, job.name, job.id);
  jobs_[peer.connection] = job;
  return make_reply(MessageType::job_opened, wire::encode(wire::JobOpened{job.id, job.name, table_.range()}));
}

Reply RequestHandler::reserve(const Peer& peer, const wire::Reserve& request) {
  if (stopping_) return refuse_while_stopping("reservations");
  const JobInfo* job = job_of(peer.connection);
  if (job == nullptr) return fail(ErrorCode::no_job, "reserve needs a job: send open_job on this connection first");
  auto result = keeper_.reserve(peer.connection, *job, request.ports, request.rehold);
  if (result.error) return make_error_reply(*result.error);
  for (const auto& p : result.value) log_info("job '{}' holds {}/{} as '{}'", job->name, p.port, protocol_name(p.proto), p.name);
  return make_reply(MessageType::reserved, wire::encode(wire::Reserved{std::move(result.value)}));
}

Reply RequestHandler::acquire(const wire::Acquire& request) {
  UniqueFd socket;
  auto result = keeper_.acquire(request, socket);
  if (result.error) return make_error_reply(*result.error);
  Reply reply = make_reply(MessageType::acquired, wire::encode(wire::Acquired{request.proto, request.port}));
  reply.fd = std::move(socket);
  return reply;
}

Reply RequestHandler::release(const Peer& peer, const ReleaseRequest& request) {
  const JobInfo* job = job_of(peer.connection);
  if (job == nullptr) return fail(ErrorCode::no_job, "release needs a job: send open_job on this connection first");
  auto result = keeper_.release(job->id, request.key);
  if (result.error) return make_error_reply(*result.error);
  return make_reply(MessageType::ok);
}

Reply RequestHandler::annotate(const wire::Annotate& request) {
  auto result = keeper_.annotate(request);
  if (result.error) return make_error_reply(*result.error);
  return make_reply(MessageType::ok);
}

Reply RequestHandler::status() {
  const int64_t now = monotonic_ms();
  wire::StatusReply reply;
  size_t bytes = 4;
  for (const SlotView& v : table_.list()) {
    // A full table would not fit in one frame; `portsafe status` reads the table itself.
    bytes += 28 + std::strlen(v.job_name) + std::strlen(v.label);
    if (bytes + 256 > wire::kMaxPayload) break;
    wire::StatusEntry e;
    e.port = v.port;
    e.proto = v.proto;
    e.state = v.state;
    e.job_id = v.job_id;
    e.job_name = v.job_name;
    e.pid = v.pid;
    e.label = v.label;
    e.age_ms = static_cast<uint64_t>(std::max<int64_t>(0, now - v.since_ms));
    reply.entries.push_back(std::move(e));
  }
  for (auto& e : keeper_.untracked_entries(now)) reply.entries.push_back(std::move(e));
  return make_reply(MessageType::status_reply, wire::encode(reply));
}

Reply RequestHandler::gc() {
  const size_t reaped = table_.reap(monotonic_ms());
  return make_reply(MessageType::gc_reply, wire::encode(wire::GcReply{static_cast<uint32_t>(reaped)}));
}

Reply RequestHandler::ping() {
  return make_reply(MessageType::pong, wire::encode(wire::Pong{self_.pid, wire::kVersion, PORTSAFE_VERSION}));
}

void RequestHandler::end_connection(uint64_t connection) {
  const size_t released = keeper_.release_connection(connection);
  if (auto it = jobs_.find(connection); it != jobs_.end()) {
    log_info("job '{}' connection {} closed; released {} port(s)", it->second.name, connection, released);
    jobs_.erase(it);
  }
}

}  // namespace portsafe::supervisor
