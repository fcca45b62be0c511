// Tests for the YAML config loader: a table of broken configs with their exact
// error text and kind, and positive tests for values, defaults and examples.
#include "config/loader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace maglev {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

IpAddress Addr(const char* s) { return *IpAddress::Parse(s); }

struct BrokenCase {
  const char* name;
  const char* yaml;
  ConfigErrorKind kind;
  const char* error;  // the whole error text, lines joined by '\n'
};

void PrintTo(const BrokenCase& c, std::ostream* os) { *os << c.name; }

// Line numbers in the expected errors count from the `maglev:` line (line 1).
const BrokenCase kBroken[] = {
    // ---------------------------------------------------------------- parse
    {"InvalidYaml",
     R"(maglev:
  backends: [a
)",
     ConfigErrorKind::kParse, "document: line 3: invalid yaml: end of sequence flow not found"},
    {"EmptyDocument", "", ConfigErrorKind::kParse,
     "document: line 1: missing top-level key \"maglev\""},
    {"CommentOnlyDocument", "# nothing here\n", ConfigErrorKind::kParse,
     "document: line 1: missing top-level key \"maglev\""},
    {"StrayTopLevelKey",
     R"(maglev: {}
frontend: {}
)",
     ConfigErrorKind::kParse,
     "document: line 2: unknown top-level key \"frontend\" (want \"maglev\")"},
    {"DocumentIsAList", "- maglev\n", ConfigErrorKind::kParse,
     "document: line 1: expected a map, got a list"},
    {"MaglevIsAList", "maglev: [1]\n", ConfigErrorKind::kParse,
     "maglev: line 1: expected a map, got a list"},
    {"TwoDocuments",
     R"(maglev: {}
---
maglev: {}
)",
     ConfigErrorKind::kParse, "document: line 2: more than one yaml document"},
    {"StrayFlowComma",  // once made yaml-cpp's LoadAll loop forever (found by fuzzing)
     ",\n", ConfigErrorKind::kParse, "document: line 1: invalid yaml: unexpected \",\""},
    {"YamlMessageWithControlCharacter",  // yaml-cpp quotes the bad escape verbatim
     "maglev: \"\\\x01\"\n", ConfigErrorKind::kParse,
     "document: line 1: invalid yaml: unknown escape character: \\x01"},
    {"UnknownSection",
     R"(maglev:
  healthcheckers: {}
)",
     ConfigErrorKind::kParse, "healthcheckers: line 2: unknown key \"healthcheckers\""},
    {"UnknownKeyDeep",
     R"(maglev:
  healthchecks:
    hc:
      type: tcp
      port: 80
      intervall: 2s
)",
     ConfigErrorKind::kParse, "healthchecks.hc.intervall: line 6: unknown key \"intervall\""},
    {"UnknownKeyInPoolBackend",
     R"(maglev:
  frontends:
    web:
      address: 192.0.2.80
      port: 80
      pools:
        - name: primary
          backends:
            nginx0: { weigth: 5 }
)",
     ConfigErrorKind::kParse,
     "frontends.web.pools[0].backends.nginx0.weigth: line 9: unknown key \"weigth\""},
    {"DuplicateKey",
     R"(maglev:
  backends:
    nginx0: { address: 198.51.100.10 }
    nginx0: { address: 198.51.100.11 }
)",
     ConfigErrorKind::kParse, "backends.nginx0: line 4: duplicate key"},
    {"StringForInteger",
     R"(maglev:
  healthchecks:
    hc:
      type: tcp
      port: eighty
)",
     ConfigErrorKind::kParse, "healthchecks.hc.port: line 5: expected an integer, got \"eighty\""},
    {"QuotedInteger",
     R"(maglev:
  healthchecks:
    hc:
      type: tcp
      port: 80
      rise: "2"
)",
     ConfigErrorKind::kParse,
     "healthchecks.hc.rise: line 6: expected an integer, got string \"2\""},
    {"FloatForInteger",
     R"(maglev:
  healthchecker:
    transition-history: 2.5
)",
     ConfigErrorKind::kParse,
     "healthchecker.transition-history: line 3: expected an integer, got \"2.5\""},
    {"ListForMap",
     R"(maglev:
  backends: [nginx0, nginx1]
)",
     ConfigErrorKind::kParse, "backends: line 2: expected a map, got a list"},
    {"MapForList",
     R"(maglev:
  frontends:
    web:
      address: 192.0.2.80
      port: 80
      pools: { name: primary }
)",
     ConfigErrorKind::kParse, "frontends.web.pools: line 6: expected a list, got a map"},
    {"MapForString",
     R"(maglev:
  frontends:
    web:
      description: { text: hi }
)",
     ConfigErrorKind::kParse, "frontends.web.description: line 4: expected a string, got a map"},
    {"NonBoolean",
     R"(maglev:
  backends:
    nginx0:
      address: 198.51.100.10
      enabled: yes
)",
     ConfigErrorKind::kParse,
     "backends.nginx0.enabled: line 5: expected a boolean (true or false), got \"yes\""},
    {"NullBoolean",
     R"(maglev:
  frontends:
    web:
      src-ip-sticky:
)",
     ConfigErrorKind::kParse,
     "frontends.web.src-ip-sticky: line 4: expected a boolean (true or false), got null"},
    {"DurationWithoutUnit",
     R"(maglev:
  healthchecks:
    hc:
      interval: 2
)",
     ConfigErrorKind::kParse, "healthchecks.hc.interval: line 4: invalid duration \"2\""},
    {"NegativeDuration",
     R"(maglev:
  vpp:
    lb:
      sync-interval: -1s
)",
     ConfigErrorKind::kParse, "vpp.lb.sync-interval: line 4: invalid duration \"-1s\""},
    {"BadAddress",
     R"(maglev:
  backends:
    nginx0: { address: 198.51.100.300 }
)",
     ConfigErrorKind::kParse,
     "backends.nginx0.address: line 3: invalid ip address \"198.51.100.300\""},
    {"AddressWithPrefix",
     R"(maglev:
  frontends:
    web: { address: 192.0.2.0/24 }
)",
     ConfigErrorKind::kParse, "frontends.web.address: line 3: invalid ip address \"192.0.2.0/24\""},
    {"BadCheckType",
     R"(maglev:
  healthchecks:
    hc: { type: udp }
)",
     ConfigErrorKind::kParse,
     "healthchecks.hc.type: line 3: invalid check type \"udp\" (want icmp, tcp, http or https)"},
    {"BadProtocol",
     R"(maglev:
  frontends:
    web:
      protocol: sctp
)",
     ConfigErrorKind::kParse,
     "frontends.web.protocol: line 4: invalid protocol \"sctp\" (want tcp, udp or any)"},
    {"PoolIsAScalar",
     R"(maglev:
  frontends:
    web:
      pools:
        - primary
)",
     ConfigErrorKind::kParse, "frontends.web.pools[0]: line 5: expected a map, got \"primary\""},
    {"HugeInteger",
     R"(maglev:
  vpp:
    lb:
      new-flows-table-length: 99999999999999999999
)",
     ConfigErrorKind::kParse,
     "vpp.lb.new-flows-table-length: line 4: integer out of range: \"99999999999999999999\""},
    {"FirstParseErrorWins",  // the later parse error and the semantic one are not reported
     R"(maglev:
  healthchecks:
    hc:
      rise: 0
      type: tcpp
      port: x
)",
     ConfigErrorKind::kParse,
     "healthchecks.hc.type: line 5: invalid check type \"tcpp\" (want icmp, tcp, http or https)"},

    // ------------------------------------------------------------- semantic
    {"UnknownBackend",
     R"(maglev:
  vpp:
    lb:
      ipv4-src-address: 192.0.2.1
  backends:
    nginx0: { address: 198.51.100.10 }
  frontends:
    web:
      address: 192.0.2.80
      port: 80
      pools:
        - name: primary
          backends:
            nginx0: {}
            nginx9: {}
)",
     ConfigErrorKind::kSemantic,
     "frontends.web.pools[0].backends.nginx9: line 15: unknown backend \"nginx9\""},
    {"UnknownHealthcheck",
     R"(maglev:
  healthchecks:
    http-healthz: { type: http, port: 80 }
  backends:
    nginx0: { address: 198.51.100.10, healthcheck: http-healtz }
    nginx1: { address: 198.51.100.11, healthcheck: "" }
)",
     ConfigErrorKind::kSemantic,
     "backends.nginx0.healthcheck: line 5: unknown healthcheck \"http-healtz\"\n"
     "backends.nginx1.healthcheck: line 6: unknown healthcheck \"\""},
    {"SourceAddressFamilies",
     R"(maglev:
  vpp:
    lb:
      ipv4-src-address: 2001:db8::1
      ipv6-src-address: 192.0.2.1
  healthchecks:
    hc:
      type: icmp
      probe-ipv4-src: 2001:db8::2
      probe-ipv6-src: 198.51.100.2
)",
     ConfigErrorKind::kSemantic,
     "vpp.lb.ipv4-src-address: line 4: 2001:db8::1 is not an ipv4 address\n"
     "vpp.lb.ipv6-src-address: line 5: 192.0.2.1 is not an ipv6 address\n"
     "healthchecks.hc.probe-ipv4-src: line 9: 2001:db8::2 is not an ipv4 address\n"
     "healthchecks.hc.probe-ipv6-src: line 10: 198.51.100.2 is not an ipv6 address"},
    {"DuplicateVip",
     R"(maglev:
  frontends:
    a: { address: 192.0.2.80, protocol: tcp, port: 80, pools: [{ name: p, backends: {} }] }
    b: { address: 192.0.2.80, protocol: udp, port: 80, pools: [{ name: p, backends: {} }] }
    c: { address: 192.0.2.80, port: 80, pools: [{ name: p, backends: {} }] }
)",
     ConfigErrorKind::kSemantic,
     "frontends.a.pools[0].backends: line 3: no backends\n"
     "frontends.b.pools[0].backends: line 4: no backends\n"
     // Same line: the walk's findings come before the cross checks'.
     "frontends.c.pools[0].backends: line 5: no backends\n"
     "frontends.c: line 5: vip 192.0.2.80 tcp/80 conflicts with frontend \"a\""},
    {"AllPortVipConflicts",
     R"(maglev:
  vpp:
    lb: { ipv6-src-address: 2001:db8::1 }
  backends:
    b6: { address: 2001:db8:100::10 }
  frontends:
    web:
      address: 2001:db8::80
      port: 443
      pools: [{ name: p, backends: { b6: {} } }]
    all:
      address: 2001:db8::80
      protocol: any
      pools: [{ name: p, backends: { b6: {} } }]
    other:
      address: 2001:db8::81
      protocol: any
      pools: [{ name: p, backends: { b6: {} } }]
)",
     ConfigErrorKind::kSemantic,
     "frontends.all: line 11: vip 2001:db8::80 any conflicts with frontend \"web\""},
    {"MixedFamiliesOnOneVipAddress",
     R"(maglev:
  vpp:
    lb: { ipv4-src-address: 192.0.2.1, ipv6-src-address: 2001:db8::1 }
  backends:
    v4: { address: 198.51.100.10 }
    v6: { address: 2001:db8:100::10 }
  frontends:
    http: { address: 192.0.2.80, port: 80, pools: [{ name: p, backends: { v4: {} } }] }
    dns: { address: 192.0.2.80, protocol: udp, port: 53, pools: [{ name: p, backends: { v4: {} } }] }
    https: { address: 192.0.2.80, port: 443, pools: [{ name: p, backends: { v6: {} } }] }
    other: { address: 192.0.2.81, port: 443, pools: [{ name: p, backends: { v6: {} } }] }
)",
     ConfigErrorKind::kSemantic,
     "frontends.https: line 10: has ipv6 backends but frontend \"http\" on the same address has "
     "ipv4 (one family per vip address)"},
    {"MixedFamiliesAcrossPools",
     R"(maglev:
  vpp:
    lb: { ipv4-src-address: 192.0.2.1, ipv6-src-address: 2001:db8::1 }
  backends:
    v4: { address: 198.51.100.10 }
    v6: { address: 2001:db8:100::10 }
  frontends:
    web:
      address: 192.0.2.80
      port: 80
      pools:
        - name: primary
          backends: { v4: {} }
        - name: fallback
          backends: { v6: {} }
)",
     ConfigErrorKind::kSemantic,
     "frontends.web.pools[1].backends.v6: line 15: backend \"v6\" is ipv6 but backend \"v4\" is "
     "ipv4 (one family per frontend)"},
    {"NoPoolsAndEmptyPools",
     R"(maglev:
  frontends:
    a:
      address: 192.0.2.80
      port: 80
    b:
      address: 192.0.2.81
      port: 80
      pools: []
    c:
      address: 192.0.2.82
      port: 80
      pools:
        - name: only-name
        - name: empty
          backends: {}
)",
     ConfigErrorKind::kSemantic,
     "frontends.a: line 3: no pools\n"
     "frontends.b.pools: line 9: no pools\n"
     "frontends.c.pools[0]: line 14: no backends\n"
     "frontends.c.pools[1].backends: line 16: no backends"},
    {"BackendInTwoPools",
     R"(maglev:
  vpp:
    lb: { ipv4-src-address: 192.0.2.1 }
  backends:
    nginx0: { address: 198.51.100.10 }
  frontends:
    web:
      address: 192.0.2.80
      port: 80
      pools:
        - name: primary
          backends: { nginx0: {} }
        - name: fallback
          backends: { nginx0: {} }
)",
     ConfigErrorKind::kSemantic,
     "frontends.web.pools[1].backends.nginx0: line 14: backend \"nginx0\" already in pool "
     "\"primary\""},
    {"SameAddressTwoBackends",
     R"(maglev:
  vpp:
    lb: { ipv4-src-address: 192.0.2.1 }
  backends:
    a: { address: 198.51.100.10 }
    b: { address: 198.51.100.10 }
  frontends:
    web:
      address: 192.0.2.80
      port: 80
      pools: [{ name: p, backends: { a: {}, b: {} } }]
)",
     ConfigErrorKind::kSemantic,
     "frontends.web.pools[0].backends.b: line 11: backend \"b\" has the same address "
     "(198.51.100.10) as backend \"a\""},
    {"MissingSourceAddresses",
     R"(maglev:
  backends:
    v4: { address: 198.51.100.10 }
    v6: { address: 2001:db8:100::10 }
  frontends:
    web4: { address: 192.0.2.80, port: 80, pools: [{ name: p, backends: { v4: {} } }] }
    web6: { address: 2001:db8::80, port: 80, pools: [{ name: p, backends: { v6: {} } }] }
)",
     ConfigErrorKind::kSemantic,
     "frontends.web4: line 6: has ipv4 backends but vpp.lb.ipv4-src-address is not set\n"
     "frontends.web6: line 7: has ipv6 backends but vpp.lb.ipv6-src-address is not set"},
    {"CheckPorts",
     R"(maglev:
  healthchecks:
    t: { type: tcp }
    h: { type: https }
    i: { type: icmp, port: 7 }
    r: { type: http, port: 65536 }
    z: { type: tcp, port: 0 }
    n: { port: 80 }
)",
     ConfigErrorKind::kSemantic,
     "healthchecks.t: line 3: missing port (required for type tcp)\n"
     "healthchecks.h: line 4: missing port (required for type https)\n"
     "healthchecks.i.port: line 5: not allowed for type icmp\n"
     "healthchecks.r.port: line 6: must be within 1..65535, got 65536\n"
     "healthchecks.z.port: line 7: must be within 1..65535, got 0\n"
     "healthchecks.n: line 8: missing type (icmp, tcp, http or https)"},
    {"SectionsForOtherTypes",
     R"(maglev:
  healthchecks:
    a:
      type: tcp
      port: 80
      http: { path: / }
    b:
      type: http
      port: 80
      tcp: { ssl: true }
    c:
      type: icmp
      http: {}
      tcp: {}
)",
     ConfigErrorKind::kSemantic,
     "healthchecks.c.http: line 13: not allowed for type icmp (only http and https)\n"
     "healthchecks.c.tcp: line 14: not allowed for type icmp (only tcp)"},
    {"RiseFallHistory",
     R"(maglev:
  healthchecker:
    transition-history: 0
  healthchecks:
    hc:
      type: icmp
      rise: 0
      fall: -1
)",
     ConfigErrorKind::kSemantic,
     "healthchecker.transition-history: line 3: must be within 1..1000, got 0\n"
     "healthchecks.hc.rise: line 7: must be within 1..1000, got 0\n"
     "healthchecks.hc.fall: line 8: must be within 1..1000, got -1"},
    {"ZeroIntervals",
     R"(maglev:
  healthchecks:
    hc:
      type: icmp
      interval: 0s
      fast-interval: "0"
      down-interval: 0ms
      timeout: 0
)",
     ConfigErrorKind::kSemantic,
     "healthchecks.hc.interval: line 5: must be > 0\n"
     "healthchecks.hc.fast-interval: line 6: must be > 0\n"
     "healthchecks.hc.down-interval: line 7: must be > 0\n"
     "healthchecks.hc.timeout: line 8: must be > 0"},
    {"FlowTimeout",
     R"(maglev:
  vpp:
    lb:
      flow-timeout: 1500ms
)",
     ConfigErrorKind::kSemantic,
     "vpp.lb.flow-timeout: line 4: must be whole seconds within 1s..120s, got 1.5s"},
    {"FlowTimeoutTooLong",
     R"(maglev:
  vpp:
    lb:
      flow-timeout: 2m1s
)",
     ConfigErrorKind::kSemantic,
     "vpp.lb.flow-timeout: line 4: must be whole seconds within 1s..120s, got 2m1s"},
    {"VppSizesAndSync",
     R"(maglev:
  vpp:
    lb:
      sticky-buckets-per-core: 1000
      new-flows-table-length: 0
      sync-interval: 0s
)",
     ConfigErrorKind::kSemantic,
     "vpp.lb.sticky-buckets-per-core: line 4: must be a power of two within 1..2147483648, got "
     "1000\n"
     "vpp.lb.new-flows-table-length: line 5: must be a power of two within 1..1048576, got 0\n"
     "vpp.lb.sync-interval: line 6: must be > 0"},
    {"StatsInterval",
     R"(maglev:
  vpp:
    lb:
      stats-interval: 50ms
)",
     ConfigErrorKind::kSemantic,
     "vpp.lb.stats-interval: line 4: must be within 100ms..1h, got 50ms"},
    {"TableTooLong",
     R"(maglev:
  vpp:
    lb:
      new-flows-table-length: 2097152
)",
     ConfigErrorKind::kSemantic,
     "vpp.lb.new-flows-table-length: line 4: must be a power of two within 1..1048576, got "
     "2097152"},
    {"StartupDelays",
     R"(maglev:
  vpp:
    lb:
      startup-max-delay: 10s
      startup-min-delay: 1m
)",
     ConfigErrorKind::kSemantic,
     "vpp.lb.startup-min-delay: line 5: must not exceed startup-max-delay (10s), got 1m0s"},
    {"StartupMaxBelowDefaultMin",
     R"(maglev:
  vpp:
    lb:
      startup-max-delay: 2s
)",
     ConfigErrorKind::kSemantic,
     "vpp.lb.startup-max-delay: line 4: must not be less than startup-min-delay (5s), got 2s"},
    {"ResponseCodes",
     R"(maglev:
  healthchecks:
    a: { type: http, port: 80, http: { response-code: 99 } }
    b: { type: http, port: 80, http: { response-code: 400-300 } }
    c: { type: http, port: 80, http: { response-code: 2xx } }
    d: { type: http, port: 80, http: { response-code: 200-600 } }
    e: { type: http, port: 80, http: { response-code: "" } }
)",
     ConfigErrorKind::kSemantic,
     "healthchecks.a.http.response-code: line 3: must be N or N-M with 100 <= N <= M <= 599, got "
     "\"99\"\n"
     "healthchecks.b.http.response-code: line 4: must be N or N-M with 100 <= N <= M <= 599, got "
     "\"400-300\"\n"
     "healthchecks.c.http.response-code: line 5: must be N or N-M with 100 <= N <= M <= 599, got "
     "\"2xx\"\n"
     "healthchecks.d.http.response-code: line 6: must be N or N-M with 100 <= N <= M <= 599, got "
     "\"200-600\"\n"
     "healthchecks.e.http.response-code: line 7: must be N or N-M with 100 <= N <= M <= 599, got "
     "\"\""},
    {"RegexpAndPath",
     R"(maglev:
  healthchecks:
    hc:
      type: https
      port: 443
      http:
        path: healthz
        response-regexp: "ok("
        host: "www.example.net\r\nX-Evil: 1"
)",
     ConfigErrorKind::kSemantic,
     "healthchecks.hc.http.path: line 7: must start with \"/\", got \"healthz\"\n"
     "healthchecks.hc.http.response-regexp: line 8: invalid regexp: missing ): ok(\n"
     "healthchecks.hc.http.host: line 9: must not contain spaces or control characters"},
    {"Weights",
     R"(maglev:
  vpp:
    lb: { ipv4-src-address: 192.0.2.1 }
  backends:
    a: { address: 198.51.100.10 }
    b: { address: 198.51.100.11 }
  frontends:
    web:
      address: 192.0.2.80
      port: 80
      pools:
        - name: p
          backends:
            a: { weight: 101 }
            b: { weight: -1 }
)",
     ConfigErrorKind::kSemantic,
     "frontends.web.pools[0].backends.a.weight: line 14: must be within 0..100, got 101\n"
     "frontends.web.pools[0].backends.b.weight: line 15: must be within 0..100, got -1"},
    {"FrontendPorts",
     R"(maglev:
  vpp:
    lb: { ipv4-src-address: 192.0.2.1 }
  backends:
    a: { address: 198.51.100.10 }
  frontends:
    t: { address: 192.0.2.80, pools: [{ name: p, backends: { a: {} } }] }
    u: { address: 192.0.2.81, protocol: udp, port: 70000, pools: [{ name: p, backends: { a: {} } }] }
    x: { address: 192.0.2.82, protocol: any, port: 80, pools: [{ name: p, backends: { a: {} } }] }
    z: { address: 192.0.2.83, protocol: tcp, port: 0, pools: [{ name: p, backends: { a: {} } }] }
)",
     ConfigErrorKind::kSemantic,
     "frontends.t: line 7: missing port (required for protocol tcp)\n"
     "frontends.u.port: line 8: must be within 1..65535 for protocol udp, got 70000\n"
     "frontends.x.port: line 9: must be 0 for protocol any, got 80\n"
     "frontends.z.port: line 10: must be within 1..65535 for protocol tcp, got 0"},
    {"NamesAndMissingKeys",
     R"(maglev:
  healthchecks:
    "": { type: icmp }
  backends:
    "a b": { address: 198.51.100.10 }
    noaddr: {}
    zero: { address: 0.0.0.0 }
  frontends:
    web:
      port: 80
      pools:
        - backends: { zero: {} }
        - name: ""
          backends: { noaddr: {} }
)",
     ConfigErrorKind::kSemantic,
     "healthchecks.: line 3: empty name\n"
     "backends.a b: line 5: invalid name \"a b\" (no spaces or control characters)\n"
     "backends.noaddr: line 6: missing address\n"
     "backends.zero.address: line 7: must not be the unspecified address\n"
     "frontends.web: line 9: missing address\n"
     "frontends.web.pools[0]: line 12: missing name\n"
     "frontends.web.pools[1].name: line 13: empty name"},
    {"Ipv4CompatibleAndMappedIpv6AddressesCannotBeProgrammed",
     R"(maglev:
  vpp:
    lb: { ipv6-src-address: 2001:db8::1 }
  backends:
    compat: { address: "::a00:3" }
    loop6: { address: "::1" }
    mapped: { address: "::ffff:10.0.0.3" }
    good: { address: 2001:db8::10 }
  frontends:
    compat-vip:
      address: "::102:304"
      port: 80
      pools:
        - name: p
          backends: { good: {} }
    mapped-vip:
      address: "::ffff:1.2.3.4"
      port: 80
      pools:
        - name: p
          backends: { compat: {}, loop6: {}, mapped: {} }
)",
     ConfigErrorKind::kSemantic,
     "backends.compat.address: line 5: ::10.0.0.3 is an IPv4-compatible IPv6 address (::/96), "
     "which "
     "VPP takes for the IPv4 address 10.0.0.3; use a routable IPv6 address or write 10.0.0.3\n"
     "backends.loop6.address: line 6: ::1 is an IPv4-compatible IPv6 address (::/96), which VPP "
     "takes for the IPv4 address 0.0.0.1; use a routable IPv6 address or write 0.0.0.1\n"
     "backends.mapped.address: line 7: ::ffff:10.0.0.3 is an IPv4-mapped IPv6 address "
     "(::ffff:0:0/96): it would be probed over IPv4 while VPP sends GRE6 to an address that is "
     "not routed; write 10.0.0.3\n"
     "frontends.compat-vip.address: line 11: ::1.2.3.4 is an IPv4-compatible IPv6 address "
     "(::/96), which VPP takes for the IPv4 address 1.2.3.4; use a routable IPv6 address or "
     "write 1.2.3.4\n"
     "frontends.mapped-vip.address: line 17: ::ffff:1.2.3.4 is an IPv4-mapped IPv6 address "
     "(::ffff:0:0/96): it would be probed over IPv4 while VPP sends GRE6 to an address that is "
     "not routed; write 1.2.3.4"},
    {"DuplicatePoolName",
     R"(maglev:
  vpp:
    lb: { ipv4-src-address: 192.0.2.1 }
  backends:
    a: { address: 198.51.100.10 }
    b: { address: 198.51.100.11 }
  frontends:
    web:
      address: 192.0.2.80
      port: 80
      pools:
        - { name: p, backends: { a: {} } }
        - { name: p, backends: { b: {} } }
)",
     ConfigErrorKind::kSemantic,
     "frontends.web.pools[1].name: line 13: duplicate pool name \"p\" (also pools[0])"},
    {"ErrorsInDocumentOrder",  // frontends come first: reference errors sort before backends'
     R"(maglev:
  frontends:
    web:
      address: 192.0.2.80
      port: 80
      pools:
        - name: p
          backends: { ghost: {} }
  backends:
    a: { address: 198.51.100.10, healthcheck: nope }
  healthchecks:
    hc: { type: icmp, rise: 0 }
  vpp:
    lb: { flow-timeout: 0s }
)",
     ConfigErrorKind::kSemantic,
     "frontends.web.pools[0].backends.ghost: line 8: unknown backend \"ghost\"\n"
     "backends.a.healthcheck: line 10: unknown healthcheck \"nope\"\n"
     "healthchecks.hc.rise: line 12: must be within 1..1000, got 0\n"
     "vpp.lb.flow-timeout: line 14: must be whole seconds within 1s..120s, got 0s"},
};

