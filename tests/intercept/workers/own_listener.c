/* A program that runs its own seccomp listener, as runc, podman or another sandbox does: it installs
 * a filter with SECCOMP_FILTER_FLAG_NEW_LISTENER (notifying a syscall it never makes), prints
 * "listener ok" or "listener ERRNO_NAME", then binds TCP port 0 on loopback and prints
 * "bind PORT" (or "bind ERRNO_NAME"). Linked -static, so only the seccomp tier sees its bind.
 * Inside a seccomp job the kernel refuses a second listener in one process tree (EBUSY): the
 * program must learn that at once and its binds must still be served. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char* errno_name(int number) {
  const char* name = strerrorname_np(number);
  return name ? name : "unknown";
}

/* Notifies getpgid (never called here), allows everything else. */
static int install_listener(void) {
  struct sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getpgid, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog program = {(unsigned short)(sizeof code / sizeof code[0]), code};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  const long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &program);
  if (fd < 0) return -1;
  close((int)fd);
  return 0;
}

int main(void) {
  if (install_listener() == 0) {
    printf("listener ok\n");
  } else {
    printf("listener %s\n", errno_name(errno));
  }
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof addr;
  if (fd < 0 || bind(fd, (struct sockaddr*)&addr, sizeof addr) != 0 ||
      getsockname(fd, (struct sockaddr*)&addr, &length) != 0) {
    printf("bind %s\n", errno_name(errno));
    return 1;
  }
  printf("bind %d\n", ntohs(addr.sin_port));
  close(fd);
  return 0;
}
