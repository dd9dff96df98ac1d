// HS256 and RS256 tokens: our mint and verify against each other and
// against libjwt (an independent implementation), every way a token must be
// refused, alg confusion, and what each key's scope lets it sign.

#include "libs/auth/jwt.h"

#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/testing/test_keys.h"

namespace aigw::auth {
namespace {

constexpr char kSecret[] = "test-secret-0123456789abcdef0123456789";
const absl::Time kNow = absl::FromUnixSeconds(1767225600);  // 2026-01-01

std::string B64(absl::string_view s) { return Base64UrlEncode(s); }

// A token with any header and payload, signed HS256 with `secret`.
std::string Sign(absl::string_view header_json, absl::string_view payload_json,
                 absl::string_view secret = kSecret) {
  const std::string input = absl::StrCat(B64(header_json), ".", B64(payload_json));
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return absl::StrCat(input, ".", B64(absl::string_view(reinterpret_cast<char*>(mac), len)));
}

std::string Payload(absl::string_view extra = "") {
  return absl::StrCat(R"({"sub":"alice","role":"admin","exp":)", absl::ToUnixSeconds(kNow) + 3600,
                      extra, "}");
}

Claims AdminClaims() {
  Claims c;
  c.subject = "alice";
  c.role = "admin";
  c.issued_at = kNow;
  c.expires_at = kNow + absl::Hours(1);
  return c;
}

void ExpectRefused(absl::string_view token, absl::string_view reason, absl::Time now = kNow) {
  absl::StatusOr<Claims> c = VerifyJwt(kSecret, token, now);
  ASSERT_FALSE(c.ok()) << token;
  EXPECT_EQ(c.status().code(), absl::StatusCode::kUnauthenticated) << c.status();
  EXPECT_TRUE(absl::StrContains(c.status().message(), reason)) << c.status();
}

TEST(JwtTest, MintedTokenVerifiesWithItsClaims) {
  Claims in = AdminClaims();
  in.not_before = kNow - absl::Minutes(1);
  absl::StatusOr<std::string> token = MintJwt(kSecret, in);
  ASSERT_TRUE(token.ok()) << token.status();
  absl::StatusOr<Claims> out = VerifyJwt(kSecret, *token, kNow);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->subject, "alice");
  EXPECT_EQ(out->role, "admin");
  EXPECT_EQ(out->expires_at, in.expires_at);
  EXPECT_EQ(out->issued_at, in.issued_at);
  EXPECT_EQ(out->not_before, in.not_before);
}

TEST(JwtTest, SpecialCharactersInClaimsSurvive) {
  Claims in = AdminClaims();
  in.subject = "ali\"ce\\ \xe7\x8e\x8b";
  absl::StatusOr<std::string> token = MintJwt(kSecret, in);
  ASSERT_TRUE(token.ok());
  absl::StatusOr<Claims> out = VerifyJwt(kSecret, *token, kNow);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->subject, in.subject);
}

TEST(JwtTest, LibjwtTokenVerifies) {
  jwt_t* j = nullptr;
  ASSERT_EQ(jwt_new(&j), 0);
  jwt_add_grant(j, "sub", "bob");
  jwt_add_grant(j, "role", "service");
  jwt_add_grant_int(j, "exp", absl::ToUnixSeconds(kNow) + 60);
  jwt_set_alg(j, JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(kSecret),
              static_cast<int>(strlen(kSecret)));
  char* encoded = jwt_encode_str(j);
  ASSERT_NE(encoded, nullptr);
  const std::string token(encoded);
  free(encoded);
  jwt_free(j);

  absl::StatusOr<Claims> out = VerifyJwt(kSecret, token, kNow);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->subject, "bob");
  EXPECT_EQ(out->role, "service");
  EXPECT_FALSE(VerifyJwt("another-secret-0123456789abcdef0123", token, kNow).ok());
}

