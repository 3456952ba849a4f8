import Foundation
import Testing

/// Runs the `swiftlet` executable built beside the test bundle (`swift build --build-tests`
/// builds both), for end-to-end tests of the command line.
struct CommandLineTool {
    struct Result {
        let status: Int32
        let output: String
        let error: String
    }

    /// The built `swiftlet`, next to the test runner executable.
    static func executable() throws -> URL {
        let directory = try #require(Bundle.main.executableURL).deletingLastPathComponent()
        let url = directory.appendingPathComponent("swiftlet")
        try #require(FileManager.default.isExecutableFile(atPath: url.path), "build the package first: \(url.path) is missing")
        return url
    }

    /// Runs `swiftlet arguments…` to completion, in `directory` when given (else this process's),
    /// with `environment` added to this process's environment.
    static func run(_ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = try executable()
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        // Read before waiting so a full pipe cannot block the child.
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      output: String(decoding: outputData, as: UTF8.self),
                      error: String(decoding: errorData, as: UTF8.self))
    }
}
