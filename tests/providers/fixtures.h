#ifndef AIGW_TESTS_PROVIDERS_FIXTURES_H_
#define AIGW_TESTS_PROVIDERS_FIXTURES_H_

// Response bodies in the shapes the providers send (field order, nulls,
// extra fields and SSE framing as in their documentation and captures).

namespace aigw::providers::fixtures {

// gpt-4o, prompt cache hit.
inline constexpr char kOpenAiResponse[] = R"({
  "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
  "object": "chat.completion",
  "created": 1741569952,
  "model": "gpt-4o-2024-08-06",
  "choices": [
    {
      "index": 0,
      "message": {
        "role": "assistant",
        "content": "Verse 1:\nUnder neon skies we \"run\" \u2014 caf\u00e9 lights glow \u2615",
        "refusal": null,
        "annotations": []
      },
      "logprobs": null,
      "finish_reason": "stop"
    }
  ],
  "usage": {
    "prompt_tokens": 2006,
    "completion_tokens": 300,
    "total_tokens": 2306,
    "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
    "completion_tokens_details": {
      "reasoning_tokens": 0,
      "audio_tokens": 0,
      "accepted_prediction_tokens": 0,
      "rejected_prediction_tokens": 0
    }
  },
  "service_tier": "default",
  "system_fingerprint": "fp_fc9f1d7035"
})";

// o3-mini: reasoning tokens inside completion_tokens, cut by max tokens.
inline constexpr char kOpenAiReasoningResponse[] = R"({"id":"chatcmpl-AyPz0uYcGZr4VLRyMHjV7WQbYkHqZ","object":"chat.completion","created":1738960610,"model":"o3-mini-2025-01-31","choices":[{"index":0,"message":{"role":"assistant","content":"The rhyme scheme is AABB.","refusal":null},"finish_reason":"length"}],"usage":{"prompt_tokens":34,"completion_tokens":250,"total_tokens":284,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":192,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_ef58bd3122"})";

// deepseek-reasoner. DeepSeek keeps a slow non-streaming connection alive
// with blank lines before the JSON.
inline constexpr char kDeepSeekReasonerResponse[] = "\n\n\n" R"({
  "id": "931809f8-3d1c-44d9-b124-367d05e0f123",
  "object": "chat.completion",
  "created": 1739092483,
  "model": "deepseek-reasoner",
  "choices": [
    {
      "index": 0,
      "message": {
        "role": "assistant",
        "content": "Hello! How can I assist you today?",
        "reasoning_content": "Okay, the user wrote \"hello\". I should respond in a friendly manner."
      },
      "logprobs": null,
      "finish_reason": "stop"
    }
  ],
  "usage": {
    "prompt_tokens": 1000,
    "completion_tokens": 500,
    "total_tokens": 1500,
    "prompt_tokens_details": {"cached_tokens": 600},
    "completion_tokens_details": {"reasoning_tokens": 400},
    "prompt_cache_hit_tokens": 600,
    "prompt_cache_miss_tokens": 400
  },
  "system_fingerprint": "fp_7e73fd9a08"
})";