class BrokenConfigTest : public testing::TestWithParam<BrokenCase> {};

TEST_P(BrokenConfigTest, ReportsExactError) {
  const BrokenCase& c = GetParam();
  ConfigResult r = ParseConfig(c.yaml);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.config, nullptr);
  EXPECT_EQ(ConfigErrorKindName(r.kind), std::string(ConfigErrorKindName(c.kind)));
  EXPECT_EQ(r.error, c.error);
}

INSTANTIATE_TEST_SUITE_P(Table, BrokenConfigTest, testing::ValuesIn(kBroken),
                         [](const testing::TestParamInfo<BrokenCase>& info) {
                           return std::string(info.param.name);
                         });

TEST(BrokenConfigTable, HasAtLeastThirtyCasesOfBothKinds) {
  int parse = 0, semantic = 0;
  for (const BrokenCase& c : kBroken) (c.kind == ConfigErrorKind::kParse ? parse : semantic)++;
  EXPECT_GE(parse + semantic, 30);
  EXPECT_GE(parse, 10);
  EXPECT_GE(semantic, 10);
}

// The spec §2 example (SpecExampleVerbatimLoads below reads it from the spec itself).
constexpr char kSpecExample[] = R"(maglev:
  healthchecker:
    transition-history: 5          # transitions kept per backend, >= 1
    netns: ""                      # run probes inside this network namespace (needs CAP_SYS_ADMIN)
  vpp:
    lb:
      ipv4-src-address: 192.0.2.1  # GRE4 source; required when any frontend has IPv4 backends
      ipv6-src-address: 2001:db8::1  # GRE6 source; required when any frontend has IPv6 backends
      sync-interval: 30s           # periodic full reconciliation
      sticky-buckets-per-core: 65536   # power of two
      flow-timeout: 40s            # 1s..120s
      new-flows-table-length: 1024 # per-VIP Maglev table, power of two (VPP's default 1024)
      startup-min-delay: 5s        # warmup: hands off VPP entirely
      startup-max-delay: 30s       # warmup: release frontends as their backends resolve
  healthchecks:
    http-healthz:
      type: http                   # icmp | tcp | http | https
      port: 80                     # required for tcp/http/https
      interval: 2s                 # when fully up
      fast-interval: 500ms         # while degraded / unknown (default: interval)
      down-interval: 10s           # when fully down (default: interval)
      timeout: 1s
      rise: 2
      fall: 3
      probe-ipv4-src: 192.0.2.2    # optional source addresses, family-checked
      probe-ipv6-src: 2001:db8::2
      http:                        # for http and https
        path: /healthz
        host: www.example.net      # Host header (default: backend address)
        response-code: 200-399     # a code or an inclusive range
        response-regexp: "ok"      # optional, matched against the body (bounded read)
        server-name: www.example.net   # SNI for https
        insecure-skip-verify: false
  backends:
    nginx0: { address: 198.51.100.10, healthcheck: http-healthz }
    nginx1: { address: 198.51.100.11, healthcheck: http-healthz, enabled: false }
    static0: { address: 198.51.100.12 }   # no healthcheck: assumed up at once
  frontends:
    web:
      description: "public web"
      address: 192.0.2.80          # the VIP (IPv4 or IPv6)
      protocol: tcp                # tcp | udp | any (any means all ports)
      port: 80                     # 0 with protocol any
      src-ip-sticky: false
      flush-on-down: true
      pools:                       # ordered: priority failover
        - name: primary
          backends:
            nginx0: { weight: 100 }   # 0..100, default 100
            nginx1: {}
        - name: fallback
          backends:
            static0: {}
)";

