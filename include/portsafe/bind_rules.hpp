// The claim rules for one bind() of a TCP or UDP socket to an IPv4/IPv6 address: what port 0
// picks, what a port held or claimed elsewhere answers, when the kernel chooses instead. Two
// tiers apply them and must agree exactly: the preload shim (inside the program's bind()) and the
// seccomp handler (in portsafe-run, binding a duplicate of the program's socket). Each supplies a
// BindSite: how to bind that socket, read and set its options, remember a claim, say what
// happened. Allocation-free and exception-free: the shim runs this inside bind().
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <optional>

#include "portsafe/port_table.hpp"

namespace portsafe {
class HostLeases;
class VirtualPorts;
}

namespace portsafe {

// The port of an AF_INET/AF_INET6 address of adequate length; nullopt for any other address.
std::optional<uint16_t> inet_address_port(const struct sockaddr* addr, socklen_t length) noexcept;

// Whether an address of this length can be copied whole into a sockaddr_storage. A longer one
// is never rewritten: the kernel refuses it (EINVAL), and a shortened copy would be accepted.
bool fits_address_copy(socklen_t length) noexcept;

// Copies addr into out with its port replaced (addr must be a valid inet address whose length
// fits_address_copy).
socklen_t copy_with_port(const struct sockaddr* addr, socklen_t length, uint16_t port,
                         struct sockaddr_storage& out) noexcept;

// tcp for SOCK_STREAM with IPPROTO_TCP, udp for SOCK_DGRAM with IPPROTO_UDP; nullopt otherwise
// (raw, SCTP, MPTCP... are not coordinated). type without SOCK_NONBLOCK/SOCK_CLOEXEC (SO_TYPE).
std::optional<Protocol> inet_protocol(int type, int protocol) noexcept;

// One bind() as the program asked for it.
struct BindRequest {
  const struct sockaddr* addr = nullptr;
  socklen_t length = 0;
  Protocol proto = Protocol::tcp;
  uint16_t port = 0;
  // Already known by the caller (the shim notes them at socket()/setsockopt()); else asked.
  std::optional<bool> reuse_address;
  std::optional<bool> bind_address_no_port;
};

// Where the claim goes: the table, the job's pick range, who claims, and the picker's count of
// its picks that fell back in a row since its last pick (null: none kept), which makes the
// "ports the job needed" figure a fallback records.
// host: the account's host-wide coordination (host_leases.hpp), null in per-account mode; it
// applies only when job_range is the table's whole range (a job's own PORTSAFE_RANGE opts out).
// kernel_virtual: the virtual ports a bpf-mode job's BPF programs rewrite (PORTSAFE_VIRTUAL_KERNEL,
// parsed once by whoever builds the scope), null when none. A bind to one of them is not what it
// says: the kernel turns it into a bind to the job's own held real port, so the number itself is
// nobody's to claim (two jobs on one virtual 8080 would refuse each other, and other jobs could
// not bind 8080 itself): it goes to the kernel unclaimed.
struct BindScope {
  PortTable& table;
  PortRange job_range;
  const Claimant& claimant;
  std::atomic<uint32_t>* fallbacks_in_a_row = nullptr;
  HostLeases* host = nullptr;
  const VirtualPorts* kernel_virtual = nullptr;
};

enum class BindEvent {
  picked,              // port 0 got `port` from the job's range
  outsider_skipped,    // `port` is taken by a program without portsafe; the pick goes on
  fallback_full,       // the range is full: the kernel chooses
  fallback_outsiders,  // outsiders hold every port tried: the kernel chooses
  fallback_host,       // the account's host-wide blocks are full and no more was leased: the kernel chooses
  claimed,             // an explicit port is now the job's
  own_held,            // the job's supervisor placeholder holds `port`: SO_REUSEADDR set, bind passes
  other_job,           // refused with EADDRINUSE: `holder` has it
  other_account,       // refused with EADDRINUSE: the host daemon says another account has it
};

struct BindNote {
  BindEvent event = BindEvent::picked;
  Protocol proto = Protocol::tcp;
  uint16_t port = 0;
  const SlotView* holder = nullptr;  // other_job only
  PortRange range;                   // fallbacks: the job's range
  bool gave_way = false;             // picked: the port was a linger that gave way (a crowded range)
};

class BindSite {
 public:
  // Binds the program's socket; 0 or the errno value the kernel gave.
  virtual int bind(const struct sockaddr* addr, socklen_t length) noexcept = 0;
  virtual std::optional<int> int_option(int level, int name) noexcept = 0;
  virtual void set_int_option(int level, int name, int value) noexcept = 0;
  // The socket is bound with this claim: the site owns its release from now on.
  virtual void remember(const SlotRef& ref, uint16_t port) noexcept = 0;
  virtual void note(const BindNote& note) noexcept = 0;
  // The range looks full: release the site's claims whose sockets are gone (a site that sees no
  // close() has to look); true when any was released.
  virtual bool release_gone_claims() noexcept { return false; }

 protected:
  ~BindSite() = default;
};

// Applies the rules and binds through the site. Returns 0 (bound) or the errno value the
// program's bind() must report.
int coordinated_inet_bind(const BindScope& scope, const BindRequest& request, BindSite& site) noexcept;

}  // namespace portsafe
