// Status helpers shared by every module. Debian's Abseil (20220623) has no
// public RETURN_IF_ERROR/ASSIGN_OR_RETURN, so we carry small local ones,
// prefixed MAGLEV_ so that they cannot collide with another library's.
// Thread-agnostic.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define MAGLEV_CONCAT_INNER(a, b) a##b
#define MAGLEV_CONCAT(a, b) MAGLEV_CONCAT_INNER(a, b)

// Returns from the enclosing function when `expr` (an absl::Status) is not OK.
#define MAGLEV_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::absl::Status maglev_status_ = (expr);          \
    if (!maglev_status_.ok()) return maglev_status_; \
  } while (0)

// `MAGLEV_ASSIGN_OR_RETURN(T x, StatusOrExpr)`: declares/assigns x or returns the error.
#define MAGLEV_ASSIGN_OR_RETURN(lhs, expr) \
  MAGLEV_ASSIGN_OR_RETURN_IMPL(MAGLEV_CONCAT(maglev_statusor_, __LINE__), lhs, expr)
#define MAGLEV_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()