TEST(ConfigLoaderTest, SpecExampleLoadsWithValuesAndDefaults) {
  ConfigResult r = ParseConfig(kSpecExample);
  ASSERT_TRUE(r.ok()) << r.error;
  ASSERT_NE(r.config, nullptr);
  EXPECT_TRUE(r.error.empty());
  const Config& c = *r.config;

  EXPECT_EQ(c.healthchecker.transition_history, 5);
  EXPECT_EQ(c.healthchecker.netns, "");

  EXPECT_EQ(c.vpp_lb.ipv4_src_address, Addr("192.0.2.1"));
  EXPECT_EQ(c.vpp_lb.ipv6_src_address, Addr("2001:db8::1"));
  EXPECT_EQ(c.vpp_lb.sync_interval, seconds(30));
  EXPECT_EQ(c.vpp_lb.sticky_buckets_per_core, 65536u);
  EXPECT_EQ(c.vpp_lb.flow_timeout, seconds(40));
  EXPECT_EQ(c.vpp_lb.new_flows_table_length, 1024u);
  EXPECT_EQ(c.vpp_lb.startup_min_delay, seconds(5));
  EXPECT_EQ(c.vpp_lb.startup_max_delay, seconds(30));

  ASSERT_EQ(c.healthchecks.size(), 1u);
  const HealthCheck& hc = c.healthchecks.at("http-healthz");
  EXPECT_EQ(hc.name, "http-healthz");
  EXPECT_EQ(hc.line, 16);
  EXPECT_EQ(hc.type, CheckType::kHttp);
  EXPECT_EQ(hc.port, 80);
  EXPECT_EQ(hc.interval, seconds(2));
  EXPECT_EQ(hc.fast_interval, milliseconds(500));
  EXPECT_EQ(hc.down_interval, seconds(10));
  EXPECT_EQ(hc.timeout, seconds(1));
  EXPECT_EQ(hc.rise, 2);
  EXPECT_EQ(hc.fall, 3);
  EXPECT_EQ(hc.probe_ipv4_src, Addr("192.0.2.2"));
  EXPECT_EQ(hc.probe_ipv6_src, Addr("2001:db8::2"));
  EXPECT_EQ(hc.http.path, "/healthz");
  EXPECT_EQ(hc.http.host, "www.example.net");
  EXPECT_EQ(hc.http.response_code_min, 200);
  EXPECT_EQ(hc.http.response_code_max, 399);
  EXPECT_EQ(hc.http.response_regexp, "ok");
  EXPECT_EQ(hc.http.server_name, "www.example.net");
  EXPECT_FALSE(hc.http.insecure_skip_verify);
  EXPECT_EQ(hc.tcp, TcpParams{});

  ASSERT_EQ(c.backends.size(), 3u);
  const Backend& n0 = c.backends.at("nginx0");
  EXPECT_EQ(n0.name, "nginx0");
  EXPECT_EQ(n0.address, Addr("198.51.100.10"));
  EXPECT_EQ(n0.healthcheck, "http-healthz");
  EXPECT_TRUE(n0.enabled);
  EXPECT_EQ(n0.line, 35);
  EXPECT_FALSE(c.backends.at("nginx1").enabled);
  EXPECT_EQ(c.backends.at("static0").healthcheck, "");
  EXPECT_TRUE(c.backends.at("static0").enabled);

  ASSERT_EQ(c.frontends.size(), 1u);
  const Frontend& web = c.frontends.at("web");
  EXPECT_EQ(web.name, "web");
  EXPECT_EQ(web.line, 39);
  EXPECT_EQ(web.description, "public web");
  EXPECT_EQ(web.address, Addr("192.0.2.80"));
  EXPECT_EQ(web.protocol, Protocol::kTcp);
  EXPECT_EQ(web.port, 80);
  EXPECT_FALSE(web.src_ip_sticky);
  EXPECT_TRUE(web.flush_on_down);
  ASSERT_EQ(web.pools.size(), 2u);
  EXPECT_EQ(web.pools[0].name, "primary");
  ASSERT_EQ(web.pools[0].backends.size(), 2u);
  EXPECT_EQ(web.pools[0].backends[0].backend, "nginx0");
  EXPECT_EQ(web.pools[0].backends[0].weight, 100);
  EXPECT_EQ(web.pools[0].backends[1].backend, "nginx1");
  EXPECT_EQ(web.pools[0].backends[1].weight, 100);
  EXPECT_EQ(web.pools[1].name, "fallback");
  ASSERT_EQ(web.pools[1].backends.size(), 1u);
  EXPECT_EQ(web.pools[1].backends[0].backend, "static0");

  EXPECT_EQ(c.ReferencedBackends(), (std::vector<std::string>{"nginx0", "nginx1", "static0"}));
}

