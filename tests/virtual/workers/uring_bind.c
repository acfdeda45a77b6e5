/* Binds 127.0.0.1:PORT through io_uring (IORING_OP_BIND, Linux 6.11+): no bind() system call, so
 * neither the shim nor a seccomp filter sees it; only a kernel hook can. Then listens, prints
 * "listening", answers one connection with "uring" and exits.
 * Exit 77 when the kernel has no IORING_OP_BIND (the test skips), 1 on any other failure.
 * Raw syscalls, no liburing (Debian 12's headers predate the opcode, defined here). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { kOpBind = 56 }; /* IORING_OP_BIND in <linux/io_uring.h> since 6.11 */

static int uring_bind(int fd, const struct sockaddr_in *address) {
  struct io_uring_params params;
  memset(&params, 0, sizeof params);
  const int ring = (int)syscall(__NR_io_uring_setup, 1, &params);
  if (ring < 0) return -errno;
  const size_t sq_size = params.sq_off.array + params.sq_entries * sizeof(unsigned);
  const size_t cq_size = params.cq_off.cqes + params.cq_entries * sizeof(struct io_uring_cqe);
  char *sq = mmap(NULL, sq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQ_RING);
  char *cq = mmap(NULL, cq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_CQ_RING);
  struct io_uring_sqe *sqes = mmap(NULL, params.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
                                   MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES);
  if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) return -errno;
  struct io_uring_sqe *sqe = &sqes[0];
  memset(sqe, 0, sizeof *sqe);
  sqe->opcode = kOpBind;
  sqe->fd = fd;
  sqe->addr = (unsigned long)address;
  sqe->addr2 = sizeof *address; /* the address length, as io_uring_prep_bind puts it */
  unsigned *tail = (unsigned *)(sq + params.sq_off.tail);
  unsigned *array = (unsigned *)(sq + params.sq_off.array);
  array[*tail & *(unsigned *)(sq + params.sq_off.ring_mask)] = 0;
  __atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
  if (syscall(__NR_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0) return -errno;
  unsigned *head = (unsigned *)(cq + params.cq_off.head);
  struct io_uring_cqe *cqes = (struct io_uring_cqe *)(cq + params.cq_off.cqes);
  const int result = cqes[*head & *(unsigned *)(cq + params.cq_off.ring_mask)].res;
  __atomic_store_n(head, *head + 1, __ATOMIC_RELEASE);
  close(ring);
  return result;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: virtual_uring_bind PORT\n");
    return 2;
  }
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in address;
  memset(&address, 0, sizeof address);
  address.sin_family = AF_INET;
  address.sin_port = htons((unsigned short)atoi(argv[1]));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int bound = uring_bind(fd, &address);
  if (bound == -EINVAL || bound == -EOPNOTSUPP) {
    fprintf(stderr, "virtual_uring_bind: no IORING_OP_BIND here (%s)\n", strerror(-bound));
    return 77;
  }
  if (bound < 0) {
    fprintf(stderr, "virtual_uring_bind: io_uring bind: %s\n", strerror(-bound));
    return 1;
  }
  if (listen(fd, 4) != 0) {
    perror("listen");
    return 1;
  }
  printf("listening\n");
  fflush(stdout);
  const int conn = accept(fd, NULL, NULL);
  if (conn < 0) return 1;
  if (write(conn, "uring", 5) != 5) return 1;
  close(conn);
  return 0;
}
