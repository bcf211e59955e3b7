#!/usr/bin/env python3
"""Generates the verdict scenarios in scenarios/: config, MetricSetPairList
data and the expected verdict, designed by hand (the expectations follow from
how each scenario is built, not from running judge). Deterministic: seeded."""
import json, math, os, random

R = random.Random(20261125)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scenarios")


def ar1(n, level, sd, rho=0.0):
    e = R.gauss(0, 1)
    out = []
    for _ in range(n):
        e = rho * e + math.sqrt(1 - rho * rho) * R.gauss(0, 1)
        out.append(round(level + sd * e, 6))
    return out


def pair(name, control, experiment, tags=None):
    return {"name": name, "id": name + "-id", "tags": tags or {},
            "values": {"control": control, "experiment": experiment},
            "scopes": {"control": {"stepMillis": 60000}, "experiment": {"stepMillis": 60000}}}


def kmetric(name, group, **canary):
    return {"name": name, "query": {"type": "prometheus", "metricName": name},
            "groups": [group], "scopeName": "default",
            "analysisConfigurations": {"canary": canary}}


def kconfig(name, metrics, weights, thresholds=None):
    c = {"name": name, "applications": ["demo"], "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
         "metrics": metrics, "templates": {}, "classifier": {"groupWeights": weights}}
    if thresholds:
        c["classifier"]["scoreThresholds"] = thresholds
    return c


# Expected scores per scenario and judge, worked out by hand from the classes:
# group score = 100 * PASS / counted, weighted; 0 when forced to FAIL.
SCORES = {
    "aa-independent": {"default": 100, "kayenta": 100},
    "aa-autocorrelated-20": {"default": 100, "kayenta": 90},  # 18 of 20 PASS
    "regression-high": {"default": 0, "kayenta": 0},  # critical HIGH
    "regression-low": {"default": 50, "kayenta": 50},  # traffic 0 * 50 + perf 100 * 50
    "harmless-direction": {"default": 100, "kayenta": 100},
    "spinnaker-6278-constant-shift": {"default": 0, "kayenta": 0},
    "spinnaker-6278-issue-data": {"default": 0, "kayenta": 100},
    "kayenta-426-issue-data": {"default": 0, "kayenta": 100},
    "kayenta-426-zero-inflated": {"default": 0, "kayenta": None},  # set below from the draw
    "kayenta-510-zero-baseline-mean": {"default": 0, "kayenta": 0},
    "kayenta-674-min-effect": {"default": 100, "kayenta": 0},
    "nodata-mixed": {"default": 66.67, "kayenta": 75},  # 2 of 3 counted / 3 of 4 (nan replaced passes)
    "nodata-majority": {"default": 0, "kayenta": 0},  # half NODATA
    "nodata-critical": {"default": 100, "kayenta": 0},
    "weights-fail": {"default": 30, "kayenta": 30},
    "weights-marginal": {"default": 70, "kayenta": 70},
    "muted": {"default": 100, "kayenta": 100},
    "threshold-slo": {"default": 0, "kayenta": 0},  # critical error_ratio HIGH
    "canary-stopped": {"default": 0, "kayenta": 0},
    "infinite-latency": {"default": 0, "kayenta": 0},
    "negative-metric": {"default": 0, "kayenta": 0},
}
# Scenarios whose expectation rests on one random draw of the noise rather
# than on how the data are built; their error rates are measured by the
# simulation tests instead.
NOTES = {
    "aa-independent": "one random draw of A/A noise: the expected PASS holds for this draw, not for every draw",
    "aa-autocorrelated-20": "one random draw of A/A noise: the default judge's PASS, and which of its metrics are too noisy to certify a 20% shift, hold for this draw; the kayenta judge flags m06 and m16 of this draw (its A/A failure rate on such data is measured in simulation_test.go)",
}


def write(name, config, data, expected, fmt="json"):
    for judge, exp in expected.items():
        exp["score"] = SCORES[name][judge]
    if name in NOTES:
        expected["note"] = NOTES[name]
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config." + fmt), "w") as f:
        if fmt == "json":
            json.dump(config, f, indent=1)
        else:
            f.write(config)
    with open(os.path.join(d, "data.json"), "w") as f:
        json.dump(data, f)
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)


def both(result_default, result_kayenta, classes_default, classes_kayenta):
    return {"default": {"result": result_default, "metrics": classes_default},
            "kayenta": {"result": result_kayenta, "metrics": classes_kayenta}}


# A/A: five independent metrics from the same distribution.
names = ["latency", "errors", "cpu", "memory", "throughput"]
write("aa-independent",
      kconfig("aa", [kmetric(n, "all") for n in names], {"all": 100}),
      [pair(n, ar1(60, 100, 10), ar1(60, 100, 10)) for n in names],
      both("PASS", "PASS", {n: "PASS" for n in names}, {n: "PASS" for n in names}))

