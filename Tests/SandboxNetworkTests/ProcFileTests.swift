import Foundation
import Testing

@testable import SandboxNetwork

/// /proc reads without Foundation: the same answers as reading the file whole.
@Suite struct ProcFileTests {
    @Test func statusFieldsAreFoundAndTrimmed() throws {
        let sample = Array("Name:\tsandnet\nGroups:\t0 4 24 27 \nCapEff:\t000001ffffffffff\nCapBnd:\t0\n".utf8)
        #expect(ProcFile.field("CapEff:", in: sample) == "000001ffffffffff")
        #expect(ProcFile.field("Groups:", in: sample) == "0")
        #expect(ProcFile.field("Missing:", in: sample) == nil)
    }

    @Test func wholeFilesAreReadPastTheFirstBuffer() throws {
        let status = try #require(ProcFile.bytes("/proc/self/status"))
        // Memory figures change between two reads; the capabilities do not.
        let again = Array(try Data(contentsOf: URL(fileURLWithPath: "/proc/self/status")))
        #expect(ProcFile.field("CapEff:", in: status) != nil)
        #expect(ProcFile.field("CapEff:", in: status) == ProcFile.field("CapEff:", in: again))
        #expect(Privilege.hasNetAdmin() != nil)
        // /proc/self/maps of a Swift test process is far larger than one 4 KiB read.
        let maps = try #require(ProcFile.bytes("/proc/self/maps"))
        #expect(maps.count > 8192)
        #expect(ProcFile.bytes("/proc/self/no-such-file") == nil)
    }
}
