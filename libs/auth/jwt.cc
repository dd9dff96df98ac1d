#include "libs/auth/jwt.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace aigw::auth {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
// 9999-12-31T23:59:59Z: later NumericDates are nonsense, and larger doubles
// would overflow the conversion.
constexpr double kMaxNumericDate = 253402300799.0;

absl::Status Unauthenticated(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("invalid token: ", why));
}

int DecodeChar(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// The one member named `name`; null when absent. `*duplicate` is set when
// the name occurs twice: two parsers could then disagree on the value.
const rapidjson::Value* UniqueMember(const rapidjson::Value& obj, const char* name,
                                     bool* duplicate) {
  const rapidjson::Value* found = nullptr;
  for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
    if (it->name == name) {
      if (found != nullptr) *duplicate = true;
      found = &it->value;
    }
  }
  return found;
}

// A NumericDate claim: absent (false, OK), valid (true, OK), or an error.
absl::StatusOr<bool> ReadDate(const rapidjson::Value& payload, const char* name, absl::Time* out) {
  bool duplicate = false;
  const rapidjson::Value* v = UniqueMember(payload, name, &duplicate);
  if (duplicate) return Unauthenticated(absl::StrCat("claim ", name, " appears twice"));
  if (v == nullptr) return false;
  if (!v->IsNumber()) return Unauthenticated(absl::StrCat("claim ", name, " is not a number"));
  const double seconds = v->GetDouble();
  if (!std::isfinite(seconds) || seconds < 0 || seconds > kMaxNumericDate) {
    return Unauthenticated(absl::StrCat("claim ", name, " is out of range"));
  }
  *out = absl::UnixEpoch() + absl::Seconds(seconds);
  return true;
}

absl::StatusOr<std::string> ReadString(const rapidjson::Value& payload, const char* name) {
  bool duplicate = false;
  const rapidjson::Value* v = UniqueMember(payload, name, &duplicate);
  if (duplicate) return Unauthenticated(absl::StrCat("claim ", name, " appears twice"));
  if (v == nullptr) return std::string();
  if (!v->IsString()) return Unauthenticated(absl::StrCat("claim ", name, " is not a string"));
  return std::string(v->GetString(), v->GetStringLength());
}

