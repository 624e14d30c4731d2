#pragma once

#include <optional>
#include <string>

#include <boost/json/value.hpp>

#include "cli/invocation.hpp"
#include "client/stats_client.hpp"
#include "render/stats_meta.hpp"

namespace ktstats::cli {

// Table, OpenMetrics and Prometheus output need the schema; JSON and
// pretty do not.
bool needs_meta(Format format);

// OpenMetrics or the Prometheus text format: expositions for scrapers.
bool is_exposition(Format format);

// The schema, read on the same session, when the format needs it; nullopt
// when it does not.
Result<std::optional<StatsMeta>> meta_for_output(StatsClient& client, const Invocation& invocation);

// A stats payload in the asked format; meta is null for JSON and pretty.
std::string render_stats(const boost::json::value& payload, const StatsMeta* meta,
                         const Invocation& invocation);

}  // namespace ktstats::cli
