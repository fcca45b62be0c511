#include "vpp/lb_api.h"

#include <cstring>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "vpp/messages.h"

namespace maglev {
namespace {

constexpr std::string_view kRetvalPayloadUrl = "maglev.vpp/retval";

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace

std::string_view LbApiLevelName(LbApiLevel level) {
  switch (level) {
    case LbApiLevel::kNone:
      return "none";
    case LbApiLevel::kLegacy:
      return "legacy";
    case LbApiLevel::kNoWeights:
      return "no-weights";
    case LbApiLevel::kWeights:
      return "weights";
  }
  return "unknown";
}

std::string DescribeLbCall(const LbCall& call) {
  return std::visit(
      Overloaded{
          [](const LbAddVip& c) {
            return absl::StrCat("add-vip ", c.spec.key.ToString(), " encap ",
                                vppmsg::Sv(LbEncapName(c.spec.encap)), " new-flows-table-length ",
                                c.spec.new_flows_table_length,
                                c.spec.src_ip_sticky ? " src-ip-sticky" : "");
          },
          [](const LbDelVip& c) { return absl::StrCat("del-vip ", c.key.ToString()); },
          [](const LbAddAs& c) {
            return absl::StrCat("add-as ", c.vip.ToString(), " ", c.address.ToString(), " weight ",
                                c.weight, c.flush ? " flush" : "");
          },
          [](const LbDelAs& c) {
            return absl::StrCat("del-as ", c.vip.ToString(), " ", c.address.ToString(),
                                c.flush ? " flush" : "");
          },
          [](const LbSetAsWeight& c) {
            return absl::StrCat("set-as-weight ", c.vip.ToString(), " ", c.address.ToString(),
                                " weight ", c.weight, c.flush ? " flush" : "");
          },
          [](const LbFlushVip& c) { return absl::StrCat("flush-vip ", c.key.ToString()); },
          [](const LbSetConf& c) {
            return absl::StrCat("set-conf ip4-src ", c.conf.ip4_src_address.ToString(), " ip6-src ",
                                c.conf.ip6_src_address.ToString(), " buckets ",
                                c.conf.sticky_buckets_per_core, " timeout ", c.conf.flow_timeout);
          },
      },
      call);
}

std::string_view VnetApiErrorName(int32_t retval) {
  // The values the lb plugin and the core messages we use can return
  // (PROTOCOL.md §4.7).
  switch (retval) {
    case 0:
      return "VNET_API_ERROR_OK";
    case -1:
      return "VNET_API_ERROR_UNSPECIFIED";
    case -2:
      return "VNET_API_ERROR_INVALID_SW_IF_INDEX";
    case -6:
      return "VNET_API_ERROR_NO_SUCH_ENTRY";
    case -7:
      return "VNET_API_ERROR_INVALID_VALUE";
    case -70:
      return "VNET_API_ERROR_INVALID_MEMORY_SIZE";
    case -73:
      return "VNET_API_ERROR_INVALID_ARGUMENT";
    case -81:
      return "VNET_API_ERROR_VALUE_EXIST";
    case -97:
      return "VNET_API_ERROR_INVALID_ADDRESS_FAMILY";
    default:
      return "";
  }
}

absl::Status VppRetvalStatus(std::string_view message, int32_t retval) {
  if (retval == 0) return absl::OkStatus();
  std::string_view name = VnetApiErrorName(retval);
  std::string text =
      name.empty() ? absl::StrCat(vppmsg::Sv(message), ": VPP error ", retval)
                   : absl::StrCat(vppmsg::Sv(message), ": ", vppmsg::Sv(name), " (", retval, ")");
  absl::StatusCode code;
  switch (retval) {
    case -6:
      code = absl::StatusCode::kNotFound;
      break;
    case -81:
      code = absl::StatusCode::kAlreadyExists;
      break;
    case -7:
    case -70:
    case -73:
    case -97:
      code = absl::StatusCode::kInvalidArgument;
      break;
    default:
      code = absl::StatusCode::kUnknown;
  }
  absl::Status s(code, text);
  s.SetPayload(vppmsg::Sv(kRetvalPayloadUrl), absl::Cord(absl::StrCat(retval)));
  return s;
}

std::optional<int32_t> VppRetvalOf(const absl::Status& status) {
  auto payload = status.GetPayload(vppmsg::Sv(kRetvalPayloadUrl));
  if (!payload) return std::nullopt;
  int32_t v = 0;
  if (!absl::SimpleAtoi(std::string(*payload), &v)) return std::nullopt;
  return v;
}

}  // namespace maglev
