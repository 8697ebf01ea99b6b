import KernelConformance
import Testing

/// The host side of the lab without a guest: the console is read as the guest prints it,
/// and a failure or a check tested nowhere fails its host test.
@Suite struct LabReportingTests {
    static let console = """
        SANDNET-STAGE init kernel=6.1.0-57-cloud-amd64
        \(ConformanceResult(name: "link.dummy", feature: "dummy", outcome: .pass).line)
        \(ConformanceResult(name: "tc.flower", feature: "cls_flower", outcome: .fail, message: "flower filter: dst differs").line)
        \(ConformanceResult(name: "tc.htb-warning", feature: "htb", outcome: .skip, message: "kernel lacks it").line)
        SANDNET-LAB-END passed=1 failed=1 skipped=1
        SANDNET-DONE
        """

    @Test func resultLinesAreReadBackByName() throws {
        let results = try LabGuest.parse(Self.console)
        #expect(results.count == 3)
        #expect(results["tc.flower"]?.outcome == .fail)
        #expect(results["tc.flower"]?.message == "flower filter: dst differs")
        #expect(LabGuest.kernelRelease(Self.console) == "6.1.0-57-cloud-amd64")
    }

    @Test func aRunThatDidNotFinishOrCouldNotSetUpIsAnError() {
        #expect(throws: (any Error).self) { try LabGuest.parse("SANDNET-STAGE init\n") }
        #expect(throws: (any Error).self) {
            try LabGuest.parse("SANDNET-ERROR insmod dummy failed\nSANDNET-LAB-END passed=0 failed=0 skipped=0\n")
        }
    }

    @Test func failuresAndChecksTestedNowhereAreProblems() throws {
        let r = try LabGuest.parse(Self.console)
        #expect(KernelLabTests.problem(r["link.dummy"]!, hostHasIt: false, listedAsNeither: false) == nil)
        #expect(KernelLabTests.problem(r["tc.flower"]!, hostHasIt: true, listedAsNeither: false)?.contains("dst differs") == true)
        let skip = r["tc.htb-warning"]!
        #expect(KernelLabTests.problem(skip, hostHasIt: true, listedAsNeither: false) == nil)
        #expect(KernelLabTests.problem(skip, hostHasIt: false, listedAsNeither: true) == nil)
        #expect(KernelLabTests.problem(skip, hostHasIt: false, listedAsNeither: false)?.contains("not in NeitherKernel") == true)
    }

    @Test func theMatrixSaysPassSkipOrFailPerFeatureAndKernel() {
        let lab = Dictionary(
            uniqueKeysWithValues: ConformanceCatalog.all.map {
                ($0.name, ConformanceResult(name: $0.name, feature: $0.feature, outcome: $0.name == "tc.flower" ? .fail : .pass))
            })
        let host = lab.mapValues { ConformanceResult(name: $0.name, feature: $0.feature, outcome: .skip) }
        let table = FeatureMatrix.render(host: host, lab: lab, hostKernel: "h", labKernel: "6.1.0-57-cloud-amd64", labSeconds: 1)
        #expect(table.contains("| cls_flower | 1 | skip | FAIL |"))
        #expect(table.contains("| dummy | 1 | skip | pass |"))
        #expect(table.contains("lab 6.1.0-57-cloud-amd64"))
    }
}
