#include "portsafe/fd_passing.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

namespace portsafe {

int send_with_fds(int socket_fd, const uint8_t* data, size_t size, const int* fds, size_t fd_count) noexcept {
  if (fd_count > kMaxPassedFds) return EINVAL;
  size_t sent = 0;
  while (sent < size) {
    struct iovec iov {};
    iov.iov_base = const_cast<uint8_t*>(data + sent);
    iov.iov_len = size - sent;
    struct msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxPassedFds)];
    if (sent == 0 && fd_count > 0) {
      std::memset(control, 0, sizeof control);
      msg.msg_control = control;
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * fd_count);
      struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
      cmsg->cmsg_level = SOL_SOCKET;
      cmsg->cmsg_type = SCM_RIGHTS;
      cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fd_count);
      std::memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * fd_count);
    }
    const ssize_t n = ::sendmsg(socket_fd, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    sent += static_cast<size_t>(n);
  }
  return 0;
}

int receive_exact(int socket_fd, uint8_t* data, size_t size, std::vector<UniqueFd>* fds_out) {
  size_t received = 0;
  while (received < size) {
    struct iovec iov {};
    iov.iov_base = data + received;
    iov.iov_len = size - received;
    struct msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxPassedFds)];
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(socket_fd, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    for (struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg != nullptr; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
      if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
      const size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof fd);
        if (fds_out != nullptr) {
          fds_out->emplace_back(fd);
        } else {
          ::close(fd);
        }
      }
    }
    if (n == 0) return -1;
    received += static_cast<size_t>(n);
  }
  return 0;
}

}  // namespace portsafe
