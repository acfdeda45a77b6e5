// Answers parsed requests. Knows which connection belongs to which job; holds no sockets of its
// clients, so it can be driven directly by unit tests.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "port_keeper.hpp"
#include "request_parser.hpp"

namespace portsafe::supervisor {

struct Peer {
  uint64_t connection = 0;
  pid_t pid = 0;
  uid_t uid = 0;
};

struct Reply {
  wire::MessageType type = wire::MessageType::ok;
  std::vector<uint8_t> payload;
  UniqueFd fd;  // travels as SCM_RIGHTS with the reply (acquire)
};

Reply make_error_reply(const wire::ErrorReply& error);

class RequestHandler {
 public:
  RequestHandler(PortTable& table, ProcessIdentity self);

  Reply handle(const Peer& peer, const Request& request);
  // The connection closed: its job membership ends and every port it reserved is released.
  void end_connection(uint64_t connection);
  // True while some connection has opened a job (the supervisor must not idle out).
  bool has_jobs() const noexcept { return !jobs_.empty(); }
  // The supervisor is exiting: from now on new jobs and reservations are refused (their ports
  // would die with us a moment later), with a reply that sends the client to a fresh supervisor.
  void refuse_new_jobs() noexcept { stopping_ = true; }
  PortKeeper& keeper() noexcept { return keeper_; }

 private:
  Reply open_job(const Peer& peer, const wire::OpenJob& request);
  Reply reserve(const Peer& peer, const wire::Reserve& request);
  Reply acquire(const wire::Acquire& request);
  Reply release(const Peer& peer, const ReleaseRequest& request);
  Reply annotate(const wire::Annotate& request);
  Reply status();
  Reply gc();
  Reply ping();
  const JobInfo* job_of(uint64_t connection) const;

  PortTable& table_;
  ProcessIdentity self_;
  PortKeeper keeper_;
  std::map<uint64_t, JobInfo> jobs_;  // connection -> the job it opened or joined
  bool stopping_ = false;
};

}  // namespace portsafe::supervisor
