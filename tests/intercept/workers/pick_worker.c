/* The pick-a-port idiom in a -static C program, for the seccomp interception tests
 * (tests/intercept/test_*.py). A static binary has no dynamic loader, so LD_PRELOAD never reaches
 * its binds: only the seccomp tier can coordinate them.
 *
 * Usage: intercept_static_worker [-rounds N] [-proto tcp|udp] [-family 4|6] [-seed S]
 * Each round: bind port 0 (no SO_REUSEADDR, as most C code does), read the number, close, pause,
 * bind that number again, listen and serve one connection (TCP) or receive one datagram (UDP),
 * close. Prints the same JSON line as pick_worker.go: failed rounds, their errors, every picked
 * port, and [port, start ns, end ns] (wall clock) for each good round. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct options {
  int rounds;
  int udp;
  int family;
  unsigned seed;
};

struct error_count {
  int number;
  int count;
};

static long long wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void pause_us(unsigned* seed, int low, int high) {
  const int us = low + (int)((unsigned)rand_r(seed) % (unsigned)(high - low + 1));
  struct timespec ts = {0, (long)us * 1000L};
  nanosleep(&ts, NULL);
}

static socklen_t loopback(int family, int port, struct sockaddr_storage* out) {
  memset(out, 0, sizeof *out);
  if (family == 6) {
    struct sockaddr_in6* a = (struct sockaddr_in6*)out;
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    a->sin6_port = htons((unsigned short)port);
    return sizeof *a;
  }
  struct sockaddr_in* a = (struct sockaddr_in*)out;
  a->sin_family = AF_INET;
  a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a->sin_port = htons((unsigned short)port);
  return sizeof *a;
}

static int port_of(int fd) {
  struct sockaddr_storage addr;
  socklen_t length = sizeof addr;
  if (getsockname(fd, (struct sockaddr*)&addr, &length) != 0) return -1;
  if (addr.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6*)&addr)->sin6_port);
  return ntohs(((struct sockaddr_in*)&addr)->sin_port);
}

/* A socket bound to loopback:port, or -1 with errno set. */
static int bound_socket(const struct options* o, int port) {
  const int fd = socket(o->family == 6 ? AF_INET6 : AF_INET, o->udp ? SOCK_DGRAM : SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct sockaddr_storage addr;
  const socklen_t length = loopback(o->family, port, &addr);
  if (bind(fd, (struct sockaddr*)&addr, length) != 0) {
    const int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

/* Serves one connection or datagram on server, from a fresh client: the port is really used. */
static int serve_once(const struct options* o, int server, int port, unsigned* seed) {
  if (!o->udp && listen(server, 8) != 0) return -1;
  const int client = socket(o->family == 6 ? AF_INET6 : AF_INET, o->udp ? SOCK_DGRAM : SOCK_STREAM, 0);
  if (client < 0) return -1;
  struct sockaddr_storage addr;
  const socklen_t length = loopback(o->family, port, &addr);
  int result = -1;
  if (connect(client, (struct sockaddr*)&addr, length) == 0) {
    if (o->udp) {
      char byte = 0;
      struct timeval wait = {5, 0};
      setsockopt(server, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
      if (send(client, "x", 1, 0) == 1 && recv(server, &byte, 1, 0) == 1) result = 0;
    } else {
      /* The client resets at close: no TIME_WAIT blocks a later round's bind. */
      struct linger reset = {1, 0};
      setsockopt(client, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
      const int connection = accept(server, NULL, NULL);
      if (connection >= 0) {
        pause_us(seed, 0, 2000); /* the server runs for a moment */
        close(client);
        close(connection);
        return 0;
      }
    }
  }
  const int saved = errno;
  close(client);
  errno = saved;
  return result;
}

/* One round; returns the picked port (0 when the pick failed), *error = errno of a failure. */
static int one_round(const struct options* o, unsigned* seed, int* error) {
  *error = 0;
  const int probe = bound_socket(o, 0);
  if (probe < 0) {
    *error = errno;
    return 0;
  }
  const int port = port_of(probe);
  close(probe);
  pause_us(seed, 500, 3000); /* the gap where another process can take the number */
  const int server = bound_socket(o, port);
  if (server < 0) {
    *error = errno;
    return port;
  }
  if (serve_once(o, server, port, seed) != 0) *error = errno;
  close(server);
  return port;
}

static void count_error(struct error_count* counts, int* kinds, int number) {
  for (int i = 0; i < *kinds; ++i) {
    if (counts[i].number == number) {
      ++counts[i].count;
      return;
    }
  }
  counts[*kinds].number = number;
  counts[*kinds].count = 1;
  ++*kinds;
}

static int parse_options(int argc, char** argv, struct options* o) {
  *o = (struct options){100, 0, 4, 1};
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "-rounds") == 0) {
      o->rounds = atoi(argv[i + 1]);
    } else if (strcmp(argv[i], "-proto") == 0) {
      o->udp = strcmp(argv[i + 1], "udp") == 0;
    } else if (strcmp(argv[i], "-family") == 0) {
      o->family = atoi(argv[i + 1]);
    } else if (strcmp(argv[i], "-seed") == 0) {
      o->seed = (unsigned)strtoul(argv[i + 1], NULL, 10);
    } else {
      return -1;
    }
  }
  return (argc % 2 == 1 && o->rounds > 0 && (o->family == 4 || o->family == 6)) ? 0 : -1;
}

int main(int argc, char** argv) {
  struct options o;
  if (parse_options(argc, argv, &o) != 0) {
    fprintf(stderr, "usage: %s [-rounds N] [-proto tcp|udp] [-family 4|6] [-seed S]\n", argv[0]);
    return 2;
  }
  int* ports = calloc((size_t)o.rounds, sizeof *ports);
  long long(*spans)[3] = calloc((size_t)o.rounds, sizeof *spans);
  struct error_count counts[64];
  int kinds = 0, failures = 0, picked = 0, good = 0;
  unsigned seed = o.seed;
  if (ports == NULL || spans == NULL) return 1;
  for (int i = 0; i < o.rounds; ++i) {
    const long long start = wall_ns();
    int error = 0;
    const int port = one_round(&o, &seed, &error);
    if (port != 0) ports[picked++] = port;
    if (error != 0) {
      ++failures;
      if (kinds < 64) count_error(counts, &kinds, error);
      continue;
    }
    spans[good][0] = port;
    spans[good][1] = start;
    spans[good][2] = wall_ns();
    ++good;
  }
  printf("{\"failures\": %d, \"errors\": {", failures);
  for (int i = 0; i < kinds; ++i) {
    const char* name = strerrorname_np(counts[i].number);
    printf("%s\"%s\": %d", i ? ", " : "", name ? name : "unknown", counts[i].count);
  }
  printf("}, \"ports\": [");
  for (int i = 0; i < picked; ++i) printf("%s%d", i ? ", " : "", ports[i]);
  printf("], \"spans\": [");
  for (int i = 0; i < good; ++i) printf("%s[%lld, %lld, %lld]", i ? ", " : "", spans[i][0], spans[i][1], spans[i][2]);
  printf("]}\n");
  free(ports);
  free(spans);
  return 0;
}