// Extracts the first ```yaml block of spec §2.
std::string ReadSpecExample() {
  std::ifstream in(std::string(MAGLEV_SHARED_DIR) + "/spec/system.md");
  if (!in) return "";
  std::string line, out;
  bool inside = false;
  while (std::getline(in, line)) {
    if (!inside && line == "```yaml") {
      inside = true;
    } else if (inside && line == "```") {
      break;
    } else if (inside) {
      out += line + "\n";
    }
  }
  return out;
}

TEST(ConfigLoaderTest, SpecExampleVerbatimLoads) {
  std::string yaml = ReadSpecExample();
  if (yaml.empty()) GTEST_SKIP() << "spec not found under " << MAGLEV_SHARED_DIR;
  ConfigResult r = ParseConfig(yaml);
  // Every key of the spec's example, including `tcp:` under an http check
  // (inert there: it applies to type tcp only).
  ASSERT_TRUE(r.ok()) << r.error;
  const HealthCheck& hc = r.config->healthchecks.at("http-healthz");
  EXPECT_EQ(hc.type, CheckType::kHttp);
  EXPECT_EQ(hc.http.path, "/healthz");
  EXPECT_EQ(r.config->frontends.at("web").pools.size(), 2u);
}

TEST(ConfigLoaderTest, DefaultsForMinimalConfig) {
  ConfigResult r = ParseConfig(R"(maglev:
  vpp:
    lb:
      ipv6-src-address: 2001:db8::1
  healthchecks:
    t: { type: tcp, port: 22, interval: 7s }
    h: { type: https, port: 443 }
    p: { type: icmp }
  backends:
    b: { address: 2001:db8:100::1, healthcheck: t }
  frontends:
    f:
      address: 192.0.2.1
      port: 443
      pools: [{ name: main, backends: { b: } }]
    all:
      address: 192.0.2.2
      protocol: any
      pools: [{ name: main, backends: { b: {} } }]
)");
  ASSERT_TRUE(r.ok()) << r.error;
  const Config& c = *r.config;
  EXPECT_EQ(c.healthchecker.transition_history, 5);
  EXPECT_FALSE(c.vpp_lb.ipv4_src_address.has_value());
  EXPECT_EQ(c.vpp_lb.sync_interval, seconds(30));
  EXPECT_EQ(c.vpp_lb.stats_interval, seconds(5));
  EXPECT_EQ(c.vpp_lb.flow_timeout, seconds(40));
  EXPECT_EQ(c.vpp_lb.sticky_buckets_per_core, 65536u);
  EXPECT_EQ(c.vpp_lb.new_flows_table_length, 1024u);

  const HealthCheck& t = c.healthchecks.at("t");
  EXPECT_EQ(t.interval, seconds(7));
  EXPECT_EQ(t.fast_interval, seconds(7));  // default: interval
  EXPECT_EQ(t.down_interval, seconds(7));
  EXPECT_EQ(t.timeout, seconds(1));
  EXPECT_EQ(t.rise, 2);
  EXPECT_EQ(t.fall, 3);
  EXPECT_FALSE(t.probe_ipv4_src.has_value());
  EXPECT_FALSE(t.tcp.ssl);

  const HealthCheck& h = c.healthchecks.at("h");
  EXPECT_EQ(h.type, CheckType::kHttps);
  EXPECT_EQ(h.interval, seconds(2));
  EXPECT_EQ(h.fast_interval, seconds(2));
  EXPECT_EQ(h.http.path, "/");
  EXPECT_EQ(h.http.host, "");
  EXPECT_EQ(h.http.response_code_min, 200);
  EXPECT_EQ(h.http.response_code_max, 399);
  EXPECT_EQ(h.http.response_regexp, "");
  EXPECT_EQ(c.healthchecks.at("p").port, 0);

  EXPECT_TRUE(c.backends.at("b").enabled);
  const Frontend& f = c.frontends.at("f");
  EXPECT_EQ(f.protocol, Protocol::kTcp);
  EXPECT_EQ(f.description, "");
  EXPECT_FALSE(f.src_ip_sticky);
  EXPECT_TRUE(f.flush_on_down);
  ASSERT_EQ(f.pools.size(), 1u);
  ASSERT_EQ(f.pools[0].backends.size(), 1u);
  EXPECT_EQ(f.pools[0].backends[0].weight, 100);
  EXPECT_EQ(c.frontends.at("all").protocol, Protocol::kAny);
  EXPECT_EQ(c.frontends.at("all").port, 0);
}

