#pragma once

#include <string>

#include <boost/json/value.hpp>

#include "render/stats_meta.hpp"

namespace ktstats::cli {

// The struct a stats payload is an instance of: the top struct for the
// default target, else the struct whose fields best cover the payload's
// keys; nullptr when none fits.
const StructMeta* struct_of(const boost::json::value& payload, const StatsMeta& meta,
                            bool default_target);

// One row per value: "path  value  description", dict keys and array
// indices in the path (layers[batch].util). Text from the guest is escaped.
std::string render_table(const boost::json::value& payload, const StatsMeta& meta,
                         const StructMeta* root);

// OpenMetrics text, mapped as upstream's scxstats_to_openmetrics.py does:
// a gauge per numeric datum named _om_prefix + field, dicts of structs add
// the inner struct's _om_label, _om_skip fields left out. Ends "# EOF".
std::string render_openmetrics(const boost::json::value& payload, const StatsMeta& meta,
                               const StructMeta* root);

// The schema for people, from the top struct down: each struct with its
// description, each field with its type and description.
std::string describe_meta(const StatsMeta& meta);

}  // namespace ktstats::cli
