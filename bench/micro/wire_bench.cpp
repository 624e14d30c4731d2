// Micro-benchmarks of the wire code both programs run on every line:
// framing a byte stream into lines, and the envelope's encode and decode,
// on payloads shaped like what schedulers send (a small "stats" answer and
// a 256 KiB stats_meta-like document).
#include <benchmark/benchmark.h>

#include <string>

#include "ktstats/line_framer.hpp"
#include "wire/request.hpp"
#include "wire/response.hpp"

namespace {

using ktstats::LineFramer;

const std::string kSmallAnswer =
    R"({"errno":0,"args":{"resp":{"nr_cpus":4,"total_requests":1234,"requests_delta":1,)"
    R"("session_reads":7,"busy":42.5,"mode":"fake","layers":{"batch":{"util":12.5,"nr_tasks":3,)"
    R"("note":"bulk"},"interactive":{"util":80.25,"nr_tasks":7,"note":"ui"}}}}})";

// A stats_meta answer describing as many structs as fit in `bytes`
// (newline included): the largest line the wire allows at 256 KiB.
std::string meta_answer(std::size_t bytes) {
  const std::string head = R"({"errno":0,"args":{"resp":{)";
  const std::string tail = "}}}";
  std::string structs;
  for (int s = 0;; ++s) {
    const std::string name = "Struct" + std::to_string(s);
    std::string entry = (s > 0 ? ",\"" : "\"") + name + "\":{\"name\":\"" + name +
                        "\",\"desc\":\"Statistics of one scheduling layer\",\"fields\":{";
    for (int f = 0; f < 16; ++f) {
      if (f > 0) entry += ",";
      entry += "\"field_" + std::to_string(f) + "\":{\"datum\":\"u64\",\"desc\":\"Counter number " +
               std::to_string(f) + "\",\"user\":{\"_om_prefix\":\"scx_\"}}";
    }
    entry += "},\"user\":{\"_om_label\":\"layer_name\"}}";
    if (head.size() + structs.size() + entry.size() + tail.size() + 1 > bytes) break;
    structs += entry;
  }
  return head + structs + tail;
}

// A stream of `line` repeated, newline-terminated, about `bytes` long.
std::string stream_of(const std::string& line, std::size_t bytes) {
  std::string stream;
  while (stream.size() < bytes) stream += line + "\n";
  return stream;
}

// Feeds the stream in 64 KiB reads, as the programs do, taking every line.
void frame_stream(benchmark::State& state, const std::string& stream) {
  constexpr std::size_t kRead = 64 * 1024;
  LineFramer framer;
  for (auto _ : state) {
    for (std::size_t at = 0; at < stream.size(); at += kRead) {
      framer.feed(std::string_view(stream).substr(at, kRead));
      while (auto frame = framer.next()) benchmark::DoNotOptimize(frame);
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * stream.size()));
}

void BM_FrameSmallLines(benchmark::State& state) { frame_stream(state, stream_of(kSmallAnswer, 4 << 20)); }
BENCHMARK(BM_FrameSmallLines);

void BM_Frame256KiBLines(benchmark::State& state) {
  frame_stream(state, stream_of(meta_answer(256 * 1024), 4 << 20));
}
BENCHMARK(BM_Frame256KiBLines);

void BM_EncodeRequest(benchmark::State& state) {
  const ktstats::Request request{"stats", {{"target", "top"}}};
  for (auto _ : state) benchmark::DoNotOptimize(ktstats::encode_request(request));
}
BENCHMARK(BM_EncodeRequest);

void BM_DecodeRequest(benchmark::State& state) {
  const std::string line = R"({"req":"stats","args":{"target":"top"}})";
  for (auto _ : state) benchmark::DoNotOptimize(ktstats::decode_request(line));
}
BENCHMARK(BM_DecodeRequest);

void decode_answer(benchmark::State& state, const std::string& line) {
  for (auto _ : state) {
    auto payload = ktstats::decode_resp_payload(line);
    if (!payload) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(payload);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * line.size()));
}

void BM_DecodeSmallStats(benchmark::State& state) { decode_answer(state, kSmallAnswer); }
BENCHMARK(BM_DecodeSmallStats);

void BM_Decode256KiBMeta(benchmark::State& state) { decode_answer(state, meta_answer(256 * 1024)); }
BENCHMARK(BM_Decode256KiBMeta);

}  // namespace

BENCHMARK_MAIN();
