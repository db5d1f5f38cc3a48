// firmware_sim: the controller firmware as a process. Real time: a fixed-rate loop on
// CLOCK_MONOTONIC (absolute deadlines, clock_nanosleep), which drains the socket, runs one cycle and
// sends one datagram per period. Lockstep: block on the socket, run a cycle per PLANT_TICK, answer.
// Exit status: 0 after SIGTERM/SIGINT/--duration-s, 2 on bad options, 1 on a socket error.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

#include "firmware.hpp"
#include "hil_wire.h"
#include "options.hpp"
#include "timing.hpp"

using namespace safetwin::firmware;

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

sockaddr_in parse_addr(const std::string& s, const char* what) {
  const auto colon = s.rfind(':');
  sockaddr_in a{};
  a.sin_family = AF_INET;
  if (colon == std::string::npos || inet_pton(AF_INET, s.substr(0, colon).c_str(), &a.sin_addr) != 1)
    throw std::invalid_argument(std::string(what) + " = '" + s + "': expected IPv4 host:port");
  const int port = std::atoi(s.c_str() + colon + 1);
  if (port <= 0 || port > 65535) throw std::invalid_argument(std::string(what) + " = '" + s + "': port out of range");
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  return a;
}

double now_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

timespec to_timespec(double t) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(t);
  ts.tv_nsec = static_cast<long>((t - static_cast<double>(ts.tv_sec)) * 1e9);
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec += 1;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}

struct Stats {
  Histogram jitter, cycle_time;
  std::uint64_t deadline_misses = 0, datagrams_in = 0, bad_datagrams = 0, datagrams_out = 0;
};

void write_report(const Options& opt, const Firmware& fw, const Stats& st) {
  std::string j = "{\"mode\": \"" + std::string(opt.lockstep ? "lockstep" : "realtime") +
                  "\", \"rate_hz\": " + std::to_string(opt.rate_hz) + ", \"cycles\": " + std::to_string(fw.cycles()) +
                  ", \"deadline_misses\": " + std::to_string(st.deadline_misses) + ", \"jitter\": " + st.jitter.json() +
                  ", \"cycle_time\": " + st.cycle_time.json() +
                  ", \"datagrams_in\": " + std::to_string(st.datagrams_in) +
                  ", \"bad_datagrams\": " + std::to_string(st.bad_datagrams) +
                  ", \"datagrams_out\": " + std::to_string(st.datagrams_out) +
                  ", \"e2e_errors\": " + std::to_string(fw.e2e_errors()) +
                  ", \"fw_mode\": " + std::to_string(static_cast<int>(fw.mode())) +
                  ", \"fault_flags\": " + std::to_string(fw.fault_flags()) + "}\n";
  if (opt.report.empty()) {
    std::cerr << j;
  } else {
    std::ofstream(opt.report) << j;
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  try {
    opt = parse_options(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "firmware_sim: error: " << e.what() << "\n";
    return 2;
  }
  if (opt.help) {
    std::cout << usage();
    return 0;
  }
  sockaddr_in listen{}, peer{};
  try {
    listen = parse_addr(opt.listen, "--listen");
    peer = parse_addr(opt.peer, "--peer");
  } catch (const std::exception& e) {
    std::cerr << "firmware_sim: error: " << e.what() << "\n";
    return 2;
  }
  const int sock = socket(AF_INET, SOCK_DGRAM, 0);
  if (sock < 0 || bind(sock, reinterpret_cast<sockaddr*>(&listen), sizeof listen) != 0) {
    std::cerr << "firmware_sim: cannot bind " << opt.listen << ": " << std::strerror(errno) << "\n";
    return 1;
  }
  const int rcvbuf = 1 << 20;
  setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);

  auto fw = std::make_unique<Firmware>(opt.firmware);
  auto stats = std::make_unique<Stats>();
  std::uint8_t rx[HIL_WIRE_MAX_BYTES + 16];
  std::uint8_t tx[HIL_WIRE_MAX_BYTES];
  const double start = now_s();
  auto send_outputs = [&]() {
    const std::size_t n = fw->output_datagram(tx, sizeof tx);
    if (n > 0 && sendto(sock, tx, n, 0, reinterpret_cast<sockaddr*>(&peer), sizeof peer) == static_cast<ssize_t>(n))
      ++stats->datagrams_out;
  };
  auto take = [&](ssize_t got) {
    ++stats->datagrams_in;
    if (fw->on_datagram(rx, static_cast<std::size_t>(got)) != safetwin::Status::ok) ++stats->bad_datagrams;
  };
  std::fprintf(stderr, "firmware_sim: %s, listening on %s, peer %s\n", opt.lockstep ? "lockstep" : "real time",
               opt.listen.c_str(), opt.peer.c_str());

  if (opt.lockstep) {
    timeval tv{0, 100000};  // wake every 100 ms to notice SIGTERM
    setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (!g_stop && (opt.duration_s <= 0.0 || now_s() - start < opt.duration_s)) {
      const ssize_t got = recv(sock, rx, sizeof rx, 0);
      if (got < 0) continue;
      const double t0 = now_s();
      take(got);
      const bool answer = fw->lockstep_step();
      const double t1 = now_s();
      if (answer) {
        stats->cycle_time.add(t1 - t0);
        fw->report_timing(t1 - t0, 0.0, false);
        send_outputs();
      }
    }
  } else {
    const double period = 1.0 / opt.rate_hz;
    double deadline = now_s();
    while (!g_stop && (opt.duration_s <= 0.0 || now_s() - start < opt.duration_s)) {
      deadline += period;
      const timespec ts = to_timespec(deadline);
      while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR && !g_stop) {}
      const double wake = now_s();
      const double jitter = wake - deadline;
      for (;;) {  // drain everything that arrived during the period
        const ssize_t got = recv(sock, rx, sizeof rx, MSG_DONTWAIT);
        if (got < 0) break;
        take(got);
      }
      const safetwin::Status st = fw->cycle(period);
      (void)st;
      send_outputs();
      const double done = now_s();
      const bool missed = done > deadline + period;
      stats->jitter.add(jitter);
      stats->cycle_time.add(done - wake);
      if (missed) {
        ++stats->deadline_misses;
        deadline = done;  // re-anchor rather than run a burst of late cycles
      }
      fw->report_timing(done - wake, jitter, missed);
    }
  }
  write_report(opt, *fw, *stats);
  close(sock);
  return 0;
}