TEST(JwtTest, OurTokenVerifiesWithLibjwt) {
  absl::StatusOr<std::string> token = MintJwt(kSecret, AdminClaims());
  ASSERT_TRUE(token.ok());
  jwt_t* j = nullptr;
  ASSERT_EQ(jwt_decode(&j, token->c_str(), reinterpret_cast<const unsigned char*>(kSecret),
                       static_cast<int>(strlen(kSecret))),
            0);
  EXPECT_EQ(jwt_get_alg(j), JWT_ALG_HS256);
  EXPECT_STREQ(jwt_get_grant(j, "role"), "admin");
  EXPECT_STREQ(jwt_get_grant(j, "sub"), "alice");
  EXPECT_EQ(jwt_get_grant_int(j, "exp"), absl::ToUnixSeconds(kNow) + 3600);
  jwt_free(j);
  // And libjwt refuses it under another secret: the signature is real.
  const char other[] = "another-secret-0123456789abcdef0123";
  j = nullptr;
  EXPECT_NE(jwt_decode(&j, token->c_str(), reinterpret_cast<const unsigned char*>(other),
                       static_cast<int>(strlen(other))),
            0);
  if (j != nullptr) jwt_free(j);
}

TEST(JwtTest, WrongSecretIsABadSignature) {
  const std::string token = Sign(R"({"alg":"HS256","typ":"JWT"})", Payload(),
                                 "another-secret-0123456789abcdef0123");
  ExpectRefused(token, "bad signature");
}

TEST(JwtTest, PayloadSwappedUnderAnotherSignatureIsRefused) {
  Claims user = AdminClaims();
  user.role = "user";
  absl::StatusOr<std::string> token = MintJwt(kSecret, user);
  ASSERT_TRUE(token.ok());
  std::vector<std::string> parts = absl::StrSplit(*token, '.');
  ASSERT_EQ(parts.size(), 3u);
  const std::string forged = absl::StrCat(parts[0], ".", B64(Payload()), ".", parts[2]);
  ExpectRefused(forged, "bad signature");
  // Flipping one signature character is refused too.
  std::string flipped = *token;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  ExpectRefused(flipped, "invalid token");
}

TEST(JwtTest, OnlyHs256IsAccepted) {
  // "none" with no signature, and with a valid HMAC: both refused.
  ExpectRefused(absl::StrCat(B64(R"({"alg":"none"})"), ".", B64(Payload()), "."), "alg must be HS256");
  ExpectRefused(Sign(R"({"alg":"none","typ":"JWT"})", Payload()), "alg must be HS256");
  ExpectRefused(Sign(R"({"alg":"HS512","typ":"JWT"})", Payload()), "alg must be HS256");
  // RS256 is an algorithm of ours, but only RSA keys check it: never the
  // HMAC secret.
  ExpectRefused(Sign(R"({"alg":"RS256","typ":"JWT"})", Payload()), "no accepted RS256 key");
  ExpectRefused(Sign(R"({"alg":"hs256"})", Payload()), "alg must be HS256");
  ExpectRefused(Sign(R"({"typ":"JWT"})", Payload()), "alg must be HS256");
  ExpectRefused(Sign(R"({"alg":"HS256","alg":"none"})", Payload()), "alg must be HS256");

  jwt_t* j = nullptr;
  ASSERT_EQ(jwt_new(&j), 0);
  jwt_add_grant(j, "role", "admin");
  jwt_add_grant_int(j, "exp", absl::ToUnixSeconds(kNow) + 60);
  jwt_set_alg(j, JWT_ALG_HS512, reinterpret_cast<const unsigned char*>(kSecret),
              static_cast<int>(strlen(kSecret)));
  char* hs512 = jwt_encode_str(j);
  ASSERT_NE(hs512, nullptr);
  ExpectRefused(hs512, "alg must be HS256");
  free(hs512);
  jwt_free(j);
}

TEST(JwtTest, HeaderMustNotAskForWhatWeDoNotDo) {
  EXPECT_TRUE(VerifyJwt(kSecret, Sign(R"({"alg":"HS256"})", Payload()), kNow).ok());
  ExpectRefused(Sign(R"({"alg":"HS256","typ":"JWE"})", Payload()), "typ must be JWT");
  ExpectRefused(Sign(R"({"alg":"HS256","crit":["exp"]})", Payload()), "critical");
  ExpectRefused(Sign(R"(["alg","HS256"])", Payload()), "header is not a JSON object");
}

