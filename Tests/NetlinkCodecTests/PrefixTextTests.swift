import Foundation
import SandnetCore
import Testing

/// Prefix text as journals, guest descriptions and the CLI carry it.
@Suite struct PrefixTextTests {
    @Test(arguments: ["198.51.100.2/24", "2001:db8::2/64", "203.0.113.9/32"])
    func validPrefixesRoundTrip(_ text: String) throws {
        #expect(try #require(IPPrefix(text)).description == text)
    }

    @Test func anAddressAloneIsAHostPrefix() throws {
        #expect(try #require(IPPrefix("198.51.100.2")).length == 32)
        #expect(try #require(IPPrefix("2001:db8::2")).length == 128)
    }

    /// "" trapped (index out of range) until the journal fuzzer's 10M run found it.
    @Test(arguments: ["", "/", "/24", "198.51.100.2/", "198.51.100.2/33", "2001:db8::/129", "198.51.100.2/-1", "x/24"])
    func malformedTextIsNoPrefix(_ text: String) {
        #expect(IPPrefix(text) == nil)
    }

    @Test func aJournalWithAnEmptyPrefixIsADecodingErrorNotATrap() {
        let json = Data(#"{"prefix":"","scope":0,"flags":2}"#.utf8)
        struct Holder: Decodable { var prefix: IPPrefix }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Holder.self, from: json) }
    }
}
