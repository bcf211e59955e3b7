# Generates wilcox_extra.jsonl: edge cases for the rank test from R's wilcox.test
# (n = 1, conf.level 0.5 and 0.999, heavy ties, constant samples, values at
# 1e-7 and 1e9 scale). Run from stats/testdata: Rscript gen_wilcox_extra.R
# "achieved" is attr(conf.int, "conf.level"), which R changes only when the
# requested level cannot be reached.
set.seed(42)
out <- file("wilcox_extra.jsonl", "w")
fmt <- function(v) { if (is.infinite(v)) { if (v > 0) "\"+Inf\"" else "\"-Inf\"" } else sprintf("%.17g", v) }
arr <- function(x) paste0("[", paste(sprintf("%.17g", x), collapse=","), "]")
id <- 0
gen <- function(kind, n) {
  switch(kind,
    normal = rnorm(n, 100, 10),
    ties = round(rnorm(n, 10, 2)),
    poisson = rpois(n, 2),
    zeros = rbinom(n, 3, 0.1),
    heavy = rt(n, 1) * 5 + 50,
    tiny = runif(n) * 1e-6,
    huge = rnorm(n, 1e9, 1e7),
    const = rep(5, n))
}
for (i in 1:600) {
  kind <- sample(c("normal","ties","poisson","zeros","heavy","tiny","huge","const"), 1)
  nx <- sample(c(1,2,3,5,8,13,30,49,50,51,80,150,400), 1)
  ny <- sample(c(1,2,3,5,8,13,30,49,50,51,80,150,400), 1)
  x <- gen(kind, nx); y <- gen(kind, ny) + sample(c(0, 0, 1, 5), 1) * (if (kind %in% c("tiny")) 1e-7 else 1)
  if (kind == "const") y <- rep(sample(c(5, 6), 1), ny)
  alt <- sample(c("two.sided","less","greater"), 1)
  cl <- sample(c(0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999), 1)
  r <- tryCatch(suppressWarnings(wilcox.test(x, y, alternative=alt, conf.int=TRUE, conf.level=cl)), error=function(e) NULL)
  if (is.null(r)) next
  id <- id + 1
  ties <- length(unique(c(x, y))) < length(c(x, y))
  method <- if (nx < 50 && ny < 50 && !ties) "exact" else "asymptotic"
  cat(sprintf('{"id":%d,"kind":"%s","alternative":"%s","conf_level":%s,"canary":%s,"baseline":%s,"method":"%s","w":%s,"p_value":%s,"estimate":%s,"ci_low":%s,"ci_high":%s,"achieved":%s}\n',
    id, kind, alt, fmt(cl), arr(x), arr(y), method, fmt(r$statistic), fmt(r$p.value), fmt(r$estimate), fmt(r$conf.int[1]), fmt(r$conf.int[2]), fmt(attr(r$conf.int, "conf.level"))), file=out)
}
close(out)