TEST(JwtTest, ExpiryIsRequiredAndChecked) {
  absl::StatusOr<std::string> token = MintJwt(kSecret, AdminClaims());
  ASSERT_TRUE(token.ok());
  EXPECT_TRUE(VerifyJwt(kSecret, *token, kNow + absl::Hours(1) - absl::Seconds(1)).ok());
  ExpectRefused(*token, "expired", kNow + absl::Hours(1));
  ExpectRefused(*token, "expired", kNow + absl::Hours(100));

  const std::string hdr = R"({"alg":"HS256","typ":"JWT"})";
  ExpectRefused(Sign(hdr, R"({"sub":"alice","role":"admin"})"), "no exp");
  ExpectRefused(Sign(hdr, R"({"role":"admin","exp":"2100000000"})"), "exp is not a number");
  ExpectRefused(Sign(hdr, R"({"role":"admin","exp":-5})"), "out of range");
  ExpectRefused(Sign(hdr, R"({"role":"admin","exp":1e300})"), "out of range");
  ExpectRefused(Sign(hdr, R"({"role":"admin","exp":2000000000,"exp":1})"), "appears twice");
  // A fractional NumericDate is allowed.
  EXPECT_TRUE(VerifyJwt(kSecret, Sign(hdr, R"({"role":"admin","exp":1767225600.5})"), kNow).ok());
}

TEST(JwtTest, NotBeforeIsHonoured) {
  Claims c = AdminClaims();
  c.not_before = kNow + absl::Minutes(5);
  absl::StatusOr<std::string> token = MintJwt(kSecret, c);
  ASSERT_TRUE(token.ok());
  ExpectRefused(*token, "not valid yet", kNow);
  EXPECT_TRUE(VerifyJwt(kSecret, *token, kNow + absl::Minutes(5)).ok());
}

TEST(JwtTest, RoleIsRequired) {
  const std::string hdr = R"({"alg":"HS256"})";
  const std::string exp = absl::StrCat(absl::ToUnixSeconds(kNow) + 60);
  ExpectRefused(Sign(hdr, absl::StrCat(R"({"sub":"a","exp":)", exp, "}")), "no role");
  ExpectRefused(Sign(hdr, absl::StrCat(R"({"role":"","exp":)", exp, "}")), "no role");
  ExpectRefused(Sign(hdr, absl::StrCat(R"({"role":["admin"],"exp":)", exp, "}")), "not a string");
  ExpectRefused(Sign(hdr, absl::StrCat(R"({"role":"user","role":"admin","exp":)", exp, "}")),
                "appears twice");
  ExpectRefused(Sign(hdr, absl::StrCat(R"({"role":"admin","sub":7,"exp":)", exp, "}")),
                "sub is not a string");
}

