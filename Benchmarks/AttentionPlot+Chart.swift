import Foundation

// Drawing waits for the line charts of branch `pictures` (Sources/Swiftlet/Pictures).
extension AttentionPlot {
    public func writePNG(to path: String) throws {
        throw BenchmarkError.plotUnavailable
    }
}