# A/A on 20 autocorrelated metrics (AR(1), rho 0.6): the default judge
# corrects the variance and the multiplicity. At the level each metric is
# tested at (0.05/20 of a share), 60 such points certify a 20% shift in
# some draws but not in others: m02, m03, m05, m10 and m17 of this draw
# are not judgeable (INCONCLUSIVE, not counted), the rest PASS.
names20 = ["m%02d" % i for i in range(20)]
write("aa-autocorrelated-20",
      kconfig("aa20", [kmetric(n, "all") for n in names20], {"all": 100}),
      [pair(n, ar1(60, 100, 10, 0.6), ar1(60, 100, 10, 0.6)) for n in names20],
      both("PASS", "MARGINAL", {n: "INCONCLUSIVE" if n in ("m02", "m03", "m05", "m10", "m17") else "PASS" for n in names20},
           {n: "HIGH" if n in ("m06", "m16") else "PASS" for n in names20}))

# Clear regressions in each direction.
write("regression-high",
      kconfig("high", [kmetric("latency", "perf", direction="increase", critical=True),
                       kmetric("cpu", "perf")], {"perf": 100}),
      [pair("latency", ar1(60, 200, 20), ar1(60, 300, 20)), pair("cpu", ar1(60, 50, 5), ar1(60, 50, 5))],
      both("FAIL", "FAIL", {"latency": "HIGH", "cpu": "PASS"}, {"latency": "HIGH", "cpu": "PASS"}))
write("regression-low",
      kconfig("low", [kmetric("throughput", "traffic", direction="decrease"),
                      kmetric("latency", "perf", direction="increase")], {"traffic": 50, "perf": 50}),
      [pair("throughput", ar1(60, 1000, 50), ar1(60, 500, 50)), pair("latency", ar1(60, 200, 20), ar1(60, 200, 20))],
      both("FAIL", "FAIL", {"throughput": "LOW", "latency": "PASS"}, {"throughput": "LOW", "latency": "PASS"}))
# A decrease of a metric where only increases hurt is no regression.
write("harmless-direction",
      kconfig("harmless", [kmetric("latency", "perf", direction="increase")], {"perf": 100}),
      [pair("latency", ar1(60, 300, 20), ar1(60, 150, 20))],
      both("PASS", "PASS", {"latency": "PASS"}, {"latency": "PASS"}))

# spinnaker#6278: canary all 100 vs baseline all 1.
write("spinnaker-6278-constant-shift",
      kconfig("const", [kmetric("requests", "g")], {"g": 100}),
      [pair("requests", [1.0] * 10, [100.0] * 7)],
      both("FAIL", "FAIL", {"requests": "HIGH"}, {"requests": "HIGH"}))

# spinnaker#6278 with the issue's own numbers: 7 of 10 canary points at 100,
# baseline all 1. Kayenta's interval [~0, 99] does not clear 0.25·99 and
# passes; the default judge sees a significant, large increase.
write("spinnaker-6278-issue-data",
      kconfig("issue6278", [kmetric("requests", "g", effectSize={"allowedIncrease": 1.05, "criticalIncrease": 1.1})], {"g": 100}),
      [pair("requests", [1.0] * 10, [100.0] * 7 + [1.0] * 3)],
      both("FAIL", "PASS", {"requests": "HIGH"}, {"requests": "PASS"}))

# kayenta#426 with the issue's own numbers: errors 0,1,2,1,0,0 against zeros.
write("kayenta-426-issue-data",
      kconfig("issue426", [kmetric("errors", "errors", direction="increase")], {"errors": 100}),
      [pair("errors", [0.0] * 6, [0.0, 1.0, 2.0, 1.0, 0.0, 0.0])],
      both("FAIL", "PASS", {"errors": "HIGH"}, {"errors": "PASS"}))

# kayenta#426: zero-inflated error counter that rises. The median difference
# is 0, so Kayenta's interval cannot clear its tolerance band.
errs = [0.0] * 60
canary_errs = [float(R.choice([0, 0, 0, 1, 2])) for _ in range(60)]
SCORES["kayenta-426-zero-inflated"]["kayenta"] = 0 if sorted(canary_errs)[30] > 0 else 100
write("kayenta-426-zero-inflated",
      kconfig("zeros", [kmetric("errors", "errors", direction="increase")], {"errors": 100}),
      [pair("errors", [float(R.choice([0] * 19 + [1])) for _ in range(60)], canary_errs)],
      both("FAIL", "FAIL" if sorted(canary_errs)[30] > 0 else "PASS",
           {"errors": "HIGH"}, {"errors": "HIGH" if sorted(canary_errs)[30] > 0 else "PASS"}))