TEST(ConfigLoaderTest, StatsInterval) {
  ConfigResult r = ParseConfig(R"(maglev:
  vpp:
    lb: { stats-interval: 250ms }
)");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.config->vpp_lb.stats_interval, std::chrono::milliseconds(250));
  r = ParseConfig("maglev:\n  vpp:\n    lb: { stats-interval: 2h }\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error.find("stats-interval: line 3: must be within 100ms..1h, got 2h"),
            std::string::npos)
      << r.error;
}

TEST(ConfigLoaderTest, SingleResponseCodeAndWholeSecondFlowTimeouts) {
  ConfigResult r = ParseConfig(R"(maglev:
  vpp:
    lb: { flow-timeout: 2m, sticky-buckets-per-core: 1, new-flows-table-length: 1048576 }
  healthchecks:
    h: { type: http, port: 8080, http: { response-code: 204 } }
)");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.config->vpp_lb.flow_timeout, seconds(120));
  EXPECT_EQ(r.config->vpp_lb.sticky_buckets_per_core, 1u);
  EXPECT_EQ(r.config->vpp_lb.new_flows_table_length, 1u << 20);
  EXPECT_EQ(r.config->healthchecks.at("h").http.response_code_min, 204);
  EXPECT_EQ(r.config->healthchecks.at("h").http.response_code_max, 204);
}

