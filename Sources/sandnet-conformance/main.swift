import KernelConformance

#if canImport(Glibc)
    import Glibc
#endif

// The lab's conformance program (scripts/guest/lab-init runs it in the Debian cloud guest):
// every check of KernelConformance's catalog, one `SANDNET-LAB-RESULT {json}` line each on
// stdout, then `SANDNET-LAB-END passed=N failed=N skipped=N`. With names as arguments, only
// those. Exit status 1 when any failed.
let wanted = Set(CommandLine.arguments.dropFirst())
var counts: [ConformanceResult.Outcome: Int] = [:]
for check in ConformanceCatalog.all where wanted.isEmpty || wanted.contains(check.name) {
    let r = ConformanceResult.run(check)
    counts[r.outcome, default: 0] += 1
    print(r.line)
    // Each line reaches the console before the next check runs (a hang then shows where).
    fflush(nil)
}
print("SANDNET-LAB-END passed=\(counts[.pass] ?? 0) failed=\(counts[.fail] ?? 0) skipped=\(counts[.skip] ?? 0)")
exit((counts[.fail] ?? 0) > 0 ? 1 : 0)
