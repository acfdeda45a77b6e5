#include "host_daemon.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "host_server.hpp"
#include "instance.hpp"
#include "lease_book.hpp"
#include "portsafe/log.hpp"
#include "registry_writer.hpp"

namespace portsafe::host {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;

// HOSTDIR: made 0755 when missing; refused unless it is a directory of ours nobody else can
// write (accounts trust what is in it).
bool prepare_host_dir(const std::string& dir, std::string& error) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    error = fmt::format("cannot create {}: {}", dir, std::strerror(errno));
    return false;
  }
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    error = fmt::format("{} is not a directory; remove it or choose another --host-dir", dir);
    return false;
  }
  if (st.st_uid != ::geteuid() || (st.st_mode & 0022) != 0) {
    error = fmt::format("{} belongs to uid {} with mode {:o}: accounts would not trust it; make it root-owned 0755 "
                        "(or remove it)",
                        dir, st.st_uid, st.st_mode & 07777);
    return false;
  }
  ::chmod(dir.c_str(), 0755);  // readable by every account, whatever the umask made it
  return true;
}

}  // namespace

int serve_host(const HostOptions& options) {
  if (::geteuid() != 0) {
    log_error("portsafed --host must run as root (it reads every account's table to answer for it); "
              "run it through the portsafe-host systemd units");
    return kExitFailure;
  }
  const std::string dir = options.dir.empty() ? host_dir() : options.dir;
  std::string error;
  if (!prepare_host_dir(dir, error)) {
    log_error("{}", error);
    return kExitFailure;
  }
  UniqueFd lock;
  switch (supervisor::take_instance_lock(dir, lock, error)) {
    case supervisor::LockOutcome::another_serves:
      log_info("another host daemon serves {}", dir);
      return kExitOk;
    case supervisor::LockOutcome::failed:
      log_error("{}", error);
      return kExitFailure;
    case supervisor::LockOutcome::acquired:
      break;
  }
  const RangeParse range = resolve_port_range();
  if (!range.ok) {
    log_error("{}", range.error);
    return kExitFailure;
  }
  RegistrySpec spec;
  spec.dir = dir;
  spec.range = range.range;
  spec.block_size = options.block_size;
  spec.netns_inode = network_namespace_inode();
  WriterOpen registry = HostRegistryWriter::open_or_create(spec);
  if (!registry.writer) {
    log_error("{}", registry.error);
    return kExitFailure;
  }
  registry.writer->set_daemon_pid(static_cast<uint32_t>(::getpid()));
  supervisor::record_pid(lock.get());
  UniqueFd listener;
  bool from_systemd = false;
  const std::string socket_path = host_socket_path(dir);
  if (!supervisor::open_listener(socket_path, listener, from_systemd, error)) {
    log_error("{}", error);
    supervisor::clear_pid(lock.get());
    return kExitFailure;
  }
  // Every account may ask: who asks is SO_PEERCRED's answer, never the payload's.
  if (!from_systemd && ::chmod(socket_path.c_str(), 0666) != 0) {
    log_error("cannot open {} to every account: {}", socket_path, std::strerror(errno));
    supervisor::clear_pid(lock.get());
    return kExitFailure;
  }
  LeaseBook book(*registry.writer);
  ServerSettings settings;
  settings.idle_timeout = options.idle_timeout;
  HostServer server(std::move(listener), book, settings);
  log_info("host daemon serving {} (registry {}, range {}, {} blocks of {}{})", socket_path,
           registry.writer->view().path(), format_range(spec.range), registry.writer->view().block_count(),
           registry.writer->view().block_size(), registry.created ? ", new" : "");
  const int code = server.run();
  if (!from_systemd) ::unlink(socket_path.c_str());
  supervisor::clear_pid(lock.get());
  return code;
}

}  // namespace portsafe::host
