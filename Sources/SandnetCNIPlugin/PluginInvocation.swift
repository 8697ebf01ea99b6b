import Foundation

/// sandnet as a CNI plugin: one invocation in, the specification's answer out. `main`
/// prints `output` on stdout and exits with `status` (non-zero exactly when it is an error object).
public enum PluginInvocation {
    public struct Answer: Sendable {
        public var output: Data
        public var status: Int32
    }

    public static func run(environment: [String: String], stdin: Data) -> Answer {
        let request: CNIRequest
        do {
            request = try CNIRequest.parse(environment: environment, stdin: stdin)
        } catch {
            return failed(error, version: CNIRequest.errorVersion(stdin: stdin))
        }
        do {
            let out: Data?
            switch request.command {
            case .version: out = version(request.configuration.cniVersion)
            case .add: out = try ChainedAdd.run(request)
            case .delete: out = try ChainedDelete.run(request)
            case .check: out = try ChainedCheck.run(request)
            case .status: out = try Housekeeping.status(request)
            case .gc: out = try Housekeeping.gc(request)
            }
            return Answer(output: out ?? Data(), status: 0)
        } catch {
            return failed(error, version: request.configuration.cniVersion)
        }
    }

    static func version(_ cniVersion: String) -> Data {
        let o: [String: Any] = ["cniVersion": cniVersion, "supportedVersions": CNIVersions.supported]
        return (try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])) ?? Data()
    }

    static func failed(_ error: Error, version: String) -> Answer {
        let failure = error as? CNIFailure ?? CNIFailure(.wiringFailed, "\(error)")
        return Answer(output: failure.json(cniVersion: version), status: 1)
    }
}
