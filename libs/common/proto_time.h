#ifndef AIGW_LIBS_COMMON_PROTO_TIME_H_
#define AIGW_LIBS_COMMON_PROTO_TIME_H_

#include <cstdint>

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace aigw {

// absl::Time <-> google.protobuf.Timestamp. Seconds are floored (ToUnixSeconds
// rounds toward the infinite past), so nanos stay in [0, 1e9) before 1970 too.
inline void ToProtoTimestamp(absl::Time t, google::protobuf::Timestamp* ts) {
  const int64_t s = absl::ToUnixSeconds(t);
  ts->set_seconds(s);
  ts->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(s))));
}

inline absl::Time FromProtoTimestamp(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

}  // namespace aigw

#endif  // AIGW_LIBS_COMMON_PROTO_TIME_H_