# kayenta#510: zero baseline mean; the mean ratio is undefined.
write("kayenta-510-zero-baseline-mean",
      kconfig("zeromean", [kmetric("retries", "g", direction="increase",
                                   effectSize={"allowedIncrease": 1.5})], {"g": 100}),
      [pair("retries", [0.0] * 60, ar1(60, 5, 1))],
      both("FAIL", "FAIL", {"retries": "HIGH"}, {"retries": "HIGH"}))

# kayenta#674: 5 ms -> 10 ms on a 2 s budget; the native config sets an
# absolute minimum effect of 50 ms, so the default judge passes it.
cfg674 = """# latency in milliseconds; a shift below 50 ms does not matter
name: min-effect
thresholds: {pass: 95, marginal: 75}
groups:
  - {name: latency, weight: 100}
metrics:
  - name: db_latency_ms
    groups: [latency]
    direction: increase
    minEffect: 50
    effectSize: {allowedIncrease: 1.2}
"""
write("kayenta-674-min-effect", cfg674,
      [pair("db_latency_ms", ar1(60, 5, 0.5), ar1(60, 10, 0.5))],
      both("PASS", "FAIL", {"db_latency_ms": "PASS"}, {"db_latency_ms": "HIGH"}), fmt="yaml")

# NODATA combinations: a metric missing from the data, one that must have
# data and is empty, one all-NaN with nanStrategy replace.
write("nodata-mixed",
      kconfig("nodata", [kmetric("present", "g"), kmetric("absent", "g"),
                         kmetric("required", "g", mustHaveData=True),
                         kmetric("nan", "g", nanStrategy="replace"),
                         kmetric("also_present", "g")], {"g": 100}),
      [pair("present", ar1(60, 10, 1), ar1(60, 10, 1)), pair("required", [], ar1(60, 10, 1)),
       pair("nan", ["NaN"] * 3, [None] * 3), pair("also_present", ar1(60, 10, 1), ar1(60, 10, 1))],
      both("FAIL", "MARGINAL",
           {"present": "PASS", "absent": "NODATA", "required": "NODATA_FAIL", "nan": "NODATA", "also_present": "PASS"},
           {"present": "PASS", "absent": "NODATA", "required": "NODATA_FAIL", "nan": "PASS", "also_present": "PASS"}))
# (Kayenta replaces the all-NaN series by zeros and passes them as identical,
# kayenta#700, so it scores 3 of 4 = 75: MARGINAL; the default judge treats a
# series without one real point as no data: 2 of 3 = 66.67: FAIL.)
# At least half of the metrics without data fails the canary.
write("nodata-majority",
      kconfig("nodata50", [kmetric("a", "g"), kmetric("b", "g"), kmetric("c", "g"), kmetric("d", "g")], {"g": 100}),
      [pair("a", ar1(60, 10, 1), ar1(60, 10, 1)), pair("b", ar1(60, 10, 1), ar1(60, 10, 1))],
      both("FAIL", "FAIL", {"a": "PASS", "b": "PASS", "c": "NODATA", "d": "NODATA"},
           {"a": "PASS", "b": "PASS", "c": "NODATA", "d": "NODATA"}))
# A critical metric without data fails Kayenta's canary; the default judge
# fails it only when the metric must have data.
write("nodata-critical",
      kconfig("nodatacrit", [kmetric("a", "g"), kmetric("b", "g"), kmetric("c", "g"), kmetric("gone", "g", critical=True)], {"g": 100}),
      [pair("a", ar1(60, 10, 1), ar1(60, 10, 1)), pair("b", ar1(60, 10, 1), ar1(60, 10, 1)),
       pair("c", ar1(60, 10, 1), ar1(60, 10, 1))],
      both("PASS", "FAIL", {"a": "PASS", "b": "PASS", "c": "PASS", "gone": "NODATA"},
           {"a": "PASS", "b": "PASS", "c": "PASS", "gone": "NODATA"}))

# Weights: errors (70) fail, latency (30) passes: score 30 -> FAIL; with the
# weights swapped the score is 70 -> MARGINAL at thresholds 95/60.
write("weights-fail",
      kconfig("w1", [kmetric("errors", "errors", direction="increase"), kmetric("latency", "latency", direction="increase")],
              {"errors": 70, "latency": 30}),
      [pair("errors", ar1(60, 10, 1), ar1(60, 20, 1)), pair("latency", ar1(60, 100, 5), ar1(60, 100, 5))],
      both("FAIL", "FAIL", {"errors": "HIGH", "latency": "PASS"}, {"errors": "HIGH", "latency": "PASS"}))
