#include "raylet/resources.h"

#include <cmath>
#include <sstream>

namespace flare {

namespace {
// Whole units and the fraction apart: byte counts of memory (1e12 and more)
// stay exact, where amount * kUnit would pass 2^53 and round.
int64_t ToFixed(double amount) {
  const double whole = std::floor(amount);
  return static_cast<int64_t>(whole) * ResourceSet::kUnit +
         std::llround((amount - whole) * ResourceSet::kUnit);
}
}  // namespace

ResourceSet ResourceSet::FromProto(const rpc::ResourceSet& proto) {
  ResourceSet set;
  for (const auto& [name, amount] : proto.amounts()) set.Set(name, amount);
  return set;
}

ResourceSet ResourceSet::FromMap(const std::map<std::string, double>& amounts) {
  ResourceSet set;
  for (const auto& [name, amount] : amounts) set.Set(name, amount);
  return set;
}

void ResourceSet::Set(const std::string& name, double amount) {
  const int64_t fixed = ToFixed(amount);
  if (fixed == 0) {
    amounts_.erase(name);
  } else {
    amounts_[name] = fixed;
  }
}

double ResourceSet::Get(const std::string& name) const {
  auto it = amounts_.find(name);
  return it == amounts_.end() ? 0.0 : static_cast<double>(it->second) / kUnit;
}

bool ResourceSet::IsSubsetOf(const ResourceSet& other) const {
  for (const auto& [name, amount] : amounts_) {
    auto it = other.amounts_.find(name);
    const int64_t available = it == other.amounts_.end() ? 0 : it->second;
    if (amount > available) return false;
  }
  return true;
}

void ResourceSet::Add(const ResourceSet& other) {
  for (const auto& [name, amount] : other.amounts_) amounts_[name] += amount;
}

void ResourceSet::Subtract(const ResourceSet& other) {
  // Amounts may go negative: a worker that resumes after a blocking get takes
  // its CPU back even when the node is momentarily oversubscribed.
  for (const auto& [name, amount] : other.amounts_) amounts_[name] -= amount;
}

ResourceSet ResourceSet::Only(const std::string& name) const {
  ResourceSet set;
  auto it = amounts_.find(name);
  if (it != amounts_.end()) set.amounts_[name] = it->second;
  return set;
}

std::map<std::string, double> ResourceSet::ToMap() const {
  std::map<std::string, double> out;
  for (const auto& [name, amount] : amounts_) {
    out[name] = static_cast<double>(amount) / kUnit;
  }
  return out;
}

void ResourceSet::ToProto(rpc::ResourceSet* proto) const {
  for (const auto& [name, amount] : amounts_) {
    (*proto->mutable_amounts())[name] = static_cast<double>(amount) / kUnit;
  }
}

std::string ResourceSet::ShapeKey() const {
  // Exact fixed-point amounts, sorted by name: demands that differ in any
  // unit (bytes of memory included) never share a queue.
  std::map<std::string, int64_t> sorted(amounts_.begin(), amounts_.end());
  std::string key;
  for (const auto& [name, amount] : sorted) {
    key += name;
    key += '=';
    key += std::to_string(amount);
    key += ';';
  }
  return key;
}

std::string ResourceSet::DebugString() const {
  std::ostringstream out;
  out << '{';
  bool first = true;
  for (const auto& [name, amount] : ToMap()) {
    if (!first) out << ", ";
    first = false;
    out << name << ": " << amount;
  }
  out << '}';
  return out.str();
}

}  // namespace flare
