#ifndef AIGW_TESTS_TESTING_METRIC_VALUE_H_
#define AIGW_TESTS_TESTING_METRIC_VALUE_H_

#include <map>
#include <string>

#include "prometheus/registry.h"

namespace aigw::testing {

// The value of the series `name` in `registry` whose labels include all of
// `labels` (a histogram's: its sample count); -1 when there is none.
double MetricValue(prometheus::Registry& registry, const std::string& name,
                   const std::map<std::string, std::string>& labels = {});

}  // namespace aigw::testing

#endif  // AIGW_TESTS_TESTING_METRIC_VALUE_H_
