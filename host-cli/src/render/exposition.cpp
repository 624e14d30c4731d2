#include "render/exposition.hpp"

#include <charconv>
#include <cmath>

namespace ktstats::cli {
namespace {

// Hands out names by the rule in exposition.hpp: valid ones first, then
// sanitised ones, each in order; a name held already gets the first free
// number. `names_of` is the names a candidate would take.
template <typename Sanitise, typename NamesOf>
std::vector<std::string> assign_names(const std::vector<std::string>& raw_names, Sanitise sanitise,
                                      NamesOf names_of) {
  std::vector<std::string> names(raw_names.size());
  std::set<std::string> taken;
  const auto free = [&](std::size_t index, const std::string& name) {
    for (const auto& held : names_of(index, name)) {
      if (taken.contains(held)) return false;
    }
    return true;
  };
  for (const bool unchanged : {true, false}) {
    for (std::size_t i = 0; i < raw_names.size(); ++i) {
      const std::string base = sanitise(raw_names[i]);
      if ((base == raw_names[i]) != unchanged) continue;
      std::string name = base;
      for (std::size_t n = 2; !free(i, name); ++n) name = numbered_name(base, n);
      for (auto& held : names_of(i, name)) taken.insert(std::move(held));
      names[i] = std::move(name);
    }
  }
  return names;
}

std::string label_text(const std::vector<MetricLabel>& labels) {
  if (labels.empty()) return "";
  std::vector<std::string> raw_names;
  for (const auto& label : labels) raw_names.push_back(label.name);
  const auto names = assign_names(raw_names, label_name, [](std::size_t, const std::string& name) {
    return std::vector<std::string>{name};
  });
  std::string text = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) text += ",";
    text += names[i] + "=\"" + label_value_text(labels[i].value) + "\"";
  }
  return text + "}";
}

}  // namespace

std::string metric_value_text(const MetricValue& value) {
  if (const auto* number = std::get_if<std::int64_t>(&value)) return std::to_string(*number);
  if (const auto* number = std::get_if<std::uint64_t>(&value)) return std::to_string(*number);
  const double number = std::get<double>(value);
  // The exposition formats spell these out; to_chars would write "inf".
  if (std::isnan(number)) return "NaN";
  if (std::isinf(number)) return number > 0 ? "+Inf" : "-Inf";
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, number);
  return std::string(buffer, end);
}

Exposition::FamilyId Exposition::family(std::string_view key, std::string_view raw_name,
                                        std::string_view help, Type type) {
  if (const auto known = ids_.find(key); known != ids_.end()) return known->second;
  families_.push_back(Family{std::string(raw_name), std::string(help), type, {}, {}});
  ids_.emplace(std::string(key), families_.size() - 1);
  return families_.size() - 1;
}

bool Exposition::add(FamilyId id, const std::vector<MetricLabel>& labels, MetricValue value) {
  Family& family = families_.at(id);
  std::string labels_text = label_text(labels);
  if (!family.label_sets.insert(labels_text).second) return false;
  family.samples.push_back(std::move(labels_text) + " " + metric_value_text(value));
  return true;
}

// Families without samples are not written, so they take no name either.
std::vector<std::string> Exposition::family_names() const {
  std::vector<std::string> raw_names;
  std::vector<const Family*> written;
  for (const auto& family : families_) {
    if (family.samples.empty()) continue;
    raw_names.push_back(family.raw_name);
    written.push_back(&family);
  }
  // A counter NAME has samples NAME_total and, to a reader, NAME_created:
  // all three are held, so that no other family's name reads as one of them.
  const auto names_of = [&](std::size_t index, const std::string& name) {
    if (written[index]->type == Type::kCounter) {
      return std::vector<std::string>{name, name + "_total", name + "_created"};
    }
    return std::vector<std::string>{name};
  };
  auto assigned = assign_names(raw_names, metric_name, names_of);
  std::vector<std::string> names(families_.size());
  for (std::size_t i = 0; i < written.size(); ++i) {
    names[static_cast<std::size_t>(written[i] - families_.data())] = std::move(assigned[i]);
  }
  return names;
}

std::string Exposition::text(ExpositionFormat format) const {
  const bool open_metrics = format == ExpositionFormat::kOpenMetrics;
  const auto names = family_names();
  std::string out;
  for (std::size_t id = 0; id < families_.size(); ++id) {
    const Family& family = families_[id];
    if (family.samples.empty()) continue;
    const bool counter = family.type == Type::kCounter;
    const std::string sample_name = counter ? names[id] + "_total" : names[id];
    // OpenMetrics names a counter's family without _total; 0.0.4 names it
    // as its samples.
    const std::string& meta_name = open_metrics ? names[id] : sample_name;
    out += "# TYPE " + meta_name + (counter ? " counter\n" : " gauge\n");
    if (!family.help.empty()) out += "# HELP " + meta_name + " " + help_text(family.help, format) + "\n";
    for (const auto& sample : family.samples) out += sample_name + sample + "\n";
  }
  if (open_metrics) out += "# EOF\n";
  return out;
}

}  // namespace ktstats::cli