TEST(JwtTest, MalformedTokensAreRefused) {
  const std::string good = *MintJwt(kSecret, AdminClaims());
  ExpectRefused("", "empty");
  ExpectRefused("abc", "compact JWS");
  ExpectRefused("a.b", "compact JWS");
  ExpectRefused(absl::StrCat(good, ".x"), "compact JWS");
  ExpectRefused(absl::StrCat("!", good), "not base64url");
  ExpectRefused(absl::StrCat(good, "="), "bad signature");
  ExpectRefused(std::string(kMaxTokenBytes + 1, 'a'), "too long");
  ExpectRefused(Sign(R"({"alg":"HS256"})", "not json"), "payload is not a JSON object");
  EXPECT_EQ(VerifyJwt("", good, kNow).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(JwtTest, MintRefusesWhatCouldNotBeVerified) {
  Claims c = AdminClaims();
  EXPECT_FALSE(MintJwt("", c).ok());
  c.role = "";
  EXPECT_FALSE(MintJwt(kSecret, c).ok());
  c = AdminClaims();
  c.expires_at = c.issued_at;
  EXPECT_FALSE(MintJwt(kSecret, c).ok());
  c.expires_at = absl::InfiniteFuture();
  EXPECT_FALSE(MintJwt(kSecret, c).ok());
}

// RS256: an operator's key pair and a service's, made once for the file.
struct Rs256Keys {
  aigw::testing::RsaKeyPem ops = aigw::testing::GenerateRsaKey();
  aigw::testing::RsaKeyPem ops_next = aigw::testing::GenerateRsaKey();
  aigw::testing::RsaKeyPem gateway = aigw::testing::GenerateRsaKey();
};
const Rs256Keys& Keys() {
  static const Rs256Keys* keys = new Rs256Keys();
  return *keys;
}

JwtKey Private(const aigw::testing::RsaKeyPem& pem) { return *JwtKey::Rs256PrivateKey(pem.private_pem); }

// What a production service accepts: the operators' public keys and the
// gateway's service public key, no secret.
JwtKeySet ProductionKeys() {
  JwtKeySet set;
  for (const auto* pem : {&Keys().ops.public_pem, &Keys().ops_next.public_pem}) {
    EXPECT_TRUE(set.Add((*JwtKey::Rs256PublicKeys(*pem, KeyScope::kOperator))[0]).ok());
  }
  EXPECT_TRUE(
      set.Add((*JwtKey::Rs256PublicKeys(Keys().gateway.public_pem, KeyScope::kService))[0]).ok());
  return set;
}

std::string Mint(const JwtKey& key, absl::string_view role) {
  Claims c = AdminClaims();
  c.role = std::string(role);
  absl::StatusOr<std::string> token = MintJwt(key, c);
  EXPECT_TRUE(token.ok()) << token.status();
  return token.value_or("");
}

void ExpectRefusedBy(const JwtKeySet& keys, absl::string_view token, absl::string_view reason) {
  absl::StatusOr<Claims> c = VerifyJwt(keys, token, kNow);
  ASSERT_FALSE(c.ok()) << token;
  EXPECT_EQ(c.status().code(), absl::StatusCode::kUnauthenticated) << c.status();
  EXPECT_TRUE(absl::StrContains(c.status().message(), reason)) << c.status();
}

// A libjwt token with `alg` over `key` (a PEM private key for RS256, the
// secret for HS256), with a kid header when one is given.
std::string LibjwtToken(jwt_alg_t alg, absl::string_view key, absl::string_view role,
                        absl::string_view kid = "") {
  jwt_t* j = nullptr;
  EXPECT_EQ(jwt_new(&j), 0);
  jwt_add_grant(j, "sub", "bob");
  jwt_add_grant(j, "role", std::string(role).c_str());
  jwt_add_grant_int(j, "exp", absl::ToUnixSeconds(kNow) + 60);
  if (!kid.empty()) jwt_add_header(j, "kid", std::string(kid).c_str());
  EXPECT_EQ(jwt_set_alg(j, alg, key.empty() ? nullptr : reinterpret_cast<const unsigned char*>(key.data()),
                        static_cast<int>(key.size())),
            0);
  char* encoded = jwt_encode_str(j);
  EXPECT_NE(encoded, nullptr);
  std::string token = encoded == nullptr ? "" : encoded;
  free(encoded);
  jwt_free(j);
  return token;
}

TEST(JwtRs256Test, MintedTokenVerifiesWithThePublicKeyAndNamesItsKid) {
  const JwtKey ops = Private(Keys().ops);
  const std::string token = Mint(ops, "admin");
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  ASSERT_EQ(parts.size(), 3u);
  std::string header;
  ASSERT_TRUE(Base64UrlDecode(parts[0], &header));
  EXPECT_EQ(header, absl::StrCat(R"({"alg":"RS256","kid":")", ops.kid(), R"(","typ":"JWT"})"));
  absl::StatusOr<Claims> out = VerifyJwt(ProductionKeys(), token, kNow);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->role, "admin");
  EXPECT_EQ(out->subject, "alice");
  // One character of the signature changed (not its last: the last one's
  // low bits are padding, and a signature may already end in what replaces
  // it; keys are new every run, so that happened about once in 4,096 runs).
  std::string tampered = token;
  const size_t at = token.rfind('.') + 1;
  tampered[at] = tampered[at] == 'A' ? 'B' : 'A';
  ExpectRefusedBy(ProductionKeys(), tampered, "bad signature");
}

TEST(JwtRs256Test, OurTokenVerifiesWithLibjwt) {
  const std::string token = Mint(Private(Keys().ops), "admin");
  const std::string& pub = Keys().ops.public_pem;
  jwt_t* j = nullptr;
  ASSERT_EQ(jwt_decode(&j, token.c_str(), reinterpret_cast<const unsigned char*>(pub.data()),
                       static_cast<int>(pub.size())),
            0);
  EXPECT_EQ(jwt_get_alg(j), JWT_ALG_RS256);
  EXPECT_STREQ(jwt_get_header(j, "kid"), Private(Keys().ops).kid().c_str());
  EXPECT_STREQ(jwt_get_grant(j, "role"), "admin");
  EXPECT_EQ(jwt_get_grant_int(j, "exp"), absl::ToUnixSeconds(kNow) + 3600);
  jwt_free(j);
  // libjwt refuses it under another public key: the signature is real.
  const std::string& other = Keys().ops_next.public_pem;
  j = nullptr;
  EXPECT_NE(jwt_decode(&j, token.c_str(), reinterpret_cast<const unsigned char*>(other.data()),
                       static_cast<int>(other.size())),
            0);
  if (j != nullptr) jwt_free(j);
}

TEST(JwtRs256Test, LibjwtTokenVerifiesWithOrWithoutKid) {
  const std::string no_kid = LibjwtToken(JWT_ALG_RS256, Keys().ops_next.private_pem, "admin");
  absl::StatusOr<Claims> out = VerifyJwt(ProductionKeys(), no_kid, kNow);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->subject, "bob");
  const std::string with_kid = LibjwtToken(JWT_ALG_RS256, Keys().ops_next.private_pem, "user",
                                           Private(Keys().ops_next).kid());
  ASSERT_TRUE(VerifyJwt(ProductionKeys(), with_kid, kNow).ok());
  // Signed by one key but naming another's kid: only the named key is
  // tried, and it does not match.
  const std::string wrong_kid = LibjwtToken(JWT_ALG_RS256, Keys().ops_next.private_pem, "admin",
                                            Private(Keys().ops).kid());
  ExpectRefusedBy(ProductionKeys(), wrong_kid, "bad signature");
  ExpectRefusedBy(ProductionKeys(),
                  LibjwtToken(JWT_ALG_RS256, Keys().ops.private_pem, "admin", "retired-key"),
                  "no accepted RS256 key has this kid");
}

