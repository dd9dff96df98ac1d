// ApiKeyStore on SQLite and MariaDB: secrets sealed at rest and masked on the
// way out (rows written by hand in plaintext included), one secret once per
// provider, today's counters, the keys a provider call may use, and what a
// validation result does to a key's status.

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "gtest/gtest.h"
#include "services/admin/admin_db.h"
#include "soci/soci.h"
#include "tests/admin/admin_test_env.h"

namespace aigw::admin {
namespace {

using ::aigw::admin::testing::AdminStoreTest;

constexpr char kSecret[] = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx1234";
constexpr char kOtherSecret[] = "sk-ant-api03-ZyXwVuTsRqPoNmLk9876";

class ApiKeyStoreTest : public AdminStoreTest {
 protected:
  std::string Status(int64_t key_id, std::string* last_error = nullptr) {
    absl::StatusOr<v1::ApiKey> k = keys_->Get(key_id);
    EXPECT_TRUE(k.ok()) << k.status();
    if (!k.ok()) return "";
    if (last_error != nullptr) *last_error = k->last_error();
    return k->status();
  }
  void SetStatus(int64_t key_id, absl::string_view status, absl::Duration cooldown_ahead =
                                                               absl::ZeroDuration()) {
    Exec(absl::StrCat("UPDATE t_ai_api_keys SET status = '", status, "', cooldown_until = ",
                      cooldown_ahead == absl::ZeroDuration()
                          ? std::string("NULL")
                          : absl::StrCat("'", FormatDbTime(clock_.Now() + cooldown_ahead), "'"),
                      " WHERE id = ", key_id));
  }
  // Whether the row still holds a cooldown_until (the answer does not show
  // it).
  bool HasCooldown(int64_t key_id) {
    long long n = 0;
    absl::Status st = db().Run([&](soci::session& s) {
      long long id = key_id;
      s << "SELECT COUNT(*) FROM t_ai_api_keys WHERE id = :id AND cooldown_until IS NOT NULL",
          soci::use(id), soci::into(n);
      return absl::OkStatus();
    });
    EXPECT_TRUE(st.ok()) << st;
    return n > 0;
  }
  std::vector<int64_t> HealthyIds(int64_t provider_id) {
    absl::StatusOr<std::vector<KeyForCall>> keys = keys_->HealthyForProvider(provider_id);
    EXPECT_TRUE(keys.ok()) << keys.status();
    std::vector<int64_t> ids;
    if (keys.ok()) {
      for (const KeyForCall& k : *keys) ids.push_back(k.key_id);
    }
    return ids;
  }
};

TEST_P(ApiKeyStoreTest, RoundTripIsMaskedAndEncryptedAtRest) {
  const int64_t openai = ProviderId("openai");
  v1::CreateKeyRequest create;
  create.set_provider_id(openai);
  create.set_key_name("OpenAI主Key");
  create.set_api_key(kSecret);
  create.set_priority(100);
  create.set_rate_limit_rpm(3500);
  create.set_rate_limit_tpm(90000);
  create.set_rate_limit_rpd(200000);
  absl::StatusOr<v1::ApiKey> made = keys_->Create(create);
  ASSERT_TRUE(made.ok()) << made.status();
  const v1::ApiKey created = *made;
  EXPECT_EQ(created.api_key(), "sk-p...1234");
  EXPECT_EQ(created.provider_code(), "openai");
  EXPECT_EQ(created.key_name(), "OpenAI主Key");
  EXPECT_EQ(created.priority(), 100);
  EXPECT_EQ(created.rate_limit_rpm(), 3500);
  EXPECT_EQ(created.rate_limit_tpm(), 90000);
  EXPECT_EQ(created.rate_limit_rpd(), 200000);
  EXPECT_TRUE(created.is_active());
  EXPECT_EQ(created.status(), "normal");
  EXPECT_FALSE(created.has_last_used_at());

  std::string hint;
  const std::string stored = Stored(created.id(), &hint);
  EXPECT_TRUE(absl::StartsWith(stored, "enc:v1:")) << stored;
  EXPECT_FALSE(absl::StrContains(stored, kSecret));
  EXPECT_FALSE(absl::StrContains(stored, "AbCdEfGh"));
  EXPECT_EQ(*box().Open(stored), kSecret);
  EXPECT_EQ(hint, "sk-p...1234");

  absl::StatusOr<v1::ApiKey> got = keys_->Get(created.id());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->SerializeAsString(), created.SerializeAsString());
  absl::StatusOr<std::vector<v1::ApiKey>> listed = keys_->List(openai);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].api_key(), "sk-p...1234");

  // Limits, priority and active change; the secret stays.
  v1::UpdateKeyRequest update;
  update.set_id(created.id());
  update.set_priority(90);
  update.set_rate_limit_rpm(0);
  update.set_rate_limit_tpm(1000);
  update.set_is_active(false);
  absl::StatusOr<v1::ApiKey> updated = keys_->Update(update);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->priority(), 90);
  EXPECT_EQ(updated->rate_limit_rpm(), 0);
  EXPECT_EQ(updated->rate_limit_tpm(), 1000);
  EXPECT_EQ(updated->rate_limit_rpd(), 200000);
  EXPECT_FALSE(updated->is_active());
  EXPECT_EQ(updated->key_name(), "OpenAI主Key");
  EXPECT_EQ(Stored(created.id()), stored);

  // A new secret is sealed afresh and puts an invalid key back to normal,
  // without its last error or cooldown.
  Exec(absl::StrCat("UPDATE t_ai_api_keys SET status = 'invalid', last_error = 'HTTP 401', "
                    "cooldown_until = '", FormatDbTime(clock_.Now() + absl::Minutes(5)),
                    "' WHERE id = ", created.id()));
  v1::UpdateKeyRequest rotate;
  rotate.set_id(created.id());
  rotate.set_api_key(kOtherSecret);
  updated = keys_->Update(rotate);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->api_key(), "sk-a...9876");
  EXPECT_EQ(updated->status(), "normal");
  EXPECT_EQ(updated->last_error(), "");
  EXPECT_FALSE(HasCooldown(created.id()));
  const std::string resealed = Stored(created.id(), &hint);
  EXPECT_NE(resealed, stored);
  EXPECT_EQ(*box().Open(resealed), kOtherSecret);
  EXPECT_EQ(hint, "sk-a...9876");

  ASSERT_TRUE(keys_->Delete(created.id()).ok());
  EXPECT_EQ(keys_->Get(created.id()).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(keys_->Delete(created.id()).code(), absl::StatusCode::kNotFound);
}

