/* Issue 13's listen-only churn: CYCLES times socket / bind port 0 / listen / close (a server
 * started and stopped without a client, so under portsafe every pick lingers). Prints the
 * nanoseconds per cycle and how many binds failed. Run bare and under `portsafe-run` side by side
 * (listen_churn_ratio.sh); dynamic on purpose, so the shim reaches it.
 *   listen_churn CYCLES */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char** argv) {
  const long cycles = argc > 1 ? atol(argv[1]) : 100000;
  struct sockaddr_in any = {0};
  any.sin_family = AF_INET;
  any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  long failures = 0;
  const long long began = now_ns();
  for (long i = 0; i < cycles; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr*)&any, sizeof any) != 0 || listen(fd, 1) != 0) ++failures;
    if (fd >= 0) close(fd);
  }
  const long long took = now_ns() - began;
  printf("%.1f ns/cycle %ld failures\n", (double)took / (double)cycles, failures);
  return 0;
}
