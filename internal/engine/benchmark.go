package engine

// SkipReadAuditForBenchmark makes e record no event, from now on, for value reads without an access
// limit. That breaks the audit guarantee (spec §5.4): it exists only so that a benchmark can measure
// what auditing costs against a baseline in the same run (internal/clavistest's BenchmarkSecretRead).
//
// It is a function, not a Config field, so that no configuration path (flags, environment, config file,
// all of which fill Config) can reach it; TestSkipReadAuditOnlyInHarnesses fails if code outside a test
// harness calls it.
func SkipReadAuditForBenchmark(e *Engine) { e.skipReadAudit.Store(true) }
