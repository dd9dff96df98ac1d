#ifndef AIGW_LIBS_DB_API_LOG_COLUMNS_H_
#define AIGW_LIBS_DB_API_LOG_COLUMNS_H_

#include <cstddef>
#include <cstdint>

// The text columns of t_ai_api_logs (schema.cc), in characters: the usage
// service refuses identifiers longer than their column and cuts descriptive
// text to it; the gateway bounds its call events by the same figures before
// they are queued, so an event is always storable.
namespace aigw::db::api_log {

inline constexpr size_t kMaxRequestIdChars = 64;
inline constexpr size_t kMaxProviderCodeChars = 64;
inline constexpr size_t kMaxModelChars = 128;
inline constexpr size_t kMaxUserIdChars = 128;
inline constexpr size_t kMaxIpChars = 64;
inline constexpr size_t kMaxUserAgentChars = 512;
inline constexpr size_t kMaxErrorCodeChars = 64;
inline constexpr size_t kMaxStatusChars = 16;
// TEXT holds 65535 bytes; 4 bytes per character at worst.
inline constexpr size_t kMaxErrorMessageChars = 16000;

// Figures of one call beyond any real one (a provider's usage reported
// wrong): the usage service refuses them, since a few would overflow the
// 64-bit daily sums and fail every transaction that adds to them; the
// gateway caps its call events and keypool reports to them. Ten billion
// tokens; 100 million USD.
inline constexpr int64_t kMaxTokensPerEvent = 10'000'000'000;
inline constexpr int64_t kMaxCostNanosPerEvent = 100'000'000'000'000'000;

}  // namespace aigw::db::api_log

#endif  // AIGW_LIBS_DB_API_LOG_COLUMNS_H_