// gpt-4o stream with stream_options.include_usage: usage null on every
// chunk, then a usage chunk with empty choices, then [DONE].
inline constexpr char kOpenAiStream[] =
    R"(data: {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f9f4fb6dbf","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f9f4fb6dbf","choices":[{"index":0,"delta":{"content":"Caf\u00e9"},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f9f4fb6dbf","choices":[{"index":0,"delta":{"content":" nights \u2615,"},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f9f4fb6dbf","choices":[{"index":0,"delta":{"content":"\n\"neon\" dreams"},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f9f4fb6dbf","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}

data: {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f9f4fb6dbf","choices":[],"usage":{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,"prompt_tokens_details":{"cached_tokens":1920,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}

data: [DONE]

)";

// deepseek-reasoner stream: keep-alive comments, reasoning_content deltas
// then content deltas, usage on the finish chunk (no separate usage chunk).
inline constexpr char kDeepSeekStream[] =
    R"(: keep-alive

data: {"id":"43a31dda-92f6-4cdf-a333-bb399599a824","object":"chat.completion.chunk","created":1739097227,"model":"deepseek-reasoner","system_fingerprint":"fp_7e73fd9a08","choices":[{"index":0,"delta":{"role":"assistant","content":null,"reasoning_content":""},"logprobs":null,"finish_reason":null}]}

: keep-alive

data: {"id":"43a31dda-92f6-4cdf-a333-bb399599a824","object":"chat.completion.chunk","created":1739097227,"model":"deepseek-reasoner","system_fingerprint":"fp_7e73fd9a08","choices":[{"index":0,"delta":{"content":null,"reasoning_content":"Okay"},"logprobs":null,"finish_reason":null}]}

data: {"id":"43a31dda-92f6-4cdf-a333-bb399599a824","object":"chat.completion.chunk","created":1739097227,"model":"deepseek-reasoner","system_fingerprint":"fp_7e73fd9a08","choices":[{"index":0,"delta":{"content":null,"reasoning_content":", the user said \u4f60\u597d."},"logprobs":null,"finish_reason":null}]}

data: {"id":"43a31dda-92f6-4cdf-a333-bb399599a824","object":"chat.completion.chunk","created":1739097227,"model":"deepseek-reasoner","system_fingerprint":"fp_7e73fd9a08","choices":[{"index":0,"delta":{"content":"你好","reasoning_content":null},"logprobs":null,"finish_reason":null}]}

data: {"id":"43a31dda-92f6-4cdf-a333-bb399599a824","object":"chat.completion.chunk","created":1739097227,"model":"deepseek-reasoner","system_fingerprint":"fp_7e73fd9a08","choices":[{"index":0,"delta":{"content":"！","reasoning_content":null},"logprobs":null,"finish_reason":null}]}

data: {"id":"43a31dda-92f6-4cdf-a333-bb399599a824","object":"chat.completion.chunk","created":1739097227,"model":"deepseek-reasoner","system_fingerprint":"fp_7e73fd9a08","choices":[{"index":0,"delta":{"content":"","reasoning_content":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":1000,"completion_tokens":500,"total_tokens":1500,"prompt_tokens_details":{"cached_tokens":600},"completion_tokens_details":{"reasoning_tokens":400},"prompt_cache_hit_tokens":600,"prompt_cache_miss_tokens":400}}

data: [DONE]

)";

// Claude with extended thinking and prompt caching.
inline constexpr char kAnthropicResponse[] = R"({
  "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
  "type": "message",
  "role": "assistant",
  "model": "claude-3-7-sonnet-20250219",
  "content": [
    {"type": "thinking", "thinking": "A chorus should repeat the hook.", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"},
    {"type": "text", "text": "Chorus:\n"},
    {"type": "text", "text": "Sing it \"loud\" \u2014 tonight!"}
  ],
  "stop_reason": "end_turn",
  "stop_sequence": null,
  "usage": {
    "input_tokens": 50,
    "cache_creation_input_tokens": 1000,
    "cache_read_input_tokens": 2000,
    "output_tokens": 503,
    "service_tier": "standard"
  }
})";

// A Claude stream with a thinking block, a text block, pings, cache usage in
// message_start and the cumulative output count in message_delta.
inline constexpr char kAnthropicStream[] =
    R"(event: message_start
data: {"type":"message_start","message":{"id":"msg_01DfGoUwMtftE8VM22axQ2Jc","type":"message","role":"assistant","model":"claude-3-7-sonnet-20250219","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":50,"cache_creation_input_tokens":1000,"cache_read_input_tokens":2000,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me think:\n\n1. 27 * 453"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":" = 12,231"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"27 \u00d7 453"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":" = 12,231 \u2714"}}

event: ping
data: {"type": "ping"}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":503}}

event: message_stop
data: {"type":"message_stop"}

)";

// A Claude stream that fails part-way with an overloaded_error event.
inline constexpr char kAnthropicErrorStream[] =
    R"(event: message_start
data: {"type":"message_start","message":{"id":"msg_01Abc","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}

event: error
data: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}

)";

}  // namespace aigw::providers::fixtures

#endif  // AIGW_TESTS_PROVIDERS_FIXTURES_H_
