// cgroup sock_addr programs of the virtual-port tier: inside a job's cgroup, a bind to a virtual
// port lands on the real port the supervisor holds for the job, a connect/sendmsg to a LOCAL
// address on it reaches that real port, and getsockname/getpeername/recvmsg report the virtual
// port again. One copy of these programs (with its own maps) is loaded per job.
// Built with clang -target bpf from the uapi headers only (no vmlinux.h): nothing here needs CO-RE.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "virtual_map_key.h"

char LICENSE[] SEC("license") = "GPL";

// virtual -> real, and real -> virtual, per protocol (host byte order ports).
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, PORTSAFE_VIRTUAL_MAX);
  __type(key, struct portsafe_port_key);
  __type(value, __u32);
} virtual_to_real SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, PORTSAFE_VIRTUAL_MAX);
  __type(key, struct portsafe_port_key);
  __type(value, __u32);
} real_to_virtual SEC(".maps");

// The netns's own interface addresses (besides loopback and the unspecified address), filled by
// the launcher at start: a connect to 192.168.1.5:8080 from inside the job is local too.
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, PORTSAFE_LOCAL_ADDRESS_MAX);
  __type(key, struct portsafe_address_key);
  __type(value, __u8);
} local_addresses SEC(".maps");

// From <sys/socket.h>, which cannot be included for the bpf target (no 32-bit glibc stubs).
#define AF_INET 2
#define AF_INET6 10
#define SOL_SOCKET_ 1
#define SO_REUSEADDR_ 2

static __always_inline int lookup(void *map, __u32 protocol, __u32 port_be, __u32 *out_be) {
  struct portsafe_port_key key = {.protocol = protocol, .port = bpf_ntohs((__u16)port_be)};
  __u32 *found = bpf_map_lookup_elem(map, &key);
  if (!found) return 0;
  *out_be = bpf_htons((__u16)*found);
  return 1;
}

static __always_inline int is_local4(__u32 ip_be) {
  __u32 ip = bpf_ntohl(ip_be);
  if ((ip >> 24) == 127 || ip == 0) return 1;
  struct portsafe_address_key key = {.family = AF_INET};
  key.address[0] = ip_be;
  return bpf_map_lookup_elem(&local_addresses, &key) != 0;
}

static __always_inline int is_local6(struct bpf_sock_addr *ctx) {
  __u32 a0 = ctx->user_ip6[0], a1 = ctx->user_ip6[1], a2 = ctx->user_ip6[2], a3 = ctx->user_ip6[3];
  if (a0 == 0 && a1 == 0 && a2 == 0 && (a3 == 0 || a3 == bpf_htonl(1))) return 1;  // :: and ::1
  if (a0 == 0 && a1 == 0 && a2 == bpf_htonl(0xffff)) return is_local4(a3);        // ::ffff:a.b.c.d
  struct portsafe_address_key key = {.family = AF_INET6};
  key.address[0] = a0;
  key.address[1] = a1;
  key.address[2] = a2;
  key.address[3] = a3;
  return bpf_map_lookup_elem(&local_addresses, &key) != 0;
}

// bind: any local address of the job; the held placeholder has SO_REUSEADDR, so the program's
// socket needs it too to share the (non-listening) real port with it.
static __always_inline int rewrite_bind(struct bpf_sock_addr *ctx) {
  __u32 real;
  if (!lookup(&virtual_to_real, ctx->protocol, ctx->user_port, &real)) return 1;
  int one = 1;
  bpf_setsockopt(ctx, SOL_SOCKET_, SO_REUSEADDR_, &one, sizeof one);
  ctx->user_port = real;
  return 1;
}

SEC("cgroup/bind4")
int portsafe_bind4(struct bpf_sock_addr *ctx) { return rewrite_bind(ctx); }

SEC("cgroup/bind6")
int portsafe_bind6(struct bpf_sock_addr *ctx) { return rewrite_bind(ctx); }

// connect/sendmsg: only to a local address (8080 on another host is that host's 8080).
static __always_inline int rewrite_destination4(struct bpf_sock_addr *ctx) {
  __u32 real;
  if (!is_local4(ctx->user_ip4)) return 1;
  if (lookup(&virtual_to_real, ctx->protocol, ctx->user_port, &real)) ctx->user_port = real;
  return 1;
}

static __always_inline int rewrite_destination6(struct bpf_sock_addr *ctx) {
  __u32 real;
  if (!is_local6(ctx)) return 1;
  if (lookup(&virtual_to_real, ctx->protocol, ctx->user_port, &real)) ctx->user_port = real;
  return 1;
}

SEC("cgroup/connect4")
int portsafe_connect4(struct bpf_sock_addr *ctx) { return rewrite_destination4(ctx); }

SEC("cgroup/connect6")
int portsafe_connect6(struct bpf_sock_addr *ctx) { return rewrite_destination6(ctx); }

SEC("cgroup/sendmsg4")
int portsafe_sendmsg4(struct bpf_sock_addr *ctx) { return rewrite_destination4(ctx); }

SEC("cgroup/sendmsg6")
int portsafe_sendmsg6(struct bpf_sock_addr *ctx) { return rewrite_destination6(ctx); }

// recvmsg/getpeername: the peer's real port reads as the virtual one when the peer is local.
static __always_inline int restore_peer4(struct bpf_sock_addr *ctx) {
  __u32 virt;
  if (!is_local4(ctx->user_ip4)) return 1;
  if (lookup(&real_to_virtual, ctx->protocol, ctx->user_port, &virt)) ctx->user_port = virt;
  return 1;
}

static __always_inline int restore_peer6(struct bpf_sock_addr *ctx) {
  __u32 virt;
  if (!is_local6(ctx)) return 1;
  if (lookup(&real_to_virtual, ctx->protocol, ctx->user_port, &virt)) ctx->user_port = virt;
  return 1;
}

SEC("cgroup/recvmsg4")
int portsafe_recvmsg4(struct bpf_sock_addr *ctx) { return restore_peer4(ctx); }

SEC("cgroup/recvmsg6")
int portsafe_recvmsg6(struct bpf_sock_addr *ctx) { return restore_peer6(ctx); }

SEC("cgroup/getpeername4")
int portsafe_getpeername4(struct bpf_sock_addr *ctx) { return restore_peer4(ctx); }

SEC("cgroup/getpeername6")
int portsafe_getpeername6(struct bpf_sock_addr *ctx) { return restore_peer6(ctx); }

// getsockname: the socket's own address is local by definition.
static __always_inline int restore_local(struct bpf_sock_addr *ctx) {
  __u32 virt;
  if (lookup(&real_to_virtual, ctx->protocol, ctx->user_port, &virt)) ctx->user_port = virt;
  return 1;
}

SEC("cgroup/getsockname4")
int portsafe_getsockname4(struct bpf_sock_addr *ctx) { return restore_local(ctx); }

SEC("cgroup/getsockname6")
int portsafe_getsockname6(struct bpf_sock_addr *ctx) { return restore_local(ctx); }
