import Testing
import TrafficControl

@Suite("Rates as tc writes them")
struct TcRateTests {
    @Test(
        arguments: [
            ("50mbit", 50_000_000), ("50Mbit", 50_000_000), ("1gbit", 1_000_000_000), ("800kbit", 800_000), ("1000", 1000),
            ("1000bit", 1000), ("6mbps", 48_000_000), ("1kbps", 8000), ("1mibit", 1_048_576), ("2kibps", 16384), ("1.5mbit", 1_500_000)
        ] as [(String, UInt64)])
    func parses(_ text: String, _ bits: UInt64) { #expect(TcRate.bitsPerSecond(text) == bits) }

    @Test(arguments: ["", "mbit", "0", "0mbit", "-5mbit", "50 mbit", "50mb", "50xbit", "1e3bit", "99999999tbit"])
    func refuses(_ text: String) { #expect(TcRate.bitsPerSecond(text) == nil) }

    @Test func printsAsTcDoes() {
        #expect(TcRate.text(bitsPerSecond: 50_000_000) == "50Mbit")
        #expect(TcRate.text(bitsPerSecond: 1_500_000) == "1.5Mbit")
        #expect(TcRate.text(bitsPerSecond: 999) == "999bit")
    }
}