TEST(JwtRs256Test, RotationAcceptsEveryListedKeyAndNothingElse) {
  // Old and new operator keys side by side: tokens of both verify.
  ASSERT_TRUE(VerifyJwt(ProductionKeys(), Mint(Private(Keys().ops), "admin"), kNow).ok());
  ASSERT_TRUE(VerifyJwt(ProductionKeys(), Mint(Private(Keys().ops_next), "admin"), kNow).ok());
  // Once the old key is dropped from the list, its tokens are refused.
  JwtKeySet after;
  ASSERT_TRUE(
      after.Add((*JwtKey::Rs256PublicKeys(Keys().ops_next.public_pem, KeyScope::kOperator))[0]).ok());
  ExpectRefusedBy(after, Mint(Private(Keys().ops), "admin"), "no accepted RS256 key has this kid");
  EXPECT_TRUE(VerifyJwt(after, Mint(Private(Keys().ops_next), "admin"), kNow).ok());
}

TEST(JwtRs256Test, AlgorithmConfusionIsRefused) {
  const JwtKeySet keys = ProductionKeys();
  // HS256 "signed" with the public key's text, the classic confusion: no
  // HS256 key is accepted, so it is refused before any signature check...
  for (const std::string* pem : {&Keys().ops.public_pem, &Keys().gateway.public_pem}) {
    ExpectRefusedBy(keys, LibjwtToken(JWT_ALG_HS256, *pem, "admin"), "no accepted HS256 key");
    ExpectRefusedBy(keys, Sign(R"({"alg":"HS256","typ":"JWT"})", Payload(), *pem),
                    "no accepted HS256 key");
  }
  // ...and where a development secret is accepted too, it is checked against
  // that secret only, never against a public key.
  JwtKeySet mixed = ProductionKeys();
  ASSERT_TRUE(mixed.Add(*JwtKey::Hs256(kSecret)).ok());
  ExpectRefusedBy(mixed, LibjwtToken(JWT_ALG_HS256, Keys().ops.public_pem, "admin"),
                  "bad signature");
  ExpectRefusedBy(
      mixed,
      LibjwtToken(JWT_ALG_HS256, Keys().ops.public_pem, "admin", Private(Keys().ops).kid()),
      "bad signature");
  // "none", from libjwt and by hand, with and without a signature.
  ExpectRefusedBy(keys, LibjwtToken(JWT_ALG_NONE, "", "admin"), "alg must be HS256 or RS256");
  ExpectRefusedBy(keys, absl::StrCat(B64(R"({"alg":"none"})"), ".", B64(Payload()), "."),
                  "alg must be HS256 or RS256");
  ExpectRefusedBy(mixed, LibjwtToken(JWT_ALG_NONE, "", "admin"), "alg must be HS256 or RS256");
  // RS512 and ES256 are not ours, whatever key made them.
  ExpectRefusedBy(keys, LibjwtToken(JWT_ALG_RS512, Keys().ops.private_pem, "admin"),
                  "alg must be HS256 or RS256");
  // The RS256 token of a key not listed.
  ExpectRefusedBy(keys, LibjwtToken(JWT_ALG_RS256, aigw::testing::GenerateRsaKey().private_pem, "admin"),
                  "bad signature");
  // A kid that is not a string.
  ExpectRefusedBy(keys, Sign(R"({"alg":"HS256","kid":7})", Payload()), "kid must be a string");
}

