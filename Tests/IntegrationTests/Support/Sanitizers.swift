import Foundation
import XCTest

/// Whether this test process runs under a sanitizer (scripts/sanitize.sh builds the suite with
/// AddressSanitizer). Decided from the runtime itself, so nothing has to pass a flag along.
enum Sanitizers {
    /// `dlsym(RTLD_DEFAULT, …)`: RTLD_DEFAULT is the null handle on glibc.
    static let address: Bool = dlsym(nil, "__asan_init") != nil

    /// Skips a test that measures something AddressSanitizer changes by design (its shadow
    /// memory, its own malloc); the ordinary `make test` run covers it.
    static func skipUnderAddressSanitizer(_ why: String) throws {
        if address { throw XCTSkip("not meaningful under AddressSanitizer: \(why); covered by the ordinary run") }
    }
}
