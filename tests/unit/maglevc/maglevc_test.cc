// maglevc: the grammar (parsing, prefixes, completion, help), the renderers,
// and every command end to end against an in-process maglevd API server.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "api/api_test_util.h"
#include "commands.h"
#include "grammar.h"
#include "render.h"
#include "shell.h"

namespace maglev::cli {
namespace {

using maglev::testing::WriteTempFile;

class FakeNames : public NameSource {
 public:
  std::vector<std::string> Names(ArgKind kind, const Parsed& so_far) override {
    last_so_far = so_far;
    switch (kind) {
      case ArgKind::kFrontend:
        return {"api", "web", "www"};
      case ArgKind::kBackend:
        return {"nginx0", "nginx1", "static0"};
      case ArgKind::kHealthCheck:
        return {"http-healthz"};
      case ArgKind::kPool:
        return so_far.Get("frontend") == "web" ? std::vector<std::string>{"primary", "fallback"}
                                               : std::vector<std::string>{};
      case ArgKind::kPoolBackend:
        return so_far.Get("pool") == "primary" ? std::vector<std::string>{"nginx0", "nginx1"}
                                               : std::vector<std::string>{};
      default:
        return {};
    }
  }
  Parsed last_so_far;
};

absl::StatusOr<Parsed> P(const Grammar& g, const std::string& line) {
  return g.Parse(Grammar::Split(line));
}

TEST(GrammarTest, PrefixMatching) {
  Grammar g;
  auto p = P(g, "sh fr");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->command, "show frontends");
  EXPECT_FALSE(p->Has("frontend"));
  p = P(g, "sh fr web");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->Get("frontend"), "web");
  p = P(g, "sh vp l s");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->command, "show vpp lb state");
  p = P(g, "sh ve");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->command, "show version");
}

TEST(GrammarTest, AmbiguousAndUnknownAndIncomplete) {
  Grammar g;
  auto p = P(g, "s frontends");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(), "ambiguous \"s\": set, show, sync");
  p = P(g, "sh v");  // version, vpp
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(), "ambiguous \"v\": version, vpp");
  p = P(g, "frobnicate");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(), "unknown command \"frobnicate\"");
  p = P(g, "show");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("incomplete command \"show\""), std::string::npos);
  EXPECT_NE(p.status().message().find("frontends"), std::string::npos);
  // A complete command followed by more words says so (it used to say
  // "expected" followed by nothing).
  p = P(g, "show frontends web extra");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(),
            "unexpected \"extra\": \"show frontends web\" takes no more words");
  p = P(g, "show vpp extra");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(), "unknown word \"extra\" after \"show vpp\": expected info, lb");
  p = P(g, "set backend b1 dance");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("pause, resume, enable, disable"), std::string::npos);
}

TEST(GrammarTest, DrainTakesAnOptionalDuration) {
  Grammar g;
  auto p = g.Parse(Grammar::Split("set backend web0 drain"));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->command, "set backend");
  EXPECT_EQ(p->Get("action"), "drain");
  EXPECT_FALSE(p->Has("timeout"));
  p = g.Parse(Grammar::Split("set backend web0 drain 90s"));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->Get("timeout"), "90s");
  p = g.Parse(Grammar::Split("set backend web0 drain soon"));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(), "invalid duration \"soon\": want e.g. 30s or 5m");
}

TEST(GrammarTest, PreviewAfterEveryAction) {
  Grammar g;
  struct Case {
    std::string line, command;
    std::map<std::string, std::string> args;
  };
  std::vector<Case> cases = {
      {"set backend b disable preview",
       "preview backend",
       {{"backend", "b"}, {"action", "disable"}, {"preview", "preview"}}},
      {"set backend b dr preview",
       "preview backend",
       {{"backend", "b"}, {"action", "drain"}, {"preview", "preview"}}},
      {"set backend b drain 5m preview",
       "preview backend",
       {{"backend", "b"}, {"action", "drain"}, {"timeout", "5m"}, {"preview", "preview"}}},
      {"set frontend web pool p backend b weight 5 pre",
       "preview weight",
       {{"frontend", "web"},
        {"pool", "p"},
        {"backend", "b"},
        {"weight", "5"},
        {"preview", "preview"}}},
      {"sync vpp lb state preview", "preview sync", {{"preview", "preview"}}},
      {"sync vpp lb state web preview",
       "preview sync",
       {{"frontend", "web"}, {"preview", "preview"}}},
      // Beside a frontend name, only the full word is the keyword.
      {"sync vpp lb state pr", "sync vpp lb state", {{"frontend", "pr"}}},
      {"config check preview", "preview config", {{"preview", "preview"}}},
      {"config check preview /tmp/x.yaml",
       "preview config",
       {{"preview", "preview"}, {"path", "/tmp/x.yaml"}}},
  };
  for (const Case& c : cases) {
    auto p = P(g, c.line);
    ASSERT_TRUE(p.ok()) << c.line << ": " << p.status();
    EXPECT_EQ(p->command, c.command) << c.line;
    EXPECT_EQ(p->args, c.args) << c.line;
  }
  EXPECT_FALSE(P(g, "set backend b disable preview now").ok());
  EXPECT_FALSE(P(g, "config reload preview").ok());
}