TEST_P(ApiKeyStoreTest, OneSecretOncePerProvider) {
  const int64_t openai = ProviderId("openai");
  const v1::ApiKey first = NewKey(openai, kSecret, 1);
  v1::CreateKeyRequest again;
  again.set_provider_id(openai);
  again.set_key_name("again");
  again.set_api_key(kSecret);
  absl::StatusOr<v1::ApiKey> k = keys_->Create(again);
  EXPECT_EQ(k.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(absl::StrContains(k.status().message(), absl::StrCat("(key ", first.id(), ")")))
      << k.status();
  EXPECT_FALSE(absl::StrContains(k.status().message(), kSecret)) << k.status();
  // The same secret for another provider is fine.
  again.set_provider_id(ProviderId("deepseek"));
  EXPECT_TRUE(keys_->Create(again).ok());

  // A key cannot be given another key's secret; its own again is no clash.
  const v1::ApiKey second = NewKey(openai, kOtherSecret, 2);
  v1::UpdateKeyRequest take;
  take.set_id(second.id());
  take.set_api_key(kSecret);
  EXPECT_EQ(keys_->Update(take).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(*box().Open(Stored(second.id())), kOtherSecret);
  take.set_api_key(kOtherSecret);
  EXPECT_TRUE(keys_->Update(take).ok());
}

TEST_P(ApiKeyStoreTest, KeysShowTodaysUsageAndLastUse) {
  const int64_t openai = ProviderId("openai");
  const v1::ApiKey today = NewKey(openai, kSecret, 2);
  const v1::ApiKey stale = NewKey(openai, kOtherSecret, 1);
  const absl::CivilDay day = absl::ToCivilDay(clock_.Now(), absl::UTCTimeZone());
  const std::string used = FormatDbTime(clock_.Now() - absl::Minutes(2));
  Exec(absl::StrCat("UPDATE t_ai_api_keys SET requests_count_today = 1523, "
                    "tokens_count_today = 45231, counts_date = '", absl::FormatCivilTime(day),
                    "', last_used_at = '", used, "' WHERE id = ", today.id()));
  Exec(absl::StrCat("UPDATE t_ai_api_keys SET requests_count_today = 7, tokens_count_today = 70, "
                    "counts_date = '", absl::FormatCivilTime(day - 1), "' WHERE id = ",
                    stale.id()));
  absl::StatusOr<std::vector<v1::ApiKey>> keys = keys_->List(openai);
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].id(), today.id());  // higher priority first
  EXPECT_EQ((*keys)[0].requests_count_today(), 1523);
  EXPECT_EQ((*keys)[0].tokens_count_today(), 45231);
  EXPECT_EQ((*keys)[0].last_used_at().seconds(),
            absl::ToUnixSeconds(clock_.Now() - absl::Minutes(2)));
  EXPECT_EQ((*keys)[1].requests_count_today(), 0);  // yesterday's counters
  EXPECT_EQ((*keys)[1].tokens_count_today(), 0);
  // Every provider's keys when no provider is named.
  NewKey(ProviderId("anthropic"), "sk-ant-000000000000000", 0);
  absl::StatusOr<std::vector<v1::ApiKey>> everything = keys_->List(0);
  ASSERT_TRUE(everything.ok()) << everything.status();
  EXPECT_EQ(everything->size(), 3u);
  EXPECT_EQ(keys_->List(999999).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(keys_->List(-1).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(ApiKeyStoreTest, TodayIsTheDayInTheKeypoolsTimeZone) {
  // 2026-01-01 01:00 UTC is still 2025-12-31 in New York.
  const absl::Time midnight_utc = absl::FromUnixSeconds(1767225600);
  clock_.Set(midnight_utc + absl::Hours(1));
  const v1::ApiKey key = NewKey(ProviderId("openai"), kSecret);
  Exec(absl::StrCat("UPDATE t_ai_api_keys SET requests_count_today = 9, "
                    "counts_date = '2025-12-31' WHERE id = ", key.id()));
  absl::TimeZone new_york;
  ASSERT_TRUE(absl::LoadTimeZone("America/New_York", &new_york));
  ApiKeyStore in_new_york(&db(), &box(), &clock_, new_york);
  EXPECT_EQ(in_new_york.Get(key.id())->requests_count_today(), 9);
  EXPECT_EQ(keys_->Get(key.id())->requests_count_today(), 0);  // UTC: a day later
}

TEST_P(ApiKeyStoreTest, RowsWrittenByHandAreListedMasked) {
  const int64_t openai = ProviderId("openai");
  Exec(absl::StrCat("INSERT INTO t_ai_api_keys (provider_id, key_name, api_key, priority) "
                    "VALUES (", openai, ", 'by hand', '", kSecret, "', 100)"));
  absl::StatusOr<std::vector<v1::ApiKey>> keys = keys_->List(openai);
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].api_key(), "sk-p...1234");
  EXPECT_FALSE(absl::StrContains((*keys)[0].SerializeAsString(), kSecret));
  // And it counts as a duplicate of itself.
  v1::CreateKeyRequest again;
  again.set_provider_id(openai);
  again.set_key_name("again");
  again.set_api_key(kSecret);
  EXPECT_EQ(keys_->Create(again).status().code(), absl::StatusCode::kAlreadyExists);
  // It opens for a call as it is.
  absl::StatusOr<KeyForCall> call = keys_->LoadForCall((*keys)[0].id());
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->secret, kSecret);

  // A last error written by an older version may quote the key: it is
  // listed scrubbed.
  Exec(absl::StrCat("UPDATE t_ai_api_keys SET status = 'invalid', last_error = "
                    "'Incorrect API key provided: ", kSecret, "' WHERE id = ", (*keys)[0].id()));
  keys = keys_->List(openai);
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ((*keys)[0].last_error(), "Incorrect API key provided: sk-p...1234");
}

