import Foundation

/// Something that renders to a raster image: a plot, a heatmap grid, or a bare ``Canvas``.
public protocol Picture {
    /// Draws the picture onto a fresh canvas.
    func render() -> Canvas
}

extension Picture {
    /// The picture as PNG file bytes.
    public func png() -> Data { render().png() }

    /// Saves the picture as a PNG file, atomically (a reader never sees a half-written file).
    public func write(to url: URL) throws { try AtomicFile.write(png(), to: url) }
}

/// A picture could not be made: bad input data, or a metrics log that cannot be read.
public enum PictureError: Error, Equatable, CustomStringConvertible {
    case invalidArgument(String)
    case cannotReadMetricsLog(path: String, reason: String)
    case malformedMetricsLog(path: String, line: Int, reason: String)

    public var description: String {
        switch self {
        case .invalidArgument(let message): "invalid argument: \(message)"
        case .cannotReadMetricsLog(let path, let reason): "cannot read metrics log \(path): \(reason)"
        case .malformedMetricsLog(let path, let line, let reason): "metrics log \(path), line \(line): \(reason)"
        }
    }
}
