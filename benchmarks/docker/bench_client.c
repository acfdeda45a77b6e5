/* One measurement through a published port (run inside dockerd's network namespace):
 *   bench_client HOST PORT BYTES ROUNDTRIPS
 * downloads BYTES from tests/docker/echo_server.c ("bytes N" request) and times it, then times
 * ROUNDTRIPS 64-byte echoes on one connection. Prints "throughput_MBps=X rtt_us_median=Y
 * rtt_us_mean=Z". C, not Python: the client must not be the bottleneck at GB/s. */
#define _GNU_SOURCE
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int connect_to(const char* host, const char* port) {
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *found = NULL;
  if (getaddrinfo(host, port, &hints, &found) != 0) return -1;
  int fd = socket(found->ai_family, SOCK_STREAM, 0);
  if (fd >= 0 && connect(fd, found->ai_addr, found->ai_addrlen) != 0) {
    close(fd);
    fd = -1;
  }
  freeaddrinfo(found);
  int on = 1;
  if (fd >= 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  return fd;
}

static int compare(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: bench_client HOST PORT BYTES ROUNDTRIPS\n");
    return 2;
  }
  long long bytes = atoll(argv[3]);
  int trips = atoi(argv[4]);
  static char buffer[1 << 20];

  int fd = connect_to(argv[1], argv[2]);
  if (fd < 0) {
    perror("connect");
    return 1;
  }
  char request[64];
  int length = snprintf(request, sizeof request, "bytes %lld\n", bytes);
  double start = now_s();
  if (write(fd, request, (size_t)length) != length) return 1;
  long long got = 0;
  ssize_t n;
  while (got < bytes && (n = read(fd, buffer, sizeof buffer)) > 0) got += n;
  double elapsed = now_s() - start;
  close(fd);
  if (got != bytes) {
    fprintf(stderr, "short download: %lld of %lld\n", got, bytes);
    return 1;
  }

  fd = connect_to(argv[1], argv[2]);
  if (fd < 0) return 1;
  double* rtts = calloc((size_t)trips, sizeof *rtts);
  char message[64];
  memset(message, 'r', sizeof message);
  double sum = 0;
  for (int i = 0; i < trips; ++i) {
    double t0 = now_s();
    if (write(fd, message, sizeof message) != (ssize_t)sizeof message) return 1;
    size_t back = 0;
    while (back < sizeof message && (n = read(fd, buffer, sizeof message - back)) > 0) back += (size_t)n;
    if (back != sizeof message) return 1;
    rtts[i] = (now_s() - t0) * 1e6;
    sum += rtts[i];
  }
  close(fd);
  qsort(rtts, (size_t)trips, sizeof *rtts, compare);
  printf("throughput_MBps=%.1f rtt_us_median=%.1f rtt_us_mean=%.1f\n", (double)bytes / elapsed / 1e6, rtts[trips / 2],
         sum / trips);
  return 0;
}