TEST(ConfigLoaderTest, EmptyAndNullSectionsAreValid) {
  for (const char* yaml : {"maglev:\n", "maglev: {}\n",
                           "maglev:\n  vpp:\n  healthchecks:\n  backends:\n  frontends:\n",
                           "maglev:\n  vpp:\n    lb:\n  healthchecker: {}\n"}) {
    ConfigResult r = ParseConfig(yaml);
    ASSERT_TRUE(r.ok()) << yaml << ": " << r.error;
    EXPECT_TRUE(r.config->frontends.empty());
    EXPECT_TRUE(r.config->backends.empty());
    EXPECT_EQ(r.config->vpp_lb.new_flows_table_length, 1024u);
  }
}

TEST(ConfigLoaderTest, UnreferencedBackendsNeedNoSourceAddress) {
  // Source addresses are needed only for families that frontends use.
  ConfigResult r = ParseConfig(R"(maglev:
  backends:
    lonely: { address: 198.51.100.10 }
)");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_TRUE(r.config->ReferencedBackends().empty());
}

// The route withdrawal hook (`routes:`): argv as a list, never a shell
// string; a timeout above 0; an absolute file.
TEST(ConfigLoaderTest, RoutesSection) {
  ConfigResult r = ParseConfig(
      "maglev:\n  routes:\n    notify-command: [/usr/local/sbin/vip-route, --bird, 'a b']\n"
      "    notify-timeout: 5s\n    servable-file: /run/maglevd/servable\n");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.config->routes.notify_command,
            (std::vector<std::string>{"/usr/local/sbin/vip-route", "--bird", "a b"}));
  EXPECT_EQ(r.config->routes.notify_timeout, std::chrono::seconds(5));
  EXPECT_EQ(r.config->routes.servable_file, "/run/maglevd/servable");
  ConfigResult none = ParseConfig("maglev:\n  routes:\n");
  ASSERT_TRUE(none.ok()) << none.error;
  EXPECT_TRUE(none.config->routes.notify_command.empty());
  EXPECT_EQ(none.config->routes.notify_timeout, std::chrono::seconds(10));
  struct Bad {
    std::string yaml, error;
  };
  for (const Bad& b : std::vector<Bad>{
           {"notify-command: /bin/route up", "expected a list"},
           {"notify-command: ['']", "the command must not be empty"},
           {"notify-command: [[a]]", "expected a string"},
           {"notify-timeout: 0s", "must be > 0"},
           {"servable-file: relative/path", "must be an absolute path"},
           {"notify-comand: [a]", "notify-comand"},
       }) {
    ConfigResult e = ParseConfig("maglev:\n  routes:\n    " + b.yaml + "\n");
    EXPECT_FALSE(e.ok()) << b.yaml;
    EXPECT_NE(e.error.find(b.error), std::string::npos) << b.yaml << " -> " << e.error;
  }
}

