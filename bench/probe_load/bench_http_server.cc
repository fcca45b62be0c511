// bench_http_server PORT COUNT_FILE: answers every HTTP request on
// 0.0.0.0:PORT (so on every 127.x.y.z) with "200 ok" and closes; writes the
// number of requests served to COUNT_FILE every 100 ms. One thread, epoll.
// Used only by bench/probe_load/run.py.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>

namespace {

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

constexpr char kResponse[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: "
    "close\r\n\r\nok\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s PORT COUNT_FILE\n", argv[0]);
    return 2;
  }
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);
  int port = std::atoi(argv[1]);
  std::string count_file = argv[2];

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(lfd, 4096) != 0) {
    std::perror("bind/listen");
    return 1;
  }
  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);

  std::unordered_map<int, std::string> pending;  // fd -> bytes of request so far
  unsigned long long served = 0;
  auto last_write = std::chrono::steady_clock::now();
  epoll_event events[256];
  while (!g_stop) {
    int n = epoll_wait(ep, events, 256, 100);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == lfd) {
        for (;;) {
          int c = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;
          epoll_event cev{};
          cev.events = EPOLLIN | EPOLLRDHUP;
          cev.data.fd = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
          pending[c];
        }
        continue;
      }
      char buf[2048];
      ssize_t r = read(fd, buf, sizeof buf);
      if (r > 0) {
        std::string& req = pending[fd];
        req.append(buf, static_cast<size_t>(r));
        if (req.find("\r\n\r\n") == std::string::npos && req.size() < 16384) continue;
        ssize_t w = write(fd, kResponse, sizeof kResponse - 1);
        (void)w;
        ++served;
      }
      epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
      pending.erase(fd);
      close(fd);
    }
    auto now = std::chrono::steady_clock::now();
    if (now - last_write > std::chrono::milliseconds(100)) {
      last_write = now;
      std::string tmp = count_file + ".tmp";
      if (FILE* f = std::fopen(tmp.c_str(), "w")) {
        std::fprintf(f, "%llu\n", served);
        std::fclose(f);
        std::rename(tmp.c_str(), count_file.c_str());
      }
    }
  }
  return 0;
}