TEST(JwtRs256Test, AKeyVouchesOnlyForTheRolesOfItsScope) {
  const JwtKeySet keys = ProductionKeys();
  const JwtKey gateway = Private(Keys().gateway);
  // The gateway's service key makes service tokens...
  absl::StatusOr<Claims> service = VerifyJwt(keys, Mint(gateway, "service"), kNow);
  ASSERT_TRUE(service.ok()) << service.status();
  EXPECT_EQ(service->role, "service");
  // ...and nothing else: whoever holds it cannot make an admin or a caller
  // token.
  ExpectRefusedBy(keys, Mint(gateway, "admin"), "a service key signs only role service");
  ExpectRefusedBy(keys, Mint(gateway, "user"), "a service key signs only role service");
  ExpectRefusedBy(keys, LibjwtToken(JWT_ALG_RS256, Keys().gateway.private_pem, "admin"),
                  "a service key signs only role service");
  // Operators' keys make admin and caller tokens, not service tokens.
  ExpectRefusedBy(keys, Mint(Private(Keys().ops), "service"), "role service needs a service key");
  // The development secret vouches for everything.
  JwtKeySet dev = JwtKeySet::Hs256Only(kSecret);
  for (const char* role : {"admin", "service", "user"}) {
    Claims c = AdminClaims();
    c.role = role;
    EXPECT_TRUE(VerifyJwt(dev, *MintJwt(kSecret, c), kNow).ok()) << role;
  }
}

TEST(JwtRs256Test, APublicKeyCannotMint) {
  const JwtKey pub = (*JwtKey::Rs256PublicKeys(Keys().ops.public_pem, KeyScope::kOperator))[0];
  EXPECT_EQ(MintJwt(pub, AdminClaims()).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyJwt(JwtKeySet(), "a.b.c", kNow).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(Base64UrlTest, RoundTripsEveryLength) {
  std::string data;
  for (int i = 0; i < 70; ++i) {
    data.push_back(static_cast<char>((i * 37 + 11) & 0xff));
    const std::string enc = Base64UrlEncode(data);
    EXPECT_EQ(enc.find_first_of("+/="), std::string::npos) << enc;
    std::string dec;
    ASSERT_TRUE(Base64UrlDecode(enc, &dec)) << enc;
    EXPECT_EQ(dec, data);
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
}

TEST(Base64UrlTest, RefusesNonCanonicalAndForeignInput) {
  std::string out;
  EXPECT_TRUE(Base64UrlDecode("QQ", &out));
  EXPECT_EQ(out, "A");
  EXPECT_FALSE(Base64UrlDecode("QR", &out));    // stray bits past the data
  EXPECT_FALSE(Base64UrlDecode("QQ==", &out));  // padding
  EXPECT_FALSE(Base64UrlDecode("Q", &out));     // 6 bits cannot be a byte
  EXPECT_FALSE(Base64UrlDecode("a+b/", &out));  // standard alphabet
  EXPECT_FALSE(Base64UrlDecode("QQ Q", &out));  // whitespace
}

}  // namespace
}  // namespace aigw::auth
