// The table-driven codec against vpp-lb-messages.json: for every message, the
// fixed size computed from its field list and the flat layout the list
// yields (names, offsets, sizes, variable tail) are the JSON's, and the set
// of messages (name_crc, in order) is the frozen one the client offers.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "vpp/messages.h"

namespace maglev {
namespace {

namespace m = vppmsg;
using json = nlohmann::json;

std::map<std::string, json> JsonMessages() {
  std::ifstream in(std::string(MAGLEV_SHARED_DIR) + "/vpp-api/vpp-lb-messages.json");
  EXPECT_TRUE(in.good());
  std::map<std::string, json> out;
  if (!in.good()) return out;
  json doc = json::parse(in);
  for (const json& msg : doc["messages"]) out[msg["name_crc"].get<std::string>()] = msg;
  return out;
}

TEST(CodecTable, FixedSizeFromTheFieldListIsTheJsons) {
  auto by_name_crc = JsonMessages();
  ASSERT_FALSE(by_name_crc.empty());
  ASSERT_EQ(m::AllMessages().size(), std::tuple_size_v<m::AllMessageTypes>);
  for (const auto& info : m::AllMessages()) {
    SCOPED_TRACE(std::string(info.name_crc));
    auto it = by_name_crc.find(std::string(info.name_crc));
    ASSERT_NE(it, by_name_crc.end());
    EXPECT_EQ(info.fixed_size, it->second["fixed_size"].get<size_t>());
  }
}

TEST(CodecTable, FlatLayoutFromTheFieldListIsTheJsons) {
  auto by_name_crc = JsonMessages();
  ASSERT_FALSE(by_name_crc.empty());
  for (const auto& info : m::AllMessages()) {
    SCOPED_TRACE(std::string(info.name_crc));
    const json& want = by_name_crc.at(std::string(info.name_crc))["flat_fields"];
    auto got = info.flat_layout();
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      SCOPED_TRACE(got[i].name);
      EXPECT_EQ(got[i].name, want[i]["name"].get<std::string>());
      EXPECT_EQ(got[i].offset, want[i]["offset"].get<size_t>());
      EXPECT_EQ(got[i].variable, !want[i]["size"].is_number());
      if (want[i]["size"].is_number()) {
        EXPECT_EQ(got[i].size, want[i]["size"].get<size_t>());
      }
    }
  }
}

TEST(CodecTable, NestedTypesHaveTheirJsonSizes) {
  EXPECT_EQ(m::Codec<IpAddress>::kFixedSize, 17u);  // vl_api_address_t
  EXPECT_EQ(m::Codec<m::Prefix>::kFixedSize, 18u);  // vl_api_prefix_t
  EXPECT_EQ(m::Codec<m::LbVip>::kFixedSize, 21u);   // vl_api_lb_vip_t
  EXPECT_EQ(m::kMessageTableEntrySize, 66u);
  EXPECT_EQ(m::kModuleVersionSize, 76u);
}

TEST(CodecTable, MessageNamesAndCrcsAreUnchanged) {
  const std::vector<std::string> want = {
      "sockclnt_create_455fb9c4",   "sockclnt_create_reply_35166268",
      "sockclnt_delete_8ac76db6",   "sockclnt_delete_reply_8f38b1ee",
      "control_ping_51077d14",      "control_ping_reply_f6b0b8ca",
      "memclnt_keepalive_51077d14", "memclnt_keepalive_reply_e8d4e804",
      "get_first_msg_id_ebf79a66",  "get_first_msg_id_reply_7d337472",
      "api_versions_51077d14",      "api_versions_reply_5f0d99d6",
      "show_version_51077d14",      "show_version_reply_c919bde1",
      "cli_inband_f8377302",        "cli_inband_reply_05879051",
      "lb_conf_56cd3261",           "lb_conf_reply_e8d4e804",
      "lb_conf_get_51077d14",       "lb_conf_get_reply_923427ac",
      "lb_add_del_vip_6fa569c7",    "lb_add_del_vip_reply_e8d4e804",
      "lb_add_del_vip_v2_7c520e0f", "lb_add_del_vip_v2_reply_e8d4e804",
      "lb_add_del_as_35d72500",     "lb_add_del_as_reply_e8d4e804",
      "lb_add_del_as_v2_2f1d3b0e",  "lb_add_del_as_v2_reply_e8d4e804",
      "lb_as_set_weight_2d89bdbd",  "lb_as_set_weight_reply_e8d4e804",
      "lb_flush_vip_1063f819",      "lb_flush_vip_reply_e8d4e804",
      "lb_vip_dump_56110cb7",       "lb_vip_details_1329ec9b",
      "lb_as_dump_1063f819",        "lb_as_details_8d24c29e",
      "lb_as_v2_dump_1063f819",     "lb_as_v2_details_90064aae",
  };
  std::vector<std::string> got;
  for (const auto& info : m::AllMessages()) got.emplace_back(info.name_crc);
  EXPECT_EQ(got, want);
}

// The shared VIP selector is one type: a request's selector is its LbVip
// base, encoded exactly as a details message's `vip` member.
TEST(CodecTable, RequestsAndDetailsShareOneVipSelector) {
  m::LbAddDelAsV2 req;
  static_cast<m::LbVip&>(req) = {{*IpAddress::Parse("2001:db8::"), 64}, m::kProtoTcp, 443};
  m::LbAsV2Details det;
  det.vip = req;
  auto a = m::Encode(req, {1, 2, 3});
  auto b = m::Encode(det, {1, 0, 3});
  ASSERT_GE(a.size(), 10u + 21u);
  ASSERT_GE(b.size(), 6u + 21u);
  EXPECT_EQ(std::vector<uint8_t>(a.begin() + 10, a.begin() + 31),
            std::vector<uint8_t>(b.begin() + 6, b.begin() + 27));
}

// A decoder built from a field list still refuses what it must.
TEST(CodecTable, VlaCountBeyondThePayloadNamesTheField) {
  auto p = m::Encode(m::ApiVersionsReply{}, {13, 0, 1});
  p[13] = 1;  // count 1, no element
  auto d = m::Decode<m::ApiVersionsReply>(p);
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(d.status().message().find("api versions count 1 needs 76 bytes, only 0 left"),
            absl::string_view::npos)
      << d.status();
}

}  // namespace
}  // namespace maglev
