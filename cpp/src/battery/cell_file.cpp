// The C++ reader of the TOML cell file (cell_file.hpp). It mirrors src/safetwin/cellfile.py check
// for check, in the same order and with the same messages, so that a file refused by one is
// refused by the other naming the same key (tests/test_cell_file_agreement.py).
#include "safetwin/battery/cell_file.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>
#include <utility>
#include <vector>

#if SAFETWIN_HAVE_TOMLPLUSPLUS
#include <toml++/toml.h>
#endif

namespace safetwin::battery {

std::string structure_name(const CellParams& p) {
  std::string s = std::to_string(p.rc_pairs) + (p.rc_pairs == 1 ? " RC pair" : " RC pairs");
  if (p.hysteresis) s += " + hysteresis";
  if (p.r0_charge_ohm || p.r1_charge_ohm || p.r2_charge_ohm || p.r3_charge_ohm) s += " + charge-side resistance";
  if (p.entropic_v_per_k) s += " + entropic dU/dT";
  return s;
}

#if !SAFETWIN_HAVE_TOMLPLUSPLUS

bool cell_file_supported() noexcept { return false; }

CellFile parse_cell_file(std::string_view, const std::string& path) {
  throw CellFileError(path +
                      ": this build has no cell-file reader (toml++ was not found when it was configured: "
                      "apt-get install libtomlplusplus-dev, then rebuild)");
}

CellFile load_cell_file(const std::string& path) { return parse_cell_file({}, path); }

#else

bool cell_file_supported() noexcept { return true; }

namespace {

// A double as Python's repr() prints it (the shortest digits that read back; fixed notation for
// decimal exponents -4..15, at least one digit after the point), so that both loaders' messages agree.
std::string py(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string sci(buf, r.ptr);  // [-]d[.ddd]e[+-]XX
  std::string sign;
  if (sci[0] == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  const auto e = sci.find('e');
  const int exp10 = std::stoi(sci.substr(e + 1));
  std::string digits = sci.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  if (exp10 < -4 || exp10 >= 16) {
    std::string m = digits.substr(0, 1);
    if (digits.size() > 1) m += "." + digits.substr(1);
    const std::string ex = std::to_string(std::abs(exp10));
    return sign + m + "e" + (exp10 < 0 ? "-" : "+") + (ex.size() < 2 ? "0" + ex : ex);
  }
  std::string out;
  if (exp10 < 0) {
    out = "0." + std::string(static_cast<std::size_t>(-exp10 - 1), '0') + digits;
  } else {
    const auto int_len = static_cast<std::size_t>(exp10 + 1);
    if (digits.size() <= int_len)
      out = digits + std::string(int_len - digits.size(), '0') + ".0";
    else
      out = digits.substr(0, int_len) + "." + digits.substr(int_len);
  }
  return sign + out;
}

std::string py_int(std::size_t n) { return std::to_string(n); }

// Python's type names, for "must be a table, got int" and the repr of a wrong value.
std::string type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table: return "dict";
    case toml::node_type::array: return "list";
    case toml::node_type::string: return "str";
    case toml::node_type::integer: return "int";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "bool";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "datetime";
    default: return "none";
  }
}

std::string repr(const toml::node& n) {
  if (const auto* s = n.as_string()) return "'" + s->get() + "'";
  if (const auto* b = n.as_boolean()) return b->get() ? "True" : "False";
  if (const auto* i = n.as_integer()) return std::to_string(i->get());
  if (const auto* f = n.as_floating_point()) return py(f->get());
  return "<" + type_name(n) + ">";
}

bool is_number(const toml::node& n) { return n.is_integer() || n.is_floating_point(); }
double number_of(const toml::node& n) {
  return n.is_integer() ? static_cast<double>(n.as_integer()->get()) : n.as_floating_point()->get();
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// The keys of a table in the order of the file (Python's dicts keep it; toml++'s table is sorted).
std::vector<std::pair<std::string, const toml::node*> > in_file_order(const toml::table& t) {
  std::vector<std::pair<std::string, const toml::node*> > keys;
  std::vector<std::pair<toml::source_position, std::size_t> > pos;
  for (auto&& [k, v] : t) {
    pos.emplace_back(k.source().begin, keys.size());
    keys.emplace_back(std::string(k.str()), &v);
  }
  std::vector<std::pair<std::string, const toml::node*> > out;
  std::stable_sort(pos.begin(), pos.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& p : pos) out.push_back(keys[p.second]);
  return out;
}

struct Section {
  std::string name;
  std::vector<std::string> known;  // sorted, as Python prints them
};

const std::vector<Section>& sections() {
  static const std::vector<Section> s = {
      {"cell", {"capacity_ah", "coulombic_efficiency", "name"}},
      {"ocv", {"entropic_v_per_k", "soc", "voltage_v"}},
      {"resistance", {"arrhenius_k", "exchange_current_a", "r0_charge_ohm", "r0_ohm", "rc_pairs"}},
      {"hysteresis", {"gamma", "m0_v", "m_v"}},
      {"thermal", {"ambient_c", "heat_capacity_j_per_k", "heat_transfer_w_per_k"}},
      {"limits",
       {"charge_current_max_a", "discharge_current_max_a", "temperature_max_c", "temperature_min_c", "voltage_max_v",
        "voltage_min_v"}},
      // written by `safetwin fit`; not part of the model, only its keys are checked
      {"fit",
       {"covariance", "log_scale", "logs", "method", "parameters", "residual_rms_v", "structure", "unidentifiable",
        "values"}},
  };
  return s;
}

bool required(const std::string& name) {
  return name == "cell" || name == "ocv" || name == "resistance" || name == "thermal" || name == "limits";
}

// A tabulated or constant parameter as read: the surface, and the raw table for C = tau / R.
struct Raw {
  bool table = false;
  double constant = 0.0;
  std::vector<double> soc, temp_k, values;
};

class Reader {
 public:
  Reader(std::string path, const toml::table& root) : path_(std::move(path)), root_(root) {}

  [[noreturn]] void fail(const std::string& key, const std::string& reason) const {
    throw CellFileError(path_ + ": " + key + ": " + reason);
  }

  // A section's table (empty when absent and optional), its keys checked against the known ones.
  const toml::table* section(const std::string& name) const {
    const toml::node* n = root_.get(name);
    if (n == nullptr) {
      if (required(name)) fail("[" + name + "]", "missing section");
      return nullptr;
    }
    if (!n->is_table()) fail("[" + name + "]", "must be a table, got " + type_name(*n));
    const auto& known =
        std::find_if(sections().begin(), sections().end(), [&](const Section& s) { return s.name == name; })->known;
    for (const auto& kv : in_file_order(*n->as_table()))
      if (std::find(known.begin(), known.end(), kv.first) == known.end())
        fail(name + "." + kv.first, "unknown key (known: " + join(known) + ")");
    return n->as_table();
  }

  double number(const toml::table* sec, const std::string& section, const std::string& key,
                std::optional<double> def = std::nullopt, std::optional<double> lo = std::nullopt,
                std::optional<double> hi = std::nullopt, bool lo_open = false) const {
    const std::string name = section + "." + key;
    const toml::node* n = sec != nullptr ? sec->get(key) : nullptr;
    if (n == nullptr) {
      if (!def) fail(name, "missing");
      return *def;
    }
    if (!is_number(*n)) fail(name, "must be a number, got " + repr(*n));
    const double v = number_of(*n);
    if (!std::isfinite(v)) fail(name, "must be finite, got " + py(v));
    if (lo && (lo_open ? v <= *lo : v < *lo))
      fail(name, "= " + py(v) + " must be " + (lo_open ? ">" : ">=") + " " + py(*lo));
    if (hi && v > *hi) fail(name, "= " + py(v) + " must be <= " + py(*hi));
    return v;
  }

  std::vector<double> array(const toml::node& value, const std::string& name, std::size_t min_len = 1,
                            bool increasing = false) const {
    const toml::array* a = value.as_array();
    if (a == nullptr) fail(name, "must be an array of numbers");
    for (const auto& x : *a)
      if (!is_number(x)) fail(name, "must be an array of numbers");
    std::vector<double> out;
    for (const auto& x : *a) out.push_back(number_of(x));
    if (out.size() < min_len) fail(name, "has " + py_int(out.size()) + " points, needs >= " + py_int(min_len));
    for (double x : out)
      if (!std::isfinite(x)) fail(name, "must hold finite numbers");
    if (increasing)
      for (std::size_t i = 1; i < out.size(); ++i)
        if (!(out[i] - out[i - 1] > 0.0))
          fail(name,
               "must be strictly increasing ([" + py_int(i) + "] = " + py(out[i]) + " after " + py(out[i - 1]) + ")");
    return out;
  }

  std::pair<ParamSurface, Raw> surface(const toml::node& value, const std::string& name) const {
    Raw raw;
    if (is_number(value)) {
      const double v = number_of(value);
      if (!std::isfinite(v) || !(v > 0.0)) fail(name, "= " + py(v) + " must be finite and > 0");
      raw.constant = v;
      return {ParamSurface::constant(v), raw};
    }
    const toml::table* t = value.as_table();
    if (t == nullptr) fail(name, "must be a number or a table {soc = [...], temperature_c = [...], values = [[...]]}");
    for (const auto& kv : in_file_order(*t))
      if (kv.first != "soc" && kv.first != "temperature_c" && kv.first != "values")
        fail(name + "." + kv.first, "unknown key (known: soc, temperature_c, values)");
    for (const char* k : {"soc", "temperature_c", "values"})
      if (t->get(k) == nullptr) fail(name + "." + k, "missing");
    raw.table = true;
    raw.soc = array(*t->get("soc"), name + ".soc", 1, true);
    const std::vector<double> temp_c = array(*t->get("temperature_c"), name + ".temperature_c", 1, true);
    const toml::array* rows = t->get("values")->as_array();
    if (rows == nullptr || rows->size() != raw.soc.size())
      fail(name + ".values", "must have one row per soc point (" + py_int(raw.soc.size()) + " rows)");
    for (std::size_t i = 0; i < rows->size(); ++i) {
      const std::vector<double> row = array((*rows)[i], name + ".values[" + py_int(i) + "]", temp_c.size());
      if (row.size() != temp_c.size())
        fail(name + ".values", "must be " + py_int(raw.soc.size()) + " x " + py_int(temp_c.size()) + ", got (" +
                                   py_int(raw.soc.size()) + ", " + py_int(row.size()) + ")");
      raw.values.insert(raw.values.end(), row.begin(), row.end());
    }
    const double vmin = *std::min_element(raw.values.begin(), raw.values.end());
    if (!(vmin > 0.0)) fail(name + ".values", "must be > 0 everywhere (min " + py(vmin) + ")");
    for (double c : temp_c) raw.temp_k.push_back(c + kZeroCelsiusK);
    return {ParamSurface::table(raw.soc, raw.temp_k, raw.values, name), raw};
  }

 private:
  std::string path_;
  const toml::table& root_;
};

// C = tau / R as a surface (the core's time constant is R * C of the surfaces).
ParamSurface capacitance(const Reader& rd, const std::string& name, const Raw& r, const Raw& tau) {
  if (!r.table && !tau.table) return ParamSurface::constant(tau.constant / r.constant);
  std::vector<double> c;
  if (r.table && tau.table) {
    if (r.soc != tau.soc || r.temp_k != tau.temp_k)
      rd.fail(name, "a tabulated r_ohm and tau_s must share their soc and temperature_c points");
    for (std::size_t i = 0; i < r.values.size(); ++i) c.push_back(tau.values[i] / r.values[i]);
    return ParamSurface::table(r.soc, r.temp_k, c, name);
  }
  if (r.table) {
    for (double v : r.values) c.push_back(tau.constant / v);
    return ParamSurface::table(r.soc, r.temp_k, c, name);
  }
  for (double v : tau.values) c.push_back(v / r.constant);
  return ParamSurface::table(tau.soc, tau.temp_k, c, name);
}

CellFile parse(const toml::table& data, const std::string& path) {
  const Reader rd(path, data);
  for (const auto& kv : in_file_order(data)) {
    const bool known =
        std::any_of(sections().begin(), sections().end(), [&](const Section& s) { return s.name == kv.first; });
    if (!known)
      rd.fail("[" + kv.first + "]", "unknown section (known: cell, ocv, resistance, hysteresis, thermal, limits, fit)");
  }
  CellFile out;
  CellParams& p = out.params;
  const toml::table* cell = rd.section("cell");
  out.name = std::filesystem::path(path).stem().string();
  if (const toml::node* n = cell->get("name")) {
    if (!n->is_string()) rd.fail("cell.name", "must be a string");
    out.name = n->as_string()->get();
  }
  p.capacity_ah = rd.number(cell, "cell", "capacity_ah", std::nullopt, 0.0, std::nullopt, true);
  p.coulombic_efficiency = rd.number(cell, "cell", "coulombic_efficiency", 1.0, 0.0, 1.0, true);

  const toml::table* ocv = rd.section("ocv");
  for (const char* k : {"soc", "voltage_v"})
    if (ocv->get(k) == nullptr) rd.fail(std::string("ocv.") + k, "missing");
  const std::vector<double> soc = rd.array(*ocv->get("soc"), "ocv.soc", 2, true);
  const std::vector<double> volt = rd.array(*ocv->get("voltage_v"), "ocv.voltage_v", 2);
  if (volt.size() != soc.size())
    rd.fail("ocv.voltage_v", "has " + py_int(volt.size()) + " points, ocv.soc has " + py_int(soc.size()));
  p.ocv = OcvTable(soc, volt);
  if (const toml::node* n = ocv->get("entropic_v_per_k")) {
    const std::vector<double> d = rd.array(*n, "ocv.entropic_v_per_k");
    if (d.size() != soc.size())
      rd.fail("ocv.entropic_v_per_k", "has " + py_int(d.size()) + " points, ocv.soc has " + py_int(soc.size()));
    double amax = 0.0;
    for (double x : d) amax = std::max(amax, std::abs(x));
    if (amax > 0.01) rd.fail("ocv.entropic_v_per_k", "|dU/dT| must be <= 0.01 V/K (max " + py(amax) + ")");
    p.entropic_v_per_k = ParamSurface::table(soc, {kReferenceTempK}, d, "ocv.entropic_v_per_k");
  }

  const toml::table* res = rd.section("resistance");
  if (res->get("r0_ohm") == nullptr) rd.fail("resistance.r0_ohm", "missing");
  p.r0_ohm = rd.surface(*res->get("r0_ohm"), "resistance.r0_ohm").first;
  if (const toml::node* n = res->get("r0_charge_ohm"))
    p.r0_charge_ohm = rd.surface(*n, "resistance.r0_charge_ohm").first;
  p.arrhenius_k = rd.number(res, "resistance", "arrhenius_k", 0.0, 0.0);
  if (const toml::node* n = res->get("exchange_current_a")) {
    p.exchange_current_a = rd.surface(*n, "resistance.exchange_current_a").first;
    const std::vector<double>& v = p.exchange_current_a->values();
    const double vmax = *std::max_element(v.begin(), v.end());
    if (vmax > kMaxExchangeCurrentA)
      rd.fail("resistance.exchange_current_a",
              "must be <= " + py(kMaxExchangeCurrentA) + " A everywhere (max " + py(vmax) + ")");
  }
  const toml::node* pairs_node = res->get("rc_pairs");
  const toml::array* pairs = pairs_node != nullptr ? pairs_node->as_array() : nullptr;
  if (pairs == nullptr || pairs->size() < 1 || pairs->size() > static_cast<std::size_t>(kCellFileMaxRcPairs))
    rd.fail("resistance.rc_pairs",
            "must be an array of 1 to " + std::to_string(kCellFileMaxRcPairs) + " pairs {r_ohm = ..., tau_s = ...}");
  p.rc_pairs = static_cast<int>(pairs->size());
  ParamSurface* r_fields[] = {&p.r1_ohm, &p.r2_ohm, &p.r3_ohm};
  ParamSurface* c_fields[] = {&p.c1_f, &p.c2_f, &p.c3_f};
  std::optional<ParamSurface>* rc_fields[] = {&p.r1_charge_ohm, &p.r2_charge_ohm, &p.r3_charge_ohm};
  for (std::size_t i = 0; i < pairs->size(); ++i) {
    const std::string key = "resistance.rc_pairs[" + py_int(i) + "]";
    const toml::table* pair = (*pairs)[i].as_table();
    if (pair == nullptr) rd.fail(key, "must be a table {r_ohm = ..., tau_s = ...}");
    for (const auto& kv : in_file_order(*pair))
      if (kv.first != "r_ohm" && kv.first != "tau_s" && kv.first != "r_charge_ohm")
        rd.fail(key + "." + kv.first, "unknown key (known: r_ohm, tau_s, r_charge_ohm)");
    for (const char* k : {"r_ohm", "tau_s"})
      if (pair->get(k) == nullptr) rd.fail(key + "." + k, "missing");
    auto [r_surface, r_raw] = rd.surface(*pair->get("r_ohm"), key + ".r_ohm");
    const Raw tau_raw = rd.surface(*pair->get("tau_s"), key + ".tau_s").second;
    *r_fields[i] = std::move(r_surface);
    *c_fields[i] = capacitance(rd, key + ".tau_s", r_raw, tau_raw);
    if (const toml::node* n = pair->get("r_charge_ohm")) *rc_fields[i] = rd.surface(*n, key + ".r_charge_ohm").first;
  }

  (void)rd.section("fit");  // known keys only; the model does not use it
  const toml::table* hyst = rd.section("hysteresis");
  if (hyst != nullptr && !hyst->empty()) {  // an empty [hysteresis] is no hysteresis, as in Python
    HysteresisParams h;
    h.gamma = rd.number(hyst, "hysteresis", "gamma", std::nullopt, 0.0);
    h.m_v = rd.number(hyst, "hysteresis", "m_v", std::nullopt, 0.0, 1.0);
    h.m0_v = rd.number(hyst, "hysteresis", "m0_v", 0.0, 0.0, 1.0);
    p.hysteresis = h;
  }

  const toml::table* th = rd.section("thermal");
  p.heat_capacity_j_per_k = rd.number(th, "thermal", "heat_capacity_j_per_k", std::nullopt, 0.0, std::nullopt, true);
  p.heat_transfer_w_per_k = rd.number(th, "thermal", "heat_transfer_w_per_k", std::nullopt, 0.0);
  p.ambient_temp_k =
      rd.number(th, "thermal", "ambient_c", std::nullopt, -kZeroCelsiusK, std::nullopt, true) + kZeroCelsiusK;

  const toml::table* lim = rd.section("limits");
  CellLimits& lm = p.limits;
  lm.voltage_min_v = rd.number(lim, "limits", "voltage_min_v", std::nullopt, 0.0);
  lm.voltage_max_v = rd.number(lim, "limits", "voltage_max_v", std::nullopt, lm.voltage_min_v, std::nullopt, true);
  lm.temp_min_k =
      rd.number(lim, "limits", "temperature_min_c", -20.0, -kZeroCelsiusK, std::nullopt, true) + kZeroCelsiusK;
  lm.temp_max_k =
      rd.number(lim, "limits", "temperature_max_c", std::nullopt, lm.temp_min_k - kZeroCelsiusK, std::nullopt, true) +
      kZeroCelsiusK;
  lm.charge_current_max_a = rd.number(lim, "limits", "charge_current_max_a", std::nullopt, 0.0);
  lm.discharge_current_max_a = rd.number(lim, "limits", "discharge_current_max_a", std::nullopt, 0.0);
  try {
    p.validate();  // the core's own checks (the same as at construction of any consumer)
  } catch (const std::invalid_argument& e) { throw CellFileError(path + ": " + e.what()); }
  return out;
}

}  // namespace

// toml++ 3.3.0 (Debian's libtomlplusplus-dev) reaches TOML_UNREACHABLE, undefined behaviour in a
// release build, on some non-ASCII characters after a value: "ambient_c = 25°" (U+00B0) or
// "capacity_ah = 1é" (found by fuzz/fuzz_cell_file.cpp at its 2 764th input; upstream
// marzer/tomlplusplus issues 190 and 295, fixed after 3.3.0 by pull request 305). Until the
// reader is built with a fixed toml++, it takes ASCII text only, refused before toml++ sees it.
static void require_ascii(std::string_view text, const std::string& path) {
  std::size_t line = 1, column = 1;
  for (const char ch : text) {
    const auto byte = static_cast<unsigned char>(ch);
    if (byte >= 0x80) {
      static const char* hex = "0123456789ABCDEF";
      throw CellFileError(path + ": not valid for the C++ reader: a non-ASCII byte 0x" + hex[byte >> 4] +
                          hex[byte & 0xF] + " at line " + std::to_string(line) + ", column " + std::to_string(column) +
                          " (the C++ reader takes ASCII text only: toml++ 3.3.0 " +
                          "mis-parses some non-ASCII characters)");
    }
    if (ch == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
}

CellFile parse_cell_file(std::string_view text, const std::string& path) {
  require_ascii(text, path);
  toml::table data;
  try {
    data = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    throw CellFileError(path + ": not valid TOML: " + std::string(e.description()) + " (at line " +
                        std::to_string(b.line) + ", column " + std::to_string(b.column) + ")");
  }
  try {
    return parse(data, path);
  } catch (const CellFileError&) {
    throw;
  } catch (const std::invalid_argument& e) {  // a table the core refused (OcvTable, ParamSurface)
    throw CellFileError(path + ": " + e.what());
  }
}

CellFile load_cell_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CellFileError(path + ": no such file");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_cell_file(text.str(), path);
}

#endif

}  // namespace safetwin::battery