TEST(ConfigLoaderTest, WarmupCanBeDisabled) {
  ConfigResult r =
      ParseConfig("maglev:\n  vpp:\n    lb: { startup-min-delay: 0s, startup-max-delay: \"0\" }\n");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.config->vpp_lb.startup_min_delay, Duration::zero());
  EXPECT_EQ(r.config->vpp_lb.startup_max_delay, Duration::zero());
}

TEST(ConfigLoaderTest, AliasAmplificationIsRefusedNotWalked) {
  // yaml-cpp shares aliased nodes, so 300 frontends naming one list of 1000
  // pools is a 40 KB text describing 1.2 million entries.
  std::string pools = "[";
  for (int i = 0; i < 1000; ++i) {
    pools += (i ? ", {name: p" : "{name: p") + std::to_string(i) + ", backends: {a: {}}}";
  }
  pools += "]";
  std::string bomb = "maglev:\n  frontends:\n    f0: { pools: &p " + pools + " }\n";
  for (int i = 1; i < 300; ++i) bomb += "    f" + std::to_string(i) + ": { pools: *p }\n";
  ConfigResult r = ParseConfig(bomb);
  EXPECT_EQ(r.kind, ConfigErrorKind::kParse);
  // Aliased nodes carry the anchor's line.
  EXPECT_EQ(r.error, "document: line 3: too many entries (over 500000, aliases?)");

  // The same list used by a few frontends is fine (and semantically checked).
  std::string few = "maglev:\n  frontends:\n    f0: { pools: &p " + pools + " }\n";
  few += "    f1: { pools: *p }\n";
  ConfigResult ok = ParseConfig(few);
  EXPECT_EQ(ok.kind, ConfigErrorKind::kSemantic);  // no addresses, ports or backends
  EXPECT_EQ(ok.error.find("too many entries"), std::string::npos);
}

