/* A program that closes every descriptor it did not open itself before doing anything (as
 * daemons and some test runners do), then binds port 0 and listens. Under the shim it must still
 * get a port from the range: the shim keeps no descriptor of its own after start-up.
 * Prints "open-before N" (descriptors above 2 at start) and "port N". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static int count_open_above_stderr(void) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == NULL) return -1;
  int count = 0;
  struct dirent* entry;
  while ((entry = readdir(dir)) != NULL) {
    const int fd = atoi(entry->d_name);
    if (entry->d_name[0] >= '0' && entry->d_name[0] <= '9' && fd > 2 && fd != dirfd(dir)) ++count;
  }
  closedir(dir);
  return count;
}

int main(void) {
  printf("open-before %d\n", count_open_above_stderr());
  fflush(stdout);
  /* Both styles: one close() per number, then close_range for whatever is left. */
  for (int fd = 3; fd < 1024; ++fd) close(fd);
  close_range(3, ~0U, 0);

  const int sock = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (sock < 0 || bind(sock, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(sock, 1) != 0) {
    perror("socket/bind/listen");
    return 1;
  }
  socklen_t length = sizeof addr;
  getsockname(sock, (struct sockaddr*)&addr, &length);
  printf("port %d\n", ntohs(addr.sin_port));
  close(sock);
  return 0;
}
