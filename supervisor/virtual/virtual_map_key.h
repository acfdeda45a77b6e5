/* Map layouts shared by the BPF programs (virtual_ports.bpf.c) and their loader: C, fixed-width. */
#ifndef PORTSAFE_VIRTUAL_MAP_KEY_H
#define PORTSAFE_VIRTUAL_MAP_KEY_H

#include <linux/types.h>

#define PORTSAFE_VIRTUAL_MAX 256
#define PORTSAFE_LOCAL_ADDRESS_MAX 256

struct portsafe_port_key {
  __u32 protocol; /* IPPROTO_TCP or IPPROTO_UDP */
  __u32 port;     /* host byte order */
};

struct portsafe_address_key {
  __u32 family;     /* AF_INET or AF_INET6 */
  __u32 address[4]; /* network byte order; IPv4 in address[0] */
};

#endif