TEST(ConfigLoaderTest, DeepNestingIsAParseErrorNotACrash) {
  std::string yaml = "maglev:\n  vpp: " + std::string(5000, '[') + std::string(5000, ']') + "\n";
  ConfigResult r = ParseConfig(yaml);
  EXPECT_EQ(r.kind, ConfigErrorKind::kParse);
  EXPECT_EQ(r.error, "document: line 2: invalid yaml: nesting too deep");
}

TEST(ConfigLoaderTest, ControlCharactersInNamesAreEscapedInErrors) {
  ConfigResult r = ParseConfig("maglev:\n  backends:\n    \"a\\nb\": { adress: 1 }\n");
  EXPECT_EQ(r.kind, ConfigErrorKind::kParse);
  EXPECT_EQ(r.error, "backends.a\\nb.adress: line 3: unknown key \"adress\"");
}

// Every example shipped in examples/ must load.
TEST(ConfigLoaderTest, EveryExampleLoads) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(MAGLEV_SOURCE_DIR) / "examples";
  int loaded = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    ConfigResult r = LoadConfigFile(entry.path().string());
    EXPECT_TRUE(r.ok()) << entry.path() << ":\n" << r.error;
    ++loaded;
  }
  EXPECT_GE(loaded, 1);
}

TEST(ConfigLoaderTest, FullExampleHasEveryFeature) {
  ConfigResult r = LoadConfigFile(std::string(MAGLEV_SOURCE_DIR) + "/examples/maglev.yaml");
  ASSERT_TRUE(r.ok()) << r.error;
  const Config& c = *r.config;
  std::set<CheckType> types;
  for (const auto& [_, hc] : c.healthchecks) types.insert(hc.type);
  EXPECT_EQ(types.size(), 4u);
  std::set<Protocol> protocols;
  bool v6 = false;
  for (const auto& [_, fe] : c.frontends) {
    protocols.insert(fe.protocol);
    v6 |= fe.address.is_v6();
  }
  EXPECT_EQ(protocols.size(), 3u);
  EXPECT_TRUE(v6);
  EXPECT_EQ(c.healthchecks.at("tls-connect").tcp.ssl, true);
  EXPECT_EQ(c.healthchecks.at("https-status").http.response_code_min, 200);
  EXPECT_EQ(c.healthchecks.at("https-status").http.response_code_max, 200);
}

class LoadFileTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("maglev_config_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(LoadFileTest, MissingFileIsAParseError) {
  std::string path = (dir_ / "nope.yaml").string();
  ConfigResult r = LoadConfigFile(path);
  EXPECT_EQ(r.kind, ConfigErrorKind::kParse);
  EXPECT_EQ(r.error, path + ": cannot read: no such file or directory");
}

TEST_F(LoadFileTest, DirectoryIsAParseError) {
  ConfigResult r = LoadConfigFile(dir_.string());
  EXPECT_EQ(r.kind, ConfigErrorKind::kParse);
  EXPECT_EQ(r.error, dir_.string() + ": cannot read: is a directory");
}

TEST_F(LoadFileTest, LoadsAndReportsLikeParseConfig) {
  ConfigResult ok =
      LoadConfigFile(Write("ok.yaml", "maglev:\n  healthchecker:\n    netns: blue\n"));
  ASSERT_TRUE(ok.ok()) << ok.error;
  EXPECT_EQ(ok.config->healthchecker.netns, "blue");

  ConfigResult bad =
      LoadConfigFile(Write("bad.yaml", "maglev:\n  vpp:\n    lb: { flow-timeout: 0s }\n"));
  EXPECT_EQ(bad.kind, ConfigErrorKind::kSemantic);
  EXPECT_EQ(bad.error,
            "vpp.lb.flow-timeout: line 3: must be whole seconds within 1s..120s, got 0s");
}

}  // namespace
}  // namespace maglev