absl::Status ParseObject(absl::string_view encoded, const char* what, rapidjson::Document* doc) {
  std::string json;
  if (!Base64UrlDecode(encoded, &json)) {
    return Unauthenticated(absl::StrCat(what, " is not base64url"));
  }
  doc->Parse(json.data(), json.size());
  if (doc->HasParseError() || !doc->IsObject()) {
    return Unauthenticated(absl::StrCat(what, " is not a JSON object"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string Base64UrlEncode(absl::string_view data) {
  std::string out;
  out.reserve((data.size() * 4 + 2) / 3);
  size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  for (; i + 3 <= data.size(); i += 3) {
    const uint32_t v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  const size_t rest = data.size() - i;
  if (rest == 1) {
    const uint32_t v = p[i] << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
  } else if (rest == 2) {
    const uint32_t v = (p[i] << 16) | (p[i + 1] << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
  }
  return out;
}

bool Base64UrlDecode(absl::string_view text, std::string* out) {
  out->clear();
  // A lone trailing character carries only 6 bits: never valid.
  if (text.size() % 4 == 1) return false;
  out->reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int d = DecodeChar(c);
    if (d < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // Canonical form only: the bits left over must be zero, so that one byte
  // string has exactly one encoding.
  return (acc & ((1u << bits) - 1)) == 0;
}

absl::StatusOr<std::string> MintJwt(const JwtKey& key, const Claims& claims) {
  if (!key.can_sign()) {
    return absl::InvalidArgumentError("a public key cannot sign tokens: give the private key");
  }
  if (claims.role.empty()) return absl::InvalidArgumentError("a token needs a role");
  if (claims.expires_at == absl::InfinitePast() || claims.expires_at == absl::InfiniteFuture()) {
    return absl::InvalidArgumentError("a token needs a finite expiry");
  }
  if (claims.issued_at != absl::InfinitePast() && claims.expires_at <= claims.issued_at) {
    return absl::InvalidArgumentError("a token must expire after it is issued");
  }
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  if (!claims.subject.empty()) {
    w.Key("sub");
    w.String(claims.subject.data(), static_cast<rapidjson::SizeType>(claims.subject.size()));
  }
  w.Key("role");
  w.String(claims.role.data(), static_cast<rapidjson::SizeType>(claims.role.size()));
  if (claims.issued_at != absl::InfinitePast()) {
    w.Key("iat");
    w.Int64(absl::ToUnixSeconds(claims.issued_at));
  }
  if (claims.not_before != absl::InfinitePast()) {
    w.Key("nbf");
    w.Int64(absl::ToUnixSeconds(claims.not_before));
  }
  w.Key("exp");
  w.Int64(absl::ToUnixSeconds(claims.expires_at));
  w.EndObject();
  // The kid tells verifiers holding several keys (a rotation) which one to
  // use; a secret has none, as HS256 tokens never had one.
  const std::string header =
      key.kid().empty()
          ? absl::StrCat(R"({"alg":")", key.alg(), R"(","typ":"JWT"})")
          : absl::StrCat(R"({"alg":")", key.alg(), R"(","kid":")", key.kid(), R"(","typ":"JWT"})");
  const std::string signing_input =
      absl::StrCat(Base64UrlEncode(header), ".",
                   Base64UrlEncode(absl::string_view(buf.GetString(), buf.GetSize())));
  absl::StatusOr<std::string> signature = key.Sign(signing_input);
  if (!signature.ok()) return signature.status();
  return absl::StrCat(signing_input, ".", Base64UrlEncode(*signature));
}

absl::StatusOr<std::string> MintJwt(absl::string_view secret, const Claims& claims) {
  absl::StatusOr<JwtKey> key = JwtKey::Hs256(secret);
  if (!key.ok()) return key.status();
  return MintJwt(*key, claims);
}

absl::StatusOr<Claims> VerifyJwt(absl::string_view secret, absl::string_view token,
                                 absl::Time now) {
  return VerifyJwt(JwtKeySet::Hs256Only(secret), token, now);
}

namespace {

// The three parts of a compact JWS, still encoded.
struct CompactJws {
  absl::string_view header;
  absl::string_view payload;
  absl::string_view signature;
  // What the signature signs: "header.payload".
  absl::string_view signing_input;
};

absl::StatusOr<CompactJws> SplitCompactJws(absl::string_view token) {
  if (token.empty()) return Unauthenticated("empty");
  if (token.size() > kMaxTokenBytes) return Unauthenticated("too long");
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == absl::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == absl::string_view::npos || token.find('.', dot2 + 1) != absl::string_view::npos) {
    return Unauthenticated("not a compact JWS (header.payload.signature)");
  }
  return CompactJws{token.substr(0, dot1), token.substr(dot1 + 1, dot2 - dot1 - 1),
                    token.substr(dot2 + 1), token.substr(0, dot2)};
}

// What the header says about the key that signed the token.
struct JwsHeader {
  std::string alg;
  std::string kid;  // empty when the header has none
  bool has_kid = false;
};

// The header names the algorithm, but only the keys decide: a token is
// checked against keys of that algorithm alone, so an RSA public key is
// never taken as an HMAC secret, and "none" matches no key at all.
absl::StatusOr<JwsHeader> ReadHeader(absl::string_view header_b64) {
  rapidjson::Document header;
  if (absl::Status st = ParseObject(header_b64, "header", &header); !st.ok()) return st;
  bool duplicate = false;
  const rapidjson::Value* alg = UniqueMember(header, "alg", &duplicate);
  if (duplicate || alg == nullptr || !alg->IsString() ||
      (alg->GetString() != std::string(kAlgHs256) && alg->GetString() != std::string(kAlgRs256))) {
    return Unauthenticated("alg must be HS256 or RS256");
  }
  const rapidjson::Value* typ = UniqueMember(header, "typ", &duplicate);
  if (duplicate || (typ != nullptr && (!typ->IsString() || (typ->GetString() != std::string("JWT") &&
                                                           typ->GetString() != std::string("jwt"))))) {
    return Unauthenticated("typ must be JWT");
  }
  const rapidjson::Value* kid = UniqueMember(header, "kid", &duplicate);
  if (duplicate || (kid != nullptr && !kid->IsString())) return Unauthenticated("kid must be a string");
  if (header.HasMember("crit")) return Unauthenticated("critical header extensions unsupported");
  JwsHeader out;
  out.alg = alg->GetString();
  if (kid != nullptr) {
    out.kid.assign(kid->GetString(), kid->GetStringLength());
    out.has_kid = true;
  }
  return out;
}

// The accepted key whose signature the token carries.
absl::StatusOr<const JwtKey*> FindSigner(const JwtKeySet& keys, const JwsHeader& header,
                                         const CompactJws& jws) {
  const std::vector<const JwtKey*> candidates = keys.Candidates(header.alg, header.kid);
  if (candidates.empty()) {
    return Unauthenticated(absl::StrCat("no accepted ", header.alg, " key",
                                        header.has_kid ? " has this kid" : ""));
  }
  std::string signature;
  if (!Base64UrlDecode(jws.signature, &signature)) return Unauthenticated("bad signature");
  for (const JwtKey* k : candidates) {
    if (k->Verify(jws.signing_input, signature)) return k;
  }
  return Unauthenticated("bad signature");
}

absl::StatusOr<Claims> ReadClaims(absl::string_view payload_b64) {
  rapidjson::Document payload;
  if (absl::Status st = ParseObject(payload_b64, "payload", &payload); !st.ok()) return st;
  Claims claims;
  absl::StatusOr<bool> has_exp = ReadDate(payload, "exp", &claims.expires_at);
  if (!has_exp.ok()) return has_exp.status();
  if (!*has_exp) return Unauthenticated("no exp claim");
  absl::StatusOr<bool> has_nbf = ReadDate(payload, "nbf", &claims.not_before);
  if (!has_nbf.ok()) return has_nbf.status();
  absl::StatusOr<bool> has_iat = ReadDate(payload, "iat", &claims.issued_at);
  if (!has_iat.ok()) return has_iat.status();
  absl::StatusOr<std::string> role = ReadString(payload, "role");
  if (!role.ok()) return role.status();
  if (role->empty()) return Unauthenticated("no role claim");
  claims.role = *std::move(role);
  absl::StatusOr<std::string> sub = ReadString(payload, "sub");
  if (!sub.ok()) return sub.status();
  claims.subject = *std::move(sub);
  return claims;
}

// What the signer may vouch for: the gateway's key makes service tokens
// only, so whoever holds it cannot make an admin token; operators' keys
// never make service tokens, which keeps the two credentials apart.
absl::Status CheckSignerScope(const JwtKey& signer, const Claims& claims) {
  if (signer.scope() == KeyScope::kService && claims.role != kRoleService) {
    return Unauthenticated("a service key signs only role service");
  }
  if (signer.scope() == KeyScope::kOperator && claims.role == kRoleService) {
    return Unauthenticated("role service needs a service key, not an operator key");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Claims> VerifyJwt(const JwtKeySet& keys, absl::string_view token,
                                 absl::Time now) {
  if (keys.empty()) return absl::FailedPreconditionError("no key to verify tokens with");
  absl::StatusOr<CompactJws> jws = SplitCompactJws(token);
  if (!jws.ok()) return jws.status();
  absl::StatusOr<JwsHeader> header = ReadHeader(jws->header);
  if (!header.ok()) return header.status();
  absl::StatusOr<const JwtKey*> signer = FindSigner(keys, *header, *jws);
  if (!signer.ok()) return signer.status();
  absl::StatusOr<Claims> claims = ReadClaims(jws->payload);
  if (!claims.ok()) return claims.status();
  if (absl::Status st = CheckSignerScope(**signer, *claims); !st.ok()) return st;
  if (now >= claims->expires_at) return Unauthenticated("expired");
  if (now < claims->not_before) return Unauthenticated("not valid yet (nbf)");
  return claims;
}

}  // namespace aigw::auth
