#include "cli/stats_output.hpp"

#include <unistd.h>

#include "cli/terminal.hpp"
#include "render/json_text.hpp"
#include "render/render.hpp"

namespace ktstats::cli {

bool needs_meta(Format format) {
  return format == Format::kTable || is_exposition(format);
}

bool is_exposition(Format format) {
  return format == Format::kOpenMetrics || format == Format::kPrometheus;
}

Result<std::optional<StatsMeta>> meta_for_output(StatsClient& client, const Invocation& invocation) {
  if (!needs_meta(invocation.format)) return std::optional<StatsMeta>();
  auto payload = client.call({"stats_meta", {}}, Deadline::after(invocation.timeout));
  if (!payload) return std::move(payload).error();
  auto meta = parse_stats_meta(*payload);
  if (!meta) return std::move(meta).error();
  return std::optional<StatsMeta>(std::move(*meta));
}

std::string render_stats(const boost::json::value& payload, const StatsMeta* meta,
                         const Invocation& invocation) {
  if (meta == nullptr) return to_json_text(payload, invocation.format != Format::kJson);
  const bool default_target =
      !invocation.args.contains("target") || invocation.args.at("target") == "top";
  const StructMeta* root = struct_of(payload, *meta, default_target);
  if (invocation.format == Format::kTable) {
    // Split wide sections to fit a terminal; a pipe or file gets them whole.
    const auto window = window_size(STDOUT_FILENO);
    return render_table(payload, *meta, root, window ? window->columns : 0);
  }
  auto text = render_exposition(payload, *meta, root,
                                invocation.format == Format::kPrometheus ? ExpositionFormat::kPrometheus
                                                                         : ExpositionFormat::kOpenMetrics);
  // The caller ends the output with a newline of its own.
  if (!text.empty()) text.pop_back();
  return text;
}

}  // namespace ktstats::cli
