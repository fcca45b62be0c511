// The published message table against the shared data: every message of
// vpp-lb-messages.json under its exact name_crc, memclnt at its fixed id, lb
// messages at base + position, and the 1.1.0 set for the legacy mode.
#include "vppsim/messages.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

namespace maglev::vppsim {
namespace {

using nlohmann::json;

json Load(const std::string& name) {
  std::ifstream in(std::string(MAGLEV_SHARED_DIR) + "/vpp-api/" + name);
  EXPECT_TRUE(in.good()) << name;
  return in ? json::parse(in) : json::object();
}

std::map<std::string, uint16_t> ByNameCrc(const MessageTable& t) {
  std::map<std::string, uint16_t> out;
  for (const MessageInfo& m : t.messages()) out[m.NameCrc()] = m.id;
  return out;
}

TEST(Messages, EveryMessageOfTheSharedTableIsPublished) {
  json d = Load("vpp-lb-messages.json");
  ASSERT_TRUE(d.contains("messages"));
  MessageTable::Options o;
  o.lb_first_msg_id = 700;
  auto t = MessageTable::Create(o);
  ASSERT_TRUE(t.ok()) << t.status();
  auto ids = ByNameCrc(*t);
  size_t checked = 0;
  for (const json& m : d["messages"]) {
    const std::string name_crc = m["name_crc"];
    ASSERT_TRUE(ids.count(name_crc)) << name_crc;
    if (m.contains("fixed_msg_id")) {
      EXPECT_EQ(ids[name_crc], m["fixed_msg_id"].get<uint16_t>()) << name_crc;
    }
    if (m.contains("index_in_module")) {
      EXPECT_EQ(ids[name_crc], 700 + m["index_in_module"].get<uint16_t>()) << name_crc;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 42u);
  EXPECT_EQ(t->FirstMsgId("lb_487dee0a"), 700);
  EXPECT_EQ(t->FirstMsgId("vpe_33b45969"), kDefaultVpeFirstMsgId);
  EXPECT_EQ(t->FirstMsgId("vlib_9a9e84e4"), kDefaultVlibFirstMsgId);
  EXPECT_FALSE(t->FirstMsgId("lb_ac602d7b").has_value());  // the JSON CRC is not the block name
  EXPECT_FALSE(t->FirstMsgId("lb_31818767").has_value());
}

TEST(Messages, ModulesMatchTheirApiJson) {
  MessageTable::Options o;
  auto t = MessageTable::Create(o);
  ASSERT_TRUE(t.ok());
  auto ids = ByNameCrc(*t);
  struct File {
    const char* path;
    uint16_t base;
  };
  for (File f :
       {File{"api-json/memclnt.api.json", 1}, File{"api-json/vlib.api.json", o.vlib_first_msg_id},
        File{"api-json/vpe.api.json", o.vpe_first_msg_id},
        File{"api-json/lb.api.json", o.lb_first_msg_id}}) {
    json d = Load(f.path);
    uint16_t pos = 0;
    for (const json& m : d["messages"]) {
      std::string crc = m.back()["crc"].get<std::string>().substr(2);
      std::string name_crc = m[0].get<std::string>() + "_" + crc;
      ASSERT_TRUE(ids.count(name_crc)) << f.path << " " << name_crc;
      EXPECT_EQ(ids[name_crc], f.base + pos) << name_crc;
      ++pos;
    }
  }
  // Ids are unique.
  std::set<uint16_t> seen;
  for (const MessageInfo& m : t->messages()) EXPECT_TRUE(seen.insert(m.id).second) << m.name;
  EXPECT_EQ(t->messages().size(), 28u + 18u + 6u + 26u + 2u);
}

TEST(Messages, LegacyIsTheV2606Set) {
  json d = Load("api-json/lb-v26.06.api.json");
  MessageTable::Options o;
  o.legacy_lb = true;
  auto t = MessageTable::Create(o);
  ASSERT_TRUE(t.ok());
  auto ids = ByNameCrc(*t);
  uint16_t pos = 0;
  size_t lb = 0;
  for (const json& m : d["messages"]) {
    std::string name_crc =
        m[0].get<std::string>() + "_" + m.back()["crc"].get<std::string>().substr(2);
    ASSERT_TRUE(ids.count(name_crc)) << name_crc;
    EXPECT_EQ(ids[name_crc], o.lb_first_msg_id + pos++) << name_crc;
  }
  for (const MessageInfo& m : t->messages()) lb += m.module == "lb";
  EXPECT_EQ(lb, 18u);
  json absent = Load("vpp-lb-messages.json")["older_lb_api"]["v26.06 and earlier (lb.api 1.1.0)"]
                                            ["messages_absent"];
  ASSERT_FALSE(absent.empty());
  for (const json& name : absent) EXPECT_FALSE(t->IdOf(name.get<std::string>())) << name;
  EXPECT_EQ(t->FirstMsgId("lb_31818767"), o.lb_first_msg_id);
  EXPECT_FALSE(t->FirstMsgId("lb_487dee0a").has_value());
}

TEST(Messages, ListedInScrambledOrder) {
  auto t = MessageTable::Create({});
  ASSERT_TRUE(t.ok());
  std::vector<uint16_t> ids;
  for (const MessageInfo& m : t->messages()) ids.push_back(m.id);
  EXPECT_FALSE(std::is_sorted(ids.begin(), ids.end()));
}

TEST(Messages, RejectsOverlappingBlocks) {
  MessageTable::Options o;
  o.lb_first_msg_id = 20;  // inside memclnt
  EXPECT_FALSE(MessageTable::Create(o).ok());
  o.lb_first_msg_id = kDefaultVpeFirstMsgId + 2;  // inside vpe
  EXPECT_FALSE(MessageTable::Create(o).ok());
  o.lb_first_msg_id = 65535 - 10;  // past u16
  EXPECT_FALSE(MessageTable::Create(o).ok());
  o.lb_first_msg_id = 65535 - 25;
  EXPECT_TRUE(MessageTable::Create(o).ok());
  o.lb_first_msg_id = kDefaultVpeFirstMsgId + kVpeBlockSize;  // right after vpe
  EXPECT_TRUE(MessageTable::Create(o).ok());
}

// The simulator's own field table (what its decoders read) against the
// shared data: every request's fixed size, and every field's offset and size
// under its name in the JSON's "fields".
TEST(RequestLayouts, FixedSizesAndFieldsMatchTheSharedTable) {
  json d = Load("vpp-lb-messages.json");
  std::map<std::string, json> by_name;
  for (const json& m : d["messages"]) by_name[m["name"].get<std::string>()] = m;
  ASSERT_FALSE(by_name.empty());
  size_t fields = 0;
  for (const RequestLayout& l : RequestLayouts()) {
    SCOPED_TRACE(std::string(l.name));
    // Not an lb/memclnt message, so not in the JSON: see the next test.
    if (l.name == "ip_route_lookup") continue;
    auto it = by_name.find(std::string(l.name));
    ASSERT_NE(it, by_name.end());
    EXPECT_EQ(l.fixed_size, it->second["fixed_size"].get<uint16_t>());
    ASSERT_FALSE(l.fields.empty());
    std::set<std::string> seen;
    for (const WireField& f : l.fields) {
      SCOPED_TRACE(std::string(f.name));
      EXPECT_TRUE(seen.insert(std::string(f.name)).second) << "listed twice";
      const json* want = nullptr;
      for (const json& jf : it->second["fields"]) {
        if (jf["name"] == f.name) want = &jf;
      }
      ASSERT_NE(want, nullptr) << "no such field in the JSON";
      EXPECT_EQ(f.offset, (*want)["offset"].get<uint16_t>());
      EXPECT_EQ(f.size, (*want)["size"].get<uint16_t>());
      ++fields;
    }
    // Every field the JSON has before the fixed size ends is one the table
    // lists, except lb_vip_dump's filter (ignored, quirk 1).
    if (l.name != "lb_vip_dump") {
      EXPECT_EQ(seen.size(), it->second["fields"].size());
    }
  }
  EXPECT_EQ(RequestLayouts().size(), 22u);
  EXPECT_GT(fields, 100u);
}

// ip_route_lookup as STATS.md 4.3 lays it out: header, u32 table_id, u8
// exact, vl_api_prefix_t (18 bytes), 33 in all.
TEST(RequestLayouts, IpRouteLookupAsStatsMdLaysItOut) {
  const RequestLayout* l = FindRequestLayout("ip_route_lookup");
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->fixed_size, 33u);
  std::map<std::string, std::pair<uint16_t, uint16_t>> got;
  for (const WireField& f : l->fields) got[std::string(f.name)] = {f.offset, f.size};
  EXPECT_EQ(got["table_id"], std::make_pair(uint16_t{10}, uint16_t{4}));
  EXPECT_EQ(got["exact"], std::make_pair(uint16_t{14}, uint16_t{1}));
  EXPECT_EQ(got["prefix"], std::make_pair(uint16_t{15}, uint16_t{18}));
}

TEST(RequestLayouts, TheVipSelectorIsTheJsonsVipTypeInPlace) {
  // vl_api_lb_vip_t: pfx, protocol, port, 21 bytes; in the requests it
  // starts right after the 10-byte header.
  EXPECT_EQ(wire::kVipPfx.offset, 10);
  EXPECT_EQ(wire::kVipPfx.size, kAddressSize + 1);
  EXPECT_EQ(wire::kVipProtocol.offset, wire::kVipPfx.offset + wire::kVipPfx.size);
  EXPECT_EQ(wire::kVipPort.offset, wire::kVipProtocol.offset + 1);
  EXPECT_EQ(FindRequestLayout("lb_flush_vip")->fixed_size, 10 + 21);
  EXPECT_EQ(FindRequestLayout("no_such_message"), nullptr);
}

}  // namespace
}  // namespace maglev::vppsim