TEST_P(ApiKeyStoreTest, LoadForCallOpensTheSecretWithItsProvider) {
  const int64_t anthropic = ProviderId("anthropic");
  const v1::ApiKey key = NewKey(anthropic, kOtherSecret);
  absl::StatusOr<KeyForCall> call = keys_->LoadForCall(key.id());
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->key_id, key.id());
  EXPECT_EQ(call->provider_id, anthropic);
  EXPECT_EQ(call->provider_code, "anthropic");
  EXPECT_EQ(call->api_format, "anthropic");
  EXPECT_EQ(call->base_url, providers_->Get(anthropic)->base_url());
  EXPECT_EQ(call->secret, kOtherSecret);
  EXPECT_EQ(call->masked, "sk-a...9876");
  EXPECT_EQ(call->status, "normal");

  // Sealed under another master key: no secret, and a clear reason.
  absl::StatusOr<crypto::SecretBox> other = crypto::SecretBox::FromMasterKey(
      "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0");
  ASSERT_TRUE(other.ok()) << other.status();
  Exec(absl::StrCat("UPDATE t_ai_api_keys SET api_key = '", *other->Seal(kOtherSecret),
                    "' WHERE id = ", key.id()));
  call = keys_->LoadForCall(key.id());
  EXPECT_EQ(call.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(call.status().message(), "master key")) << call.status();
  // Listed with its stored mask all the same.
  EXPECT_EQ(keys_->Get(key.id())->api_key(), "sk-a...9876");

  EXPECT_EQ(keys_->LoadForCall(999999).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(keys_->LoadForCall(0).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(ApiKeyStoreTest, HealthyKeysAreTheUsableOnesBestFirst) {
  const int64_t openai = ProviderId("openai");
  const v1::ApiKey low = NewKey(openai, "sk-proj-low-0000000000000001", 1);
  const v1::ApiKey high = NewKey(openai, "sk-proj-high-000000000000002", 9);
  const v1::ApiKey inactive = NewKey(openai, "sk-proj-inactive-00000000003", 8);
  const v1::ApiKey invalid = NewKey(openai, "sk-proj-invalid-000000000004", 7);
  const v1::ApiKey disabled = NewKey(openai, "sk-proj-disabled-00000000005", 6);
  const v1::ApiKey cooling = NewKey(openai, "sk-proj-cooling-000000000006", 5);
  const v1::ApiKey cooled = NewKey(openai, "sk-proj-cooled-0000000000007", 4);
  const v1::ApiKey mid = NewKey(openai, "sk-proj-mid-0000000000000008", 4);
  NewKey(ProviderId("deepseek"), "sk-proj-elsewhere-0000000009", 99);
  Exec(absl::StrCat("UPDATE t_ai_api_keys SET is_active = 0 WHERE id = ", inactive.id()));
  SetStatus(invalid.id(), "invalid");
  SetStatus(disabled.id(), "disabled");
  SetStatus(cooling.id(), "rate_limited", absl::Minutes(1));
  // A cooldown that has ended is no obstacle (the keypool sets the status
  // back on its next write).
  SetStatus(cooled.id(), "rate_limited", -absl::Seconds(1));
  EXPECT_EQ(HealthyIds(openai), (std::vector<int64_t>{high.id(), cooled.id(), mid.id(), low.id()}));
  absl::StatusOr<std::vector<KeyForCall>> keys = keys_->HealthyForProvider(openai);
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ((*keys)[0].secret, "sk-proj-high-000000000000002");
}

TEST_P(ApiKeyStoreTest, WithEveryKeyCoolingItSaysWhenTheFirstIsBack) {
  const int64_t openai = ProviderId("openai");
  absl::StatusOr<std::vector<KeyForCall>> keys = keys_->HealthyForProvider(openai);
  EXPECT_EQ(keys.status().code(), absl::StatusCode::kFailedPrecondition);  // none at all
  EXPECT_TRUE(absl::StrContains(keys.status().message(), "no usable API key")) << keys.status();

  const v1::ApiKey a = NewKey(openai, "sk-proj-cooling-000000000000001", 2);
  const v1::ApiKey b = NewKey(openai, "sk-proj-cooling-000000000000002", 1);
  SetStatus(a.id(), "rate_limited", absl::Minutes(5));
  SetStatus(b.id(), "rate_limited", absl::Minutes(2));
  keys = keys_->HealthyForProvider(openai);
  EXPECT_EQ(keys.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(absl::StrContains(keys.status().message(), "cooling down")) << keys.status();
  EXPECT_TRUE(absl::StrContains(
      keys.status().message(),
      absl::FormatTime(clock_.Now() + absl::Minutes(2), absl::UTCTimeZone())))
      << keys.status();
  clock_.Advance(absl::Minutes(3));
  EXPECT_EQ(HealthyIds(openai), (std::vector<int64_t>{b.id()}));
}

TEST_P(ApiKeyStoreTest, AValidationResultMovesOnlyWhatItSpeaksFor) {
  const int64_t openai = ProviderId("openai");
  const v1::ApiKey key = NewKey(openai, kSecret);
  // Valid and already normal: nothing changes.
  EXPECT_FALSE(*keys_->RecordValidation(key.id(), true, false, ""));
  // Rejected: invalid, with the reason.
  clock_.Advance(absl::Minutes(1));
  EXPECT_TRUE(*keys_->RecordValidation(key.id(), false, true, "Incorrect API key provided"));
  std::string last_error;
  EXPECT_EQ(Status(key.id(), &last_error), "invalid");
  EXPECT_EQ(last_error, "Incorrect API key provided");
  EXPECT_EQ(keys_->Get(key.id())->updated_at().seconds(), absl::ToUnixSeconds(clock_.Now()));
  // Rejected again: already invalid, nothing changes.
  EXPECT_FALSE(*keys_->RecordValidation(key.id(), false, true, "again"));
  EXPECT_EQ(Status(key.id(), &last_error), "invalid");
  EXPECT_EQ(last_error, "Incorrect API key provided");
  // Valid: back to normal, the error gone.
  EXPECT_TRUE(*keys_->RecordValidation(key.id(), true, false, ""));
  EXPECT_EQ(Status(key.id(), &last_error), "normal");
  EXPECT_EQ(last_error, "");
  // Neither valid nor rejected (a 5xx, a 403): nothing changes.
  EXPECT_FALSE(*keys_->RecordValidation(key.id(), false, false, "Service Unavailable"));
  EXPECT_EQ(Status(key.id()), "normal");

  // A rate-limited key that is rejected is invalid; a disabled one stays
  // disabled.
  SetStatus(key.id(), "rate_limited", absl::Minutes(1));
  EXPECT_TRUE(*keys_->RecordValidation(key.id(), false, true, "revoked"));
  EXPECT_EQ(Status(key.id()), "invalid");
  SetStatus(key.id(), "disabled");
  EXPECT_FALSE(*keys_->RecordValidation(key.id(), false, true, "revoked"));
  EXPECT_FALSE(*keys_->RecordValidation(key.id(), true, false, ""));
  EXPECT_EQ(Status(key.id()), "disabled");

  EXPECT_EQ(keys_->RecordValidation(999999, true, false, "").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(ApiKeyStoreTest, SettingAKeyBackToNormalEndsItsCooldown) {
  const v1::ApiKey key = NewKey(ProviderId("openai"), kSecret);
  SetStatus(key.id(), "rate_limited", absl::Minutes(10));
  EXPECT_TRUE(HasCooldown(key.id()));
  EXPECT_EQ(keys_->HealthyForProvider(ProviderId("openai")).status().code(),
            absl::StatusCode::kResourceExhausted);
  v1::UpdateKeyRequest normal;
  normal.set_id(key.id());
  normal.set_status("normal");
  absl::StatusOr<v1::ApiKey> updated = keys_->Update(normal);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->status(), "normal");
  EXPECT_FALSE(HasCooldown(key.id()));
  EXPECT_EQ(HealthyIds(ProviderId("openai")), (std::vector<int64_t>{key.id()}));
  EXPECT_EQ(*box().Open(Stored(key.id())), kSecret);
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiKeyStoreTest,
                         ::testing::ValuesIn(aigw::testing::TestDatabase::Backends()),
                         aigw::testing::BackendName);

}  // namespace
}  // namespace aigw::admin
