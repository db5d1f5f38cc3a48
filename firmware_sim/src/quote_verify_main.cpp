// quote_verify: the firmware's quote verifier driven line by line over stdin, for the agreement
// tests against the Python verifier (tests/test_quote_verifier_agreement.py), the benchmark
// (benchmarks/bench_quote_verify.py) and by hand. One command per line, bytes in hex; one answer
// line each; "-" stands for no bytes. A bad line ends the run with exit status 2 and one line naming what was wrong.
//
//   enroll NODE AK_PUBLIC PCR_MASK GOLDEN_VALUES [FIRMWARE_VERSION]  -> ok
//   enroll_child NODE AK_PUBLIC PCR_MASK GOLDEN_VALUES PARENT_QN [FIRMWARE_VERSION]  -> ok
//                                          (an AK under PARENT_QN, e.g. the EK's: tpm2_createak)
//   nonce NODE NONCE NOW_MS                                          -> ok
//   verify NODE ATTEST SIGNATURE NOW_MS                              -> CHECK REASON CLOCK_MS
//   reenroll NODE                                                    -> ok
//   bench NODE NONCE ATTEST SIGNATURE COUNT    -> median_ns worst_ns mean_ns cpu_median_ns cpu_worst_ns cpu_mean_ns
//                                                 (wall clock, and this thread's CPU time: the
//                                                 latter is what a shared, loaded machine cannot inflate)
//   nonces SEED COUNT                                                -> COUNT lines of 32-byte nonces
// The round on the link (attest_isotp.hpp): the firmware's side of one challenge and its answer.
//   seed SEED                                  -> ok  (the nonce DRBG from SEED; default: the OS)
//   challenge NODE NOW_MS                      -> NONCE  (issued, and the node's receiver opened
//                                                 until NOW_MS + the round's lifetime)
//   frame NODE CAN_DATA NOW_MS                 -> EVENT [FC_DATA | CHECK REASON CLOCK_MS]
//                                                 (a complete answer is verified at once; a
//                                                 failed one leaves the round open until its deadline)
//   expire NODE NOW_MS                         -> timeout | open | closed
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "attest_isotp.hpp"
#include "attest_nonce.hpp"
#include "quote_verifier.hpp"

using safetwin::Status;
using namespace safetwin::firmware;

namespace {

std::vector<std::uint8_t> hex(const std::string& field, const std::string& s) {
  if (s == "-") return {};  // no bytes at all
  if (s.size() % 2 != 0)
    throw std::invalid_argument(field + ": odd number of hex digits (" + std::to_string(s.size()) + ")");
  std::vector<std::uint8_t> out(s.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::size_t used = 0;
    const std::string byte = s.substr(2 * i, 2);
    unsigned long v = 0;
    try {
      v = std::stoul(byte, &used, 16);
    } catch (const std::exception&) { used = 0; }
    if (used != 2) throw std::invalid_argument(field + ": '" + byte + "' is not a hex byte");
    out[i] = static_cast<std::uint8_t>(v);
  }
  return out;
}

std::uint64_t number(const std::string& field, const std::string& s) {
  std::size_t used = 0;
  std::uint64_t v = 0;
  try {
    v = std::stoull(s, &used, 0);
  } catch (const std::exception&) { used = 0; }
  if (s.empty() || used != s.size() || s[0] == '-')
    throw std::invalid_argument(field + " = '" + s + "': not an unsigned integer");
  return v;
}

std::string to_hex(const std::uint8_t* d, std::size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[d[i] >> 4];
    out += digits[d[i] & 15];
  }
  return out;
}

QuoteVerifier::Nonce to_nonce(const std::string& s) {
  const auto b = hex("NONCE", s);
  if (b.size() != QuoteVerifier::kNonceBytes)
    throw std::invalid_argument("NONCE: " + std::to_string(b.size()) + " bytes, expected 32");
  QuoteVerifier::Nonce n{};
  std::copy(b.begin(), b.end(), n.begin());
  return n;
}

void expect_ok(Status st, const char* what) {
  if (st != Status::ok) throw std::invalid_argument(std::string(what) + ": " + safetwin::to_string(st));
}

}  // namespace