TEST(GrammarTest, EveryCommandOfTheSpec) {
  Grammar g;
  struct Case {
    std::string line, command;
    std::map<std::string, std::string> args;
  };
  std::vector<Case> cases = {
      {"show version", "show version", {}},
      {"show frontends", "show frontends", {}},
      {"show frontends web", "show frontends", {{"frontend", "web"}}},
      {"show backends nginx0", "show backends", {{"backend", "nginx0"}}},
      {"show healthchecks hc", "show healthchecks", {{"healthcheck", "hc"}}},
      {"show vpp info", "show vpp info", {}},
      {"show vpp lb state", "show vpp lb state", {}},
      {"show vpp lb counters", "show vpp lb counters", {}},
      {"show vpp lb counters web", "show vpp lb counters", {{"frontend", "web"}}},
      {"show vpp lb lookup web 10.0.0.1 1234",
       "show vpp lb lookup",
       {{"frontend", "web"}, {"src", "10.0.0.1"}, {"sport", "1234"}}},
      {"sh vp l lo web 2001:DB8::1 1 8080",
       "show vpp lb lookup",
       {{"frontend", "web"}, {"src", "2001:db8::1"}, {"sport", "1"}, {"dport", "8080"}}},
      {"sync vpp lb state", "sync vpp lb state", {}},
      {"sync vpp lb state web", "sync vpp lb state", {{"frontend", "web"}}},
      {"set backend b pause", "set backend", {{"backend", "b"}, {"action", "pause"}}},
      {"set backend b resume", "set backend", {{"backend", "b"}, {"action", "resume"}}},
      {"set backend b en", "set backend", {{"backend", "b"}, {"action", "enable"}}},
      {"set backend b dis", "set backend", {{"backend", "b"}, {"action", "disable"}}},
      {"set frontend web pool primary backend b weight 0",
       "set frontend weight",
       {{"frontend", "web"}, {"pool", "primary"}, {"backend", "b"}, {"weight", "0"}}},
      {"config check", "config check", {}},
      {"config reload", "config reload", {}},
      {"watch events", "watch events", {}},
      {"watch events num 5", "watch events", {{"num", "5"}}},
      {"watch events log level warn backend",
       "watch events",
       {{"log", "log"}, {"level", "warn"}, {"backend", "backend"}}},
      {"watch events frontend num 3 log",
       "watch events",
       {{"frontend", "frontend"}, {"num", "3"}, {"log", "log"}}},
      {"watch events log level d", "watch events", {{"log", "log"}, {"level", "debug"}}},
      {"quit", "quit", {}},
      {"exit", "quit", {}},
      {"help", "help", {}},
  };
  for (const Case& c : cases) {
    auto p = P(g, c.line);
    ASSERT_TRUE(p.ok()) << c.line << ": " << p.status();
    EXPECT_EQ(p->command, c.command) << c.line;
    EXPECT_EQ(p->args, c.args) << c.line;
  }
}

TEST(GrammarTest, ArgumentValidation) {
  Grammar g;
  for (const char* bad : {"101", "-1", "x", "1.5"}) {
    auto p = P(g, std::string("set frontend web pool p backend b weight ") + bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_NE(p.status().message().find("want 0-100"), std::string::npos);
  }
  EXPECT_FALSE(P(g, "watch events num 0").ok());
  EXPECT_FALSE(P(g, "watch events num many").ok());
  EXPECT_FALSE(P(g, "watch events log level loud").ok());
  EXPECT_TRUE(P(g, "set frontend web pool p backend b weight 100").ok());
  auto p = P(g, "show vpp lb lookup web 10.0.0.300 1");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("invalid address"), std::string::npos);
  p = P(g, "show vpp lb lookup web 10.0.0.1 65536");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("want 0-65535"), std::string::npos);
  EXPECT_FALSE(P(g, "show vpp lb lookup web 10.0.0.1").ok());
}

