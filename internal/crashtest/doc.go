// Package crashtest holds the crash-durability test of Clavis (DESIGN §5, "crash-durability under
// kill -9"). It builds the clavis binary, runs it on one data directory, kills it with SIGKILL while
// concurrent clients write, restarts it and checks that every acknowledged write is still there intact,
// that version numbering has no gaps or duplicates and that the audit chain still verifies. The package
// has no non-test code; the test is TestCrashDurability, configured by CLAVIS_CRASH_CYCLES,
// CLAVIS_CRASH_WRITES and CLAVIS_CRASH_DATABASE.
package crashtest
