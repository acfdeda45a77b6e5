/* The container side of the real-Docker tests: a tiny static server (no libc in the image but
 * its own) on TCP and UDP port 80.
 *   TCP: a first line "bytes N" is answered with N bytes then close (throughput), anything else
 *        is echoed until the client closes (round trips, contents checks).
 *   UDP: every datagram is echoed to its sender.
 * Fork per TCP connection: a test needs correctness and a benchmark needs a few streams, never
 * thousands. */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int bound_socket(int type, int port) {
  int fd = socket(AF_INET6, type, 0);
  int on = 1, off = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((unsigned short)port)};
  if (fd < 0 || bind(fd, (struct sockaddr*)&a, sizeof a) != 0) {
    perror("bind");
    exit(1);
  }
  return fd;
}

static void send_bytes(int fd, long long count) {
  static char block[256 * 1024];
  memset(block, 'x', sizeof block);
  while (count > 0) {
    ssize_t n = write(fd, block, count < (long long)sizeof block ? (size_t)count : sizeof block);
    if (n <= 0) return;
    count -= n;
  }
}

static void serve_stream(int fd) {
  int on = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  char buffer[65536];
  ssize_t n = read(fd, buffer, sizeof buffer - 1);
  if (n <= 0) return;
  buffer[n] = '\0';
  if (strncmp(buffer, "bytes ", 6) == 0) {
    send_bytes(fd, atoll(buffer + 6));
    return;
  }
  do {
    if (write(fd, buffer, (size_t)n) != n) return;
  } while ((n = read(fd, buffer, sizeof buffer)) > 0);
}

static void serve_datagrams(int fd) {
  char buffer[65536];
  for (;;) {
    struct sockaddr_storage from;
    socklen_t length = sizeof from;
    ssize_t n = recvfrom(fd, buffer, sizeof buffer, 0, (struct sockaddr*)&from, &length);
    if (n >= 0) sendto(fd, buffer, (size_t)n, 0, (struct sockaddr*)&from, length);
  }
}

/* As PID 1 of its container the server gets no default SIGTERM action: without this handler
 * `docker stop` would wait its 10 s grace period and then kill. */
static void stop(int signal_number) {
  (void)signal_number;
  _exit(0);
}

int main(int argc, char** argv) {
  int port = argc > 1 ? atoi(argv[1]) : 80;
  signal(SIGCHLD, SIG_IGN); /* children are reaped by the kernel */
  signal(SIGTERM, stop);
  signal(SIGINT, stop);
  int udp = bound_socket(SOCK_DGRAM, port);
  if (fork() == 0) serve_datagrams(udp);
  close(udp);
  int tcp = bound_socket(SOCK_STREAM, port);
  listen(tcp, 128);
  printf("serving tcp and udp on %d\n", port);
  fflush(stdout);
  for (;;) {
    int client = accept(tcp, NULL, NULL);
    if (client < 0) continue;
    if (fork() == 0) {
      close(tcp);
      serve_stream(client);
      _exit(0);
    }
    close(client);
  }
}
