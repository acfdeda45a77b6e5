/* One job of the scale run (scale_run.py): waits until GO exists (so every job holds its ports at
 * the same time), binds and listens on each held port named in PORTSAFE_PORT_P0..P7 (the shim
 * sets SO_REUSEADDR for the job's own held ports), then makes PICKS picks: bind 0 / read the
 * number / close / bind that number again without SO_REUSEADDR / listen / close. Prints
 * "collisions N held_failures N picks N low P high P" (the lowest and highest port picked).
 *   scale_worker GO PICKS */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int bind_listen(unsigned short port) {
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  if (bind(fd, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(fd, 1) != 0) {
    const int error = errno;
    close(fd);
    errno = error;
    return -1;
  }
  return fd;
}

static unsigned short pick(void) {
  struct sockaddr_in addr = {0};
  socklen_t length = sizeof addr;
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || bind(fd, (struct sockaddr*)&addr, sizeof addr) != 0 ||
      getsockname(fd, (struct sockaddr*)&addr, &length) != 0) {
    if (fd >= 0) close(fd);
    return 0;
  }
  close(fd);
  return ntohs(addr.sin_port);
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  const long picks = atol(argv[2]);
  long low = 65536, high = 0;
  while (access(argv[1], F_OK) != 0) usleep(2000);
  long held_failures = 0, collisions = 0;
  for (int i = 0; i < 8; ++i) {
    char name[32];
    snprintf(name, sizeof name, "PORTSAFE_PORT_P%d", i);
    const char* value = getenv(name);
    const int fd = value ? bind_listen((unsigned short)atoi(value)) : -1;
    if (fd < 0) ++held_failures; else close(fd);
  }
  for (long i = 0; i < picks; ++i) {
    const unsigned short port = pick();
    if (port < low) low = port;
    if (port > high) high = port;
    const int fd = port ? bind_listen(port) : -1;
    if (fd < 0) {
      ++collisions;
      fprintf(stderr, "scale_worker: %s port %u: %s\n", port ? "re-bind of" : "pick", port, strerror(errno));
    } else {
      close(fd);
    }
  }
  printf("collisions %ld held_failures %ld picks %ld low %ld high %ld\n", collisions, held_failures, picks, low, high);
  return 0;
}