write("weights-marginal",
      kconfig("w2", [kmetric("errors", "errors", direction="increase"), kmetric("latency", "latency", direction="increase")],
              {"errors": 30, "latency": 70}, {"pass": 95, "marginal": 60}),
      [pair("errors", ar1(60, 10, 1), ar1(60, 20, 1)), pair("latency", ar1(60, 100, 5), ar1(60, 100, 5))],
      both("MARGINAL", "MARGINAL", {"errors": "HIGH", "latency": "PASS"}, {"errors": "HIGH", "latency": "PASS"}))
# Muted metrics are reported but not scored.
write("muted",
      kconfig("muted", [kmetric("noisy", "g", muted=True), kmetric("ok", "g")], {"g": 100}),
      [pair("noisy", ar1(60, 10, 1), ar1(60, 30, 1)), pair("ok", ar1(60, 10, 1), ar1(60, 10, 1))],
      both("PASS", "PASS", {"noisy": "HIGH", "ok": "PASS"}, {"noisy": "HIGH", "ok": "PASS"}))

# Threshold tests (native config): error ratio p99 <= 0.01 and latency p99
# <= 500 ms, plus a relative bound on the mean.
cfgthr = """name: thresholds
thresholds: {pass: 95, marginal: 75}
groups:
  - {name: slo, weight: 100}
metrics:
  - name: error_ratio
    groups: [slo]
    critical: true
    tests: [threshold]
    threshold: {aggregate: p99, max: 0.01}
  - name: latency_ms
    groups: [slo]
    tests: [mann_whitney, threshold]
    direction: increase
    threshold: {aggregate: p99, max: 500}
  - name: cpu
    groups: [slo]
    tests: [threshold]
    threshold: {aggregate: mean, maxRatio: 1.2}
"""
write("threshold-slo", cfgthr,
      [pair("error_ratio", [0.001] * 60, [0.001] * 50 + [0.05] * 10),
       pair("latency_ms", ar1(60, 300, 20), ar1(60, 300, 20)),
       pair("cpu", ar1(60, 50, 2), ar1(60, 55, 2))],
      both("FAIL", "FAIL", {"error_ratio": "HIGH", "latency_ms/mann_whitney": "PASS", "latency_ms/threshold": "PASS", "cpu": "PASS"},
           {"error_ratio": "HIGH", "latency_ms/mann_whitney": "PASS", "latency_ms/threshold": "PASS", "cpu": "PASS"}), fmt="yaml")

# A canary that stops reporting a critical metric (crashed, or its exporter
# died) while the baseline keeps reporting fails, with or without
# mustHaveData; the other three metrics are unchanged.
write("canary-stopped",
      kconfig("stopped", [kmetric("a", "g"), kmetric("b", "g"), kmetric("c", "g"),
                          kmetric("requests", "g", critical=True)], {"g": 100}),
      [pair("a", ar1(60, 10, 1), ar1(60, 10, 1)), pair("b", ar1(60, 10, 1), ar1(60, 10, 1)),
       pair("c", ar1(60, 10, 1), ar1(60, 10, 1)), pair("requests", ar1(60, 500, 20), ["NaN"] * 60)],
      both("FAIL", "FAIL", {"a": "PASS", "b": "PASS", "c": "PASS", "requests": "NODATA_FAIL"},
           {"a": "PASS", "b": "PASS", "c": "PASS", "requests": "NODATA_FAIL"}))

# histogram_quantile returns +Inf once latency passes the largest bucket:
# 20 of 30 canary p99 points are +Inf. On a critical metric any infinite
# canary point is broken data: ERROR, which fails the canary.
cfginf = """name: infinite
metrics:
  - name: p99_latency_s
    groups: [latency]
    critical: true
    direction: increase
    tests: [mann_whitney, threshold]
    threshold: {aggregate: max, max: 2.5}
"""
write("infinite-latency", cfginf,
      [pair("p99_latency_s", ar1(30, 0.8, 0.05), ar1(10, 0.8, 0.05) + ["Infinity"] * 20)],
      both("FAIL", "FAIL", {"p99_latency_s/mann_whitney": "ERROR", "p99_latency_s/threshold": "ERROR"},
           {"p99_latency_s/mann_whitney": "ERROR", "p99_latency_s/threshold": "ERROR"}), fmt="yaml")

# A metric below zero (a balance, a temperature offset) that rises from -100
# to -10: a large increase, not a mean ratio of 0.1.
cfgneg = """name: negative
metrics:
  - name: offset
    groups: [g]
    direction: increase
    effectSize: {allowedIncrease: 1.1}
"""
write("negative-metric", cfgneg,
      [pair("offset", ar1(60, -100, 5), ar1(60, -10, 5))],
      both("FAIL", "FAIL", {"offset": "HIGH"}, {"offset": "HIGH"}), fmt="yaml")