TEST(RenderTest, CounterRatesFromTwoSamples) {
  EXPECT_EQ(FormatRate(100, 600, 5'000'000'000), "100");
  EXPECT_EQ(FormatRate(0, 7, 2'000'000'000), "3.5");
  EXPECT_EQ(FormatRate(5, 5, 1'000'000'000), "0");
  EXPECT_EQ(FormatRate(9, 3, 1'000'000'000), "-");  // went down: a reset
  EXPECT_EQ(FormatRate(0, 3, 0), "-");
  VPPLBCounters c;
  c.set_sample_time_ns(7'000'000'000);
  c.set_previous_sample_time_ns(2'000'000'000);
  VPPLBFrontendCounters* f = c.add_frontends();
  f->set_frontend("web");
  f->set_vip("192.0.2.80/32 tcp/80");
  f->set_vip_in_vpp(true);
  f->set_route_known(true);
  f->mutable_counters()->set_existing_session_packets(400);
  f->mutable_counters()->set_first_session_packets(100);
  f->mutable_counters()->set_route_packets(500);
  f->mutable_counters()->set_route_bytes(20000);
  f->mutable_previous()->set_first_session_packets(0);
  f = c.add_frontends();
  f->set_frontend("gone");
  f->set_vip("192.0.2.81/32 tcp/80");
  std::string out = RenderVppLbCounters(c, Style{});
  EXPECT_NE(out.find("rates over the 5s"), std::string::npos) << out;
  std::istringstream lines(out);
  std::string line;
  std::vector<std::vector<std::string>> rows;
  while (std::getline(lines, line)) {
    std::istringstream w(line);
    std::vector<std::string> words;
    for (std::string x; w >> x;) words.push_back(x);
    rows.push_back(words);
  }
  ASSERT_EQ(rows.size(), 4u) << out;
  EXPECT_EQ(rows[2], (std::vector<std::string>{"web", "192.0.2.80/32", "tcp/80", "400", "100", "0",
                                               "0", "100", "500", "20000", "100"}))
      << out;
  EXPECT_EQ(rows[3].back(), "VPP");  // "not in VPP"
}

TEST(GrammarTest, CompletionOfKeywordsAndNames) {
  Grammar g;
  FakeNames names;
  EXPECT_EQ(g.Complete("sh fr", &names), (std::vector<std::string>{"frontends"}));
  EXPECT_EQ(g.Complete("s", &names), (std::vector<std::string>{"set", "show", "sync"}));
  EXPECT_EQ(g.Complete("show ", &names),
            (std::vector<std::string>{"backends", "frontends", "healthchecks", "version", "vpp"}));
  EXPECT_EQ(g.Complete("show frontends w", &names), (std::vector<std::string>{"web", "www"}));
  EXPECT_EQ(g.Complete("set backend ", &names),
            (std::vector<std::string>{"nginx0", "nginx1", "static0"}));
  EXPECT_EQ(g.Complete("set backend nginx0 ", &names),
            (std::vector<std::string>{"disable", "drain", "enable", "pause", "resume"}));
  EXPECT_EQ(g.Complete("se fr web po ", &names), (std::vector<std::string>{"fallback", "primary"}));
  EXPECT_EQ(names.last_so_far.Get("frontend"), "web");
  EXPECT_EQ(g.Complete("set frontend web pool primary backend ", &names),
            (std::vector<std::string>{"nginx0", "nginx1"}));
  EXPECT_EQ(g.Complete("watch events log level ", &names),
            (std::vector<std::string>{"debug", "error", "info", "warn"}));
  EXPECT_EQ(g.Complete("watch events b", &names), (std::vector<std::string>{"backend"}));
  EXPECT_TRUE(g.Complete("bogus ", &names).empty());
  EXPECT_TRUE(g.Complete("set frontend web pool primary backend nginx0 weight ", &names).empty());
}

TEST(GrammarTest, Help) {
  Grammar g;
  FakeNames names;
  auto h = g.Help("", &names);
  ASSERT_TRUE(h.ok());
  std::vector<std::string> words;
  for (const Choice& c : *h) words.push_back(c.word);
  EXPECT_EQ(words, (std::vector<std::string>{"show", "sync", "set", "config", "watch", "help",
                                             "quit", "exit"}));
  h = g.Help("show frontends ", &names);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].word, "<frontend>");
  EXPECT_NE((*h)[0].help.find("api, web, www"), std::string::npos);
  EXPECT_EQ((*h)[1].word, "<cr>");
  h = g.Help("sh v", &names);  // partial word: the keywords it may become
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].word, "version");
  EXPECT_EQ((*h)[1].word, "vpp");
  h = g.Help("s x ", &names);
  EXPECT_FALSE(h.ok());
}

TEST(GrammarTest, UsageCoversEveryCommand) {
  Grammar g;
  std::string all;
  for (const Choice& c : g.Usage()) all += c.word + "\n";
  for (const char* cmd :
       {"show version\n", "show frontends\n", "show frontends <frontend>\n",
        "show backends <backend>\n", "show healthchecks <healthcheck>\n", "show vpp info\n",
        "show vpp lb state\n", "show vpp lb counters <frontend>\n",
        "show vpp lb lookup <frontend> <address> <port> <port>\n", "sync vpp lb state <frontend>\n",
        "set backend <backend> pause\n",
        "set frontend <frontend> pool <pool> backend <backend> weight <0-100>\n", "config check\n",
        "config reload\n", "watch events\n", "watch events num <n>\n",
        "watch events log level <level>\n", "quit\n", "exit\n"}) {
    EXPECT_NE(all.find(cmd), std::string::npos) << cmd;
  }
}

std::string StripAnsi(const std::string& s) {
  return std::regex_replace(s, std::regex("\033\\[[0-9;]*m"), "");
}

FrontendInfo SampleFrontend() {
  FrontendInfo fe;
  fe.set_name("web");
  fe.set_address("192.0.2.80");
  fe.set_protocol("tcp");
  fe.set_port(80);
  fe.set_state("up");
  fe.set_active_pool("primary");
  PoolInfo* p = fe.add_pools();
  p->set_name("primary");
  PoolBackendInfo* b = p->add_backends();
  b->set_name("nginx0");
  b->set_weight(100);
  b->set_effective_weight(100);
  b->set_enabled(true);
  b = p->add_backends();
  b->set_name("nginx1");
  b->set_weight(50);
  b->set_effective_weight(0);
  b->set_enabled(false);
  p = fe.add_pools();
  p->set_name("fallback");
  b = p->add_backends();
  b->set_name("static0");
  b->set_weight(100);
  b->set_effective_weight(0);
  b->set_enabled(true);
  return fe;
}

TEST(RenderTest, FrontendBackendLinesAreRegexParseable) {
  std::string out = RenderFrontend(SampleFrontend(), Style{});
  std::regex line_re(R"(^\s*(\S+) weight (\d+) effective (\d+)( \[disabled\])?$)");
  std::map<std::string, std::string> seen;
  std::istringstream in(out);
  int pools = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("  pool ", 0) == 0) ++pools;
    std::smatch m;
    if (std::regex_match(line, m, line_re)) seen[m[1]] = m[2].str() + "/" + m[3].str() + m[4].str();
  }
  EXPECT_EQ(pools, 2);
  EXPECT_EQ(seen["nginx0"], "100/100");
  EXPECT_EQ(seen["nginx1"], "50/0 [disabled]");
  EXPECT_EQ(seen["static0"], "100/0");
  EXPECT_NE(out.find("    nginx1 weight 50 effective 0 [disabled]\n"), std::string::npos);
}

TEST(RenderTest, FrontendShowsWhereTheDataplaneDisagrees) {
  FrontendInfo fe = SampleFrontend();
  // No dataplane: no dataplane line, no extra sections.
  std::string out = RenderFrontend(fe, Style{});
  EXPECT_EQ(out.find("dataplane"), std::string::npos);
  EXPECT_EQ(out.find("vpp differs"), std::string::npos);

  fe.set_dataplane("in-sync");
  out = RenderFrontend(fe, Style{});
  EXPECT_NE(out.find("  dataplane      in-sync\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("vpp differs"), std::string::npos);
  EXPECT_EQ(out.find("pending sync"), std::string::npos);

  fe.set_dataplane("out-of-sync");
  fe.mutable_pools(0)->mutable_backends(0)->set_vpp_weight(-1);
  fe.mutable_pools(0)->mutable_backends(0)->set_vpp_differs(true);
  fe.mutable_pools(1)->mutable_backends(0)->set_vpp_weight(30);
  fe.mutable_pools(1)->mutable_backends(0)->set_vpp_differs(true);
  fe.add_dataplane_pending("add-as 192.0.2.80/32 tcp/80 10.0.0.1 weight 100");
  fe.add_dataplane_pending("set-as-weight 192.0.2.80/32 tcp/80 10.0.0.3 weight 0");
  out = RenderFrontend(fe, Style{});
  EXPECT_NE(out.find("  dataplane      out-of-sync\n"), std::string::npos) << out;
  EXPECT_NE(out.find("  vpp differs\n    nginx0 vpp absent effective 100\n"
                     "    static0 vpp 30 effective 0\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("  pending sync\n    add-as 192.0.2.80/32 tcp/80 10.0.0.1 weight 100\n"
                     "    set-as-weight 192.0.2.80/32 tcp/80 10.0.0.3 weight 0\n"),
            std::string::npos)
      << out;
  // The scripted pool lines are untouched.
  EXPECT_NE(out.find("    nginx1 weight 50 effective 0 [disabled]\n"), std::string::npos);

  fe.set_dataplane("unknown");
  fe.set_dataplane_detail("not connected to VPP");
  EXPECT_NE(RenderFrontend(fe, Style{}).find("  dataplane      unknown (not connected to VPP)\n"),
            std::string::npos);
}

TEST(RenderTest, ColourNeverChangesTheVisibleText) {
  std::vector<FrontendInfo> fes = {SampleFrontend(), SampleFrontend()};
  fes[1].set_name("a-much-longer-name");
  fes[1].set_state("down");
  Style plain{false, 0}, color{true, 0};
  std::string p = RenderFrontendList(fes, plain);
  std::string c = RenderFrontendList(fes, color);
  EXPECT_NE(c, p);             // colour is there...
  EXPECT_EQ(StripAnsi(c), p);  // ...and only adds escape codes
  EXPECT_EQ(p.find("\033"), std::string::npos);
  EXPECT_EQ(StripAnsi(RenderFrontend(fes[0], color)), RenderFrontend(fes[0], plain));
  // Columns line up: STATE starts at the same offset on every line.
  std::istringstream in(p);
  std::vector<size_t> offsets;
  for (std::string line; std::getline(in, line);) {
    size_t at = line.find("STATE");
    if (at == std::string::npos) at = line.find(" up ") + 1;
    if (at == 0) at = line.find(" down ") + 1;
    offsets.push_back(at);
  }
  ASSERT_EQ(offsets.size(), 3u);
  EXPECT_EQ(offsets[0], offsets[1]);
  EXPECT_EQ(offsets[1], offsets[2]);
}

TEST(RenderTest, Events) {
  Event e;
  auto* l = e.mutable_log();
  l->set_at_unix_ns(1'700'000'000'123'000'000);
  l->set_level("info");
  l->set_msg("backend-transition");
  auto* a = l->add_attrs();
  a->set_key("detail");
  a->set_value("HTTP 503");
  EXPECT_EQ(RenderEvent(e, Style{}),
            "2023-11-14T22:13:20.123Z log info backend-transition detail=\"HTTP 503\"\n");
  Event b;
  b.mutable_backend()->set_backend_name("nginx0");
  auto* t = b.mutable_backend()->mutable_transition();
  t->set_from("up");
  t->set_to("down");
  t->set_at_unix_ns(1'700'000'000'000'000'000);
  t->set_code("L7STS");
  t->set_detail("HTTP 503");
  EXPECT_EQ(RenderEvent(b, Style{}),
            "2023-11-14T22:13:20.000Z backend nginx0 up -> down code=L7STS detail=\"HTTP 503\"\n");
  Event f;
  f.mutable_frontend()->set_frontend_name("web");
  f.mutable_frontend()->set_from("up");
  f.mutable_frontend()->set_to("down");
  f.mutable_frontend()->set_at_unix_ns(1'700'000'000'000'000'000);
  EXPECT_EQ(RenderEvent(f, Style{}), "2023-11-14T22:13:20.000Z frontend web up -> down\n");
  // A change of the servable state is named.
  f.mutable_frontend()->set_from_servable(true);
  EXPECT_EQ(RenderEvent(f, Style{}),
            "2023-11-14T22:13:20.000Z frontend web up -> down not-servable\n");
}

// ---- end to end against an in-process server --------------------------------

const char* kConfig = R"(
maglev:
  vpp:
    lb:
      ipv4-src-address: 192.0.2.1
  healthchecks:
    http-healthz:
      type: http
      port: 80
      interval: 1s
      http:
        path: /healthz
  backends:
    nginx0: { address: 127.0.0.20 }
    nginx1: { address: 127.0.0.21 }
    static0: { address: 127.0.0.22 }
  frontends:
    web:
      description: "public web"
      address: 192.0.2.80
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends:
            nginx0: {}
            nginx1: { weight: 50 }
        - name: fallback
          backends:
            static0: {}
    api:
      address: 192.0.2.81
      protocol: tcp
      port: 443
      pools:
        - name: main
          backends:
            static0: {}
)";

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Logger::Get().SetOutput(nullptr);
    path_ = WriteTempFile(kConfig);
    ConfigResult r = LoadConfigFile(path_);
    ASSERT_TRUE(r.ok()) << r.error;
    loop_ = std::make_unique<maglev::testing::CoreLoop>();
    loop_->StartPipeline(r.config);
    ApiServerOptions opts;
    opts.address = "127.0.0.1:0";
    opts.service.config_path = path_;
    auto s = StartGrpcServer(opts, loop_->io(), loop_->pipeline(), nullptr);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    client_ = std::make_unique<Client>("127.0.0.1:" + std::to_string(server_->port()));
  }
  void TearDown() override {
    server_->Shutdown();
    server_.reset();
    loop_.reset();
    std::remove(path_.c_str());
    Logger::Get().SetOutput(stderr);
  }

  // Runs a command line; returns {exit status, stdout, stderr}.
  std::tuple<int, std::string, std::string> Run(const std::string& line) {
    auto p = grammar_.Parse(Grammar::Split(line));
    EXPECT_TRUE(p.ok()) << line << ": " << p.status();
    if (!p.ok()) return {-100, "", ""};
    std::ostringstream out, err;
    Output io{out, err, false};
    int rc = RunCommand(grammar_, *p, *client_, io);
    return {rc, out.str(), err.str()};
  }

  std::string path_;
  Grammar grammar_;
  std::unique_ptr<maglev::testing::CoreLoop> loop_;
  std::unique_ptr<ApiServer> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(CliTest, ShowCommands) {
  auto [rc, out, err] = Run("show version");
  EXPECT_EQ(rc, 0) << err;
  EXPECT_NE(out.find(std::string("maglevd  ") + MAGLEV_VERSION), std::string::npos) << out;
  EXPECT_NE(out.find(path_), std::string::npos);

  std::tie(rc, out, err) = Run("sh fr");
  EXPECT_EQ(rc, 0) << err;
  EXPECT_LT(out.find("api"), out.find("web"));  // sorted
  EXPECT_NE(out.find("public web"), std::string::npos);

  std::tie(rc, out, err) = Run("show frontends web");
  EXPECT_EQ(rc, 0) << err;
  EXPECT_NE(out.find("    nginx0 weight 100 effective 100\n"), std::string::npos) << out;
  EXPECT_NE(out.find("    nginx1 weight 50 effective 50\n"), std::string::npos) << out;
  EXPECT_NE(out.find("    static0 weight 100 effective 0\n"), std::string::npos) << out;

  std::tie(rc, out, err) = Run("show backends");
  EXPECT_EQ(rc, 0) << err;
  EXPECT_NE(out.find("nginx0"), std::string::npos);
  EXPECT_NE(out.find("static0"), std::string::npos);
  std::tie(rc, out, err) = Run("show backends nginx0");
  EXPECT_EQ(rc, 0) << err;
  EXPECT_NE(out.find("backend nginx0\n"), std::string::npos);
  EXPECT_NE(out.find("127.0.0.20"), std::string::npos);
  EXPECT_NE(out.find("unknown"), std::string::npos);  // the start transition

  std::tie(rc, out, err) = Run("show healthchecks");
  EXPECT_EQ(rc, 0) << err;
  EXPECT_NE(out.find("http-healthz"), std::string::npos);
  std::tie(rc, out, err) = Run("show healthchecks http-healthz");
  EXPECT_EQ(rc, 0) << err;
  EXPECT_NE(out.find("http.path"), std::string::npos);
}

TEST_F(CliTest, ErrorsWithoutGrpcBoilerplate) {
  auto [rc, out, err] = Run("show backends ghost");
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(err, "error: backend \"ghost\" not found\n");
  EXPECT_EQ(out, "");
  std::tie(rc, out, err) = Run("show frontends ghost");
  EXPECT_EQ(err, "error: frontend \"ghost\" not found\n");
  std::tie(rc, out, err) = Run("show vpp info");
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(err, "error: dataplane disabled\n");
  std::tie(rc, out, err) = Run("sync vpp lb state");
  EXPECT_EQ(err, "error: dataplane disabled\n");
  std::tie(rc, out, err) = Run("set backend nginx0 disable");
  EXPECT_EQ(rc, 0) << err;
  std::tie(rc, out, err) = Run("set backend nginx0 pause");
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(err.rfind("error: ", 0), 0u) << err;
  EXPECT_EQ(err.find("rpc"), std::string::npos);
  EXPECT_EQ(err.find("StatusCode"), std::string::npos);
}

TEST_F(CliTest, UnreachableServer) {
  // A port that was just free: nothing listens there.
  int port = server_->port();
  server_->Shutdown();
  Client dead("127.0.0.1:" + std::to_string(port));
  std::ostringstream out, err;
  Output io{out, err, false};
  auto p = grammar_.Parse(Grammar::Split("show frontends"));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(RunCommand(grammar_, *p, dead, io), 1);
  // The reason without gRPC's decoration.
  EXPECT_EQ(err.str(), "error: cannot reach maglevd at 127.0.0.1:" + std::to_string(port) +
                           " (Failed to connect to remote host: Connection refused)\n");
}

TEST_F(CliTest, SetCommandsAndFailover) {
  auto [rc, out, err] = Run("set backend nginx0 disable");
  EXPECT_EQ(rc, 0) << err;
  EXPECT_EQ(out, "backend nginx0 disabled\n");
  std::tie(rc, out, err) = Run("set backend nginx1 disable");
  std::tie(rc, out, err) = Run("show frontends web");
  EXPECT_NE(out.find("    nginx0 weight 100 effective 0 [disabled]\n"), std::string::npos) << out;
  EXPECT_NE(out.find("    static0 weight 100 effective 100\n"), std::string::npos) << out;
  EXPECT_NE(out.find("active-pool    fallback"), std::string::npos) << out;
  std::tie(rc, out, err) = Run("set backend nginx0 enable");
  EXPECT_EQ(rc, 0) << err;
  std::tie(rc, out, err) = Run("set frontend web pool primary backend nginx0 weight 30");
  EXPECT_EQ(rc, 0) << err;
  // A runtime weight says so, with the YAML's.
  EXPECT_NE(out.find("    nginx0 weight 30 (runtime; config 100) effective 30\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("    static0 weight 100 effective 0\n"), std::string::npos) << out;
  std::tie(rc, out, err) = Run("set frontend web pool fallback backend nginx0 weight 30");
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(err, "error: backend \"nginx0\" not found in pool \"fallback\"\n");
  std::tie(rc, out, err) = Run("set backend nginx1 pause");
  EXPECT_EQ(rc, 1);  // disabled: FAILED_PRECONDITION
  // An operator's disable is marked as such; the YAML's state is not.
  std::tie(rc, out, err) = Run("set backend nginx0 disable");
  EXPECT_EQ(rc, 0) << err;
  std::tie(rc, out, err) = Run("show backends nginx0");
  EXPECT_NE(out.find(" disabled (runtime)\n"), std::string::npos) << out;
}

TEST_F(CliTest, PreviewChangesNothing) {
  auto [rc, out, err] = Run("set backend static0 disable");  // a standby
  ASSERT_EQ(rc, 0) << err;
  std::string before;
  std::tie(rc, before, err) = Run("show frontends web");
  ASSERT_EQ(rc, 0) << err;
  std::tie(rc, out, err) = Run("set backend nginx1 disable preview");
  EXPECT_EQ(rc, 0) << err;
  // nginx0 (100) and nginx1 (50): nginx1's share goes to nginx0.
  EXPECT_TRUE(std::regex_search(out, std::regex("^frontend web vip 192\\.0\\.2\\.80/32 tcp/80: "
                                                "moves \\d+ of 1024 buckets \\(\\d+\\.\\d %\\)\n")))
      << out;
  EXPECT_NE(out.find(" -> 1024 "), std::string::npos) << out;  // nginx0 gets all
  EXPECT_NE(out.find("flushed: nginx1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("nothing was changed"), std::string::npos) << out;
  std::tie(rc, out, err) = Run("set frontend web pool primary backend nginx0 weight 10 preview");
  EXPECT_EQ(rc, 0) << err;
  EXPECT_NE(out.find("100 -> 10"), std::string::npos) << out;
  EXPECT_NE(out.find("flushed: none\n"), std::string::npos) << out;
  std::tie(rc, out, err) = Run("set backend nginx0 drain preview");
  EXPECT_EQ(rc, 0) << err;
  std::tie(rc, out, err) = Run("set backend nginx0 pause preview");
  EXPECT_EQ(rc, 0) << err;
  std::tie(rc, out, err) = Run("set backend nginx0 resume preview");
  EXPECT_EQ(out.rfind("no VIP would change\n", 0), 0u) << out;
  std::tie(rc, out, err) = Run("set backend static0 pause preview");
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(err, "error: backend is disabled; enable it first\n");
  std::tie(rc, out, err) = Run("set backend ghost disable preview");
  EXPECT_EQ(err, "error: backend \"ghost\" not found\n");
  std::tie(rc, out, err) = Run("sync vpp lb state preview");
  EXPECT_EQ(err, "error: dataplane disabled\n");
  // A candidate file: the api frontend loses its only backend.
  std::string text = kConfig;
  text.replace(text.rfind("static0: {}"), 11, "nginx0: {}");
  std::ofstream(path_) << text;
  std::tie(rc, out, err) = Run("config check preview");
  EXPECT_EQ(rc, 0) << err;
  EXPECT_NE(out.find("frontend api vip"), std::string::npos) << out;
  std::ofstream(path_) << "maglev: [\n";
  std::tie(rc, out, err) = Run("config check preview");
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(err.rfind("error: configuration parse error: ", 0), 0u) << err;
  // Nothing above changed anything.
  std::tie(rc, out, err) = Run("show frontends web");
  EXPECT_EQ(out, before);
}

TEST_F(CliTest, ConfigCommands) {
  auto [rc, out, err] = Run("config check");
  EXPECT_EQ(rc, 0) << err;
  EXPECT_EQ(out, "config ok\n");
  std::ofstream(path_) << "maglev: [\n";
  std::tie(rc, out, err) = Run("config check");
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(err.rfind("parse error: ", 0), 0u) << err;
  std::string semantic = kConfig;
  semantic.replace(semantic.find("static0: {}\n    api"), 11, "ghost: {}");
  std::ofstream(path_) << semantic;
  std::tie(rc, out, err) = Run("config reload");
  EXPECT_EQ(rc, 2);
  EXPECT_EQ(err.rfind("semantic errors:\n", 0), 0u) << err;
  EXPECT_NE(err.find("ghost"), std::string::npos);
  std::ofstream(path_) << kConfig;
  std::tie(rc, out, err) = Run("config reload");
  EXPECT_EQ(rc, 0) << err;
  EXPECT_EQ(out, "config reloaded\n");
}

TEST_F(CliTest, WatchEventsWithCount) {
  // Ask for 2 backend events, then cause them from another thread once the
  // subscription exists.
  std::thread actor([this] {
    for (int i = 0; i < 2000 && server_->hub().subscriber_count() == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    Run("set backend nginx1 disable");
    Run("set backend nginx1 enable");
  });
  auto [rc, out, err] = Run("watch events num 2 backend");
  actor.join();
  EXPECT_EQ(rc, 0) << err;
  std::istringstream in(out);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 2u) << out;
  EXPECT_NE(lines[0].find(" backend nginx1 up -> disabled"), std::string::npos) << out;
  EXPECT_NE(lines[1].find(" backend nginx1 disabled -> unknown"), std::string::npos) << out;
}

TEST_F(CliTest, ShellCompletionAndHelpWithLiveNames) {
  Shell shell(grammar_, *client_, false);
  EXPECT_EQ(shell.TabComplete("sh fr").insert, "ontends ");
  EXPECT_EQ(shell.TabComplete("show frontends w").insert, "eb ");
  auto c = shell.TabComplete("show frontends ");
  EXPECT_EQ(c.insert, "");
  EXPECT_NE(c.print.find("api"), std::string::npos);
  EXPECT_NE(c.print.find("web"), std::string::npos);
  EXPECT_EQ(shell.TabComplete("set backend ng").insert, "inx");  // common prefix
  EXPECT_EQ(shell.TabComplete("set frontend web pool f").insert, "allback ");
  EXPECT_EQ(shell.TabComplete("set frontend web pool primary backend nginx1 w").insert, "eight ");
  std::string help = shell.HelpText("set backend nginx0 ");
  EXPECT_NE(help.find("pause"), std::string::npos);
  EXPECT_NE(help.find("disable"), std::string::npos);
  help = shell.HelpText("show healthchecks ");
  EXPECT_NE(help.find("http-healthz"), std::string::npos);
  EXPECT_NE(help.find("<cr>"), std::string::npos);
}

}  // namespace
}  // namespace maglev::cli