int main() {
  const QuoteVerifierConfig config{};
  QuoteVerifier verifier{config};
  NonceSource os_nonces;
  std::unique_ptr<NonceSource> seeded;
  std::array<IsoTpReceiver, QuoteVerifier::kMaxNodes> receivers{};
  const auto receiver = [&](std::uint64_t node) -> IsoTpReceiver& {
    if (node >= receivers.size()) throw std::invalid_argument("NODE = " + std::to_string(node) + ": must be < 8");
    return receivers[node];
  };
  std::string line;
  std::size_t line_no = 0;
  try {
    while (std::getline(std::cin, line)) {
      ++line_no;
      std::istringstream in(line);
      std::vector<std::string> w;
      for (std::string t; in >> t;) w.push_back(t);
      if (w.empty()) continue;
      const auto need = [&](std::size_t lo, std::size_t hi) {
        if (w.size() < lo || w.size() > hi)
          throw std::invalid_argument(w[0] + ": " + std::to_string(w.size() - 1) + " arguments, expected " +
                                      std::to_string(lo - 1) + (hi > lo ? ".." + std::to_string(hi - 1) : ""));
      };
      const std::string& cmd = w[0];
      if (cmd == "enroll" || cmd == "enroll_child") {
        const bool child = cmd == "enroll_child";
        need(child ? 6 : 5, child ? 7 : 6);
        const auto ak = hex("AK_PUBLIC", w[2]);
        const auto golden = hex("GOLDEN_VALUES", w[4]);
        const auto mask = static_cast<std::uint32_t>(number("PCR_MASK", w[3]));
        std::size_t n_pcrs = 0;
        for (int i = 0; i < 32; ++i) n_pcrs += (mask >> i) & 1u;
        if (golden.size() != 32 * n_pcrs)
          throw std::invalid_argument("GOLDEN_VALUES: " + std::to_string(golden.size()) +
                                      " bytes, expected 32 per PCR");
        const auto parent = child ? hex("PARENT_QN", w[5]) : std::vector<std::uint8_t>{};
        const std::size_t fw_at = child ? 6 : 5;
        const bool fw = w.size() == fw_at + 1;
        verifier.enroll(number("NODE", w[1]), ak.data(), ak.size(), mask, golden.data(), fw,
                        fw ? number("FIRMWARE_VERSION", w[fw_at]) : 0, tpm::kRhEndorsement,
                        child ? parent.data() : nullptr, parent.size());
        std::cout << "ok\n";
      } else if (cmd == "nonce") {
        need(4, 4);
        expect_ok(verifier.expect_nonce(number("NODE", w[1]), to_nonce(w[2]), number("NOW_MS", w[3])), "nonce");
        std::cout << "ok\n";
      } else if (cmd == "reenroll") {
        need(2, 2);
        expect_ok(verifier.reenroll(number("NODE", w[1])), "reenroll");
        std::cout << "ok\n";
      } else if (cmd == "verify") {
        need(5, 5);
        const auto attest = hex("ATTEST", w[2]);
        const auto sig = hex("SIGNATURE", w[3]);
        QuoteResult r;
        expect_ok(verifier.verify(number("NODE", w[1]), attest.data(), attest.size(), sig.data(), sig.size(),
                                  number("NOW_MS", w[4]), r),
                  "verify");
        std::cout << to_string(r.check) << ' ' << to_string(r.reason) << ' ' << r.clock_ms << '\n';
      } else if (cmd == "bench") {
        need(6, 6);
        const std::size_t node = number("NODE", w[1]);
        const auto nonce = to_nonce(w[2]);
        const auto attest = hex("ATTEST", w[3]);
        const auto sig = hex("SIGNATURE", w[4]);
        const std::size_t count = number("COUNT", w[5]);
        if (count == 0) throw std::invalid_argument("COUNT = 0: must be > 0");
        std::vector<double> ns(count), cpu(count);
        const auto thread_ns = [] {
          timespec ts{};
          clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
          return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
        };
        for (std::size_t i = 0; i < count; ++i) {
          expect_ok(verifier.expect_nonce(node, nonce, 0), "nonce");
          QuoteResult r;
          const double c0 = thread_ns();
          const auto t0 = std::chrono::steady_clock::now();
          const Status st = verifier.verify(node, attest.data(), attest.size(), sig.data(), sig.size(), 0, r);
          const auto t1 = std::chrono::steady_clock::now();
          cpu[i] = thread_ns() - c0;
          expect_ok(st, "verify");
          if (r.check != QuoteCheck::ok)
            throw std::invalid_argument(std::string("bench: the quote does not pass (") + to_string(r.check) + ")");
          ns[i] = std::chrono::duration<double, std::nano>(t1 - t0).count();
        }
        for (auto* v : {&ns, &cpu}) {
          double sum = 0;
          for (double x : *v) sum += x;
          const double worst = *std::max_element(v->begin(), v->end());
          std::nth_element(v->begin(), v->begin() + static_cast<std::ptrdiff_t>(count / 2), v->end());
          std::cout << (*v)[count / 2] << ' ' << worst << ' ' << sum / static_cast<double>(count)
                    << (v == &ns ? ' ' : '\n');
        }
      } else if (cmd == "nonces") {
        need(3, 3);
        NonceSource src(number("SEED", w[1]));
        const std::size_t count = number("COUNT", w[2]);
        for (std::size_t i = 0; i < count; ++i) {
          std::uint8_t n[32];
          expect_ok(src.generate(n, sizeof n), "nonces");
          std::cout << to_hex(n, sizeof n) << '\n';
        }
      } else if (cmd == "seed") {
        need(2, 2);
        seeded = std::make_unique<NonceSource>(number("SEED", w[1]));
        std::cout << "ok\n";
      } else if (cmd == "challenge") {
        need(3, 3);
        const std::uint64_t node = number("NODE", w[1]), now = number("NOW_MS", w[2]);
        IsoTpReceiver& rx = receiver(node);
        QuoteVerifier::Nonce n{};
        expect_ok((seeded ? *seeded : os_nonces).generate(n.data(), n.size()), "challenge");
        expect_ok(verifier.expect_nonce(node, n, now), "challenge");
        rx.open(now + config.nonce_lifetime_ms);
        std::cout << to_hex(n.data(), n.size()) << '\n';
      } else if (cmd == "frame") {
        need(4, 4);
        const std::uint64_t node = number("NODE", w[1]), now = number("NOW_MS", w[3]);
        const auto data = hex("CAN_DATA", w[2]);
        if (data.size() > 8)
          throw std::invalid_argument("CAN_DATA: " + std::to_string(data.size()) + " bytes, at most 8");
        IsoTpReceiver& rx = receiver(node);
        const IsoTpEvent e = rx.on_frame(data.data(), static_cast<std::uint8_t>(data.size()), now);
        std::cout << to_string(e);
        if (e == IsoTpEvent::flow_control || e == IsoTpEvent::overflow) std::cout << ' ' << to_hex(rx.fc().data(), 8);
        if (e == IsoTpEvent::complete) {
          const std::uint8_t *attest = nullptr, *sig = nullptr;
          std::size_t attest_size = 0, sig_size = 0;
          QuoteResult r;  // an answer whose sizes do not add up is malformed
          if (split_quote(rx.message(), rx.message_size(), attest, attest_size, sig, sig_size))
            expect_ok(verifier.verify(node, attest, attest_size, sig, sig_size, now, r), "verify");
          if (r.reason == AttestReason::pass)
            rx.close();
          else
            rx.rearm();  // the round stays open for the honest answer
          std::cout << ' ' << to_string(r.check) << ' ' << to_string(r.reason) << ' ' << r.clock_ms;
        }
        std::cout << '\n';
      } else if (cmd == "expire") {
        need(3, 3);
        IsoTpReceiver& rx = receiver(number("NODE", w[1]));
        const bool timed_out = rx.expired(number("NOW_MS", w[2]));
        std::cout << (timed_out ? "timeout" : rx.is_open() ? "open" : "closed") << '\n';
      } else {
        throw std::invalid_argument("'" + cmd +
                                    "': unknown command (enroll, nonce, verify, reenroll, bench, nonces, "
                                    "seed, challenge, frame, expire)");
      }
      std::cout.flush();
    }
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << "quote_verify: line " << line_no << ": " << e.what() << '\n';
    return 2;
  }
  return 0;
}
