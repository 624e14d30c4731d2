#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "render/metric_names.hpp"

namespace ktstats::cli {

// A label as the caller has it; name and value are made valid when added.
struct MetricLabel {
  std::string name;
  std::string value;
};

using MetricValue = std::variant<std::int64_t, std::uint64_t, double>;

// One exposition built up family by family, then written in either format.
// Whatever names and values it is given, the text is valid: names are
// sanitised (metric_names.hpp), no two families share a name, no sample
// has a label name twice and no family has two samples with the same label
// set. Collisions are resolved the same way every time, so the same calls
// give the same text:
// - names that needed no sanitising are served first, then the others,
//   each in the order added; a name already held becomes NAME_2, NAME_3,
//   ... (the first number free). So a valid name keeps its name beside a
//   field that sanitises to it, and an exporter's own families, added
//   before any stats, keep theirs;
// - for the labels of a sample, "the order added" is the order given (for
//   stats: the caller's labels such as vm="NAME", then each dict's label
//   from the outermost in);
// - a sample whose label set (as written) its family already has is
//   dropped: the first one stays.
// serve's /metrics names each VM's stats in an exposition of its own, then
// merges them by name (metrics/metrics_page.hpp): a VM's names never depend
// on other VMs.
class Exposition {
 public:
  enum class Type { kGauge, kCounter };
  using FamilyId = std::size_t;

  // The family the caller knows by `key`, made on first use with raw_name
  // (a counter's samples are NAME_total) and the first help text given.
  FamilyId family(std::string_view key, std::string_view raw_name, std::string_view help,
                  Type type = Type::kGauge);

  // Adds a sample; false when the family has one with the same label set
  // already (this one is dropped).
  bool add(FamilyId family, const std::vector<MetricLabel>& labels, MetricValue value);

  // The whole exposition, every line ending in a newline; OpenMetrics ends
  // with "# EOF". Families with no samples are left out.
  std::string text(ExpositionFormat format) const;

 private:
  struct Family {
    std::string raw_name;
    std::string help;  // raw
    Type type;
    std::vector<std::string> samples;  // "{labels} value" or " value"
    std::set<std::string> label_sets;
  };

  // Each family's name in the text, by FamilyId.
  std::vector<std::string> family_names() const;

  std::vector<Family> families_;
  std::map<std::string, FamilyId, std::less<>> ids_;  // by the caller's key
};

// A value as both formats spell it: integers in full, doubles in the
// shortest form that reads back the same, +Inf, -Inf and NaN.
std::string metric_value_text(const MetricValue& value);

}  // namespace ktstats::cli
