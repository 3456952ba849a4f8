import Foundation

/// How values map to positions along a chart axis.
public enum AxisScale: Sendable {
    case linear
    /// Base-10 logarithmic: equal distances are equal ratios. Non-positive values are not drawn.
    case log10

    /// Where `value` falls in `range`, 0 at the lower bound and 1 at the upper bound.
    func fraction(of value: Double, in range: ClosedRange<Double>) -> Double {
        switch self {
        case .linear: return (value - range.lowerBound) / (range.upperBound - range.lowerBound)
        case .log10:
            let low = Foundation.log10(range.lowerBound), high = Foundation.log10(range.upperBound)
            return (Foundation.log10(value) - low) / (high - low)
        }
    }

    /// Whether this axis can show `value`.
    func canShow(_ value: Double) -> Bool { value.isFinite && (self == .linear || value > 0) }

    /// The range to draw for `values`: their extent plus a small margin, never empty; nil when no
    /// value can be shown.
    func domain(of values: [Double], margin: Double = 0.04) -> ClosedRange<Double>? {
        let shown = values.filter(canShow)
        guard let low = shown.min(), let high = shown.max() else { return nil }
        switch self {
        case .linear:
            let pad = high > low ? (high - low) * margin : max(abs(low) * 0.1, 1)
            return (low - pad)...(high + pad)
        case .log10:
            let logLow = Foundation.log10(low), logHigh = Foundation.log10(high)
            let pad = logHigh > logLow ? (logHigh - logLow) * margin : 0.3
            return pow(10, logLow - pad)...pow(10, logHigh + pad)
        }
    }

    /// Tick marks for `range`: about `targetCount` labelled major ticks at "nice" values
    /// (1, 2 or 5 times a power of ten; on log axes the powers of ten themselves) and, on log
    /// axes, unlabelled minor ticks at 2…9 times each power.
    public func ticks(in range: ClosedRange<Double>, targetCount: Int = 6) -> AxisTicks {
        switch self {
        case .linear: return Self.linearTicks(in: range, targetCount: targetCount)
        case .log10:
            let lowExponent = Int(Foundation.log10(range.lowerBound).rounded(.down))
            let highExponent = Int(Foundation.log10(range.upperBound).rounded(.up))
            let inside = { (value: Double) in value >= range.lowerBound * (1 - 1e-9) && value <= range.upperBound * (1 + 1e-9) }
            let decades = highExponent - lowExponent
            let every = max(1, Int((Double(decades) / Double(max(1, targetCount))).rounded(.up)))
            var major = (lowExponent...highExponent).filter { $0 % every == 0 }.map { pow(10, Double($0)) }.filter(inside)
            var minor = (lowExponent...highExponent).flatMap { e in (2...9).map { Double($0) * pow(10, Double(e)) } }.filter(inside)
            if every > 1 { minor = [] }
            if major.count < 2 {
                major = (lowExponent...highExponent).flatMap { e in [1.0, 2, 5].map { $0 * pow(10, Double(e)) } }.filter(inside)
            }
            if major.count < 2 { return Self.linearTicks(in: range, targetCount: targetCount) }
            minor.removeAll { value in major.contains { abs($0 - value) <= value * 1e-9 } }
            return AxisTicks(major: major, minor: minor, step: nil)
        }
    }

    private static func linearTicks(in range: ClosedRange<Double>, targetCount: Int) -> AxisTicks {
        let span = range.upperBound - range.lowerBound
        guard span > 0, span.isFinite else { return AxisTicks(major: [range.lowerBound], minor: [], step: nil) }
        let raw = span / Double(max(1, targetCount))
        let magnitude = pow(10, Foundation.log10(raw).rounded(.down))
        let normalized = raw / magnitude
        let step = (normalized < 1.5 ? 1 : normalized < 3 ? 2 : normalized < 7 ? 5 : 10) * magnitude
        let first = (range.lowerBound / step - 1e-9).rounded(.up)
        var major: [Double] = []
        var k = first
        while k * step <= range.upperBound + step * 1e-9 {
            major.append(abs(k) < 1e-9 ? 0 : k * step)  // exact zero, never -0 or 1e-17
            k += 1
        }
        return AxisTicks(major: major, minor: [], step: step)
    }
}

/// Tick positions for one axis, and how to print them.
public struct AxisTicks: Equatable, Sendable {
    /// Labelled ticks (with grid lines).
    public var major: [Double]
    /// Small unlabelled ticks (log axes).
    public var minor: [Double]
    /// The spacing of linear ticks, which decides the decimals shown; nil for log ticks.
    public var step: Double?

    /// The text for tick `value`: as few digits as tell the ticks apart, and powers of ten
    /// written `1e-5` when very large or small.
    public func label(for value: Double) -> String {
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude >= 1e5 || magnitude < 1e-3 || (step ?? 1) < 1e-4 { return Self.scientific(value) }
        // Log and explicit ticks stand alone: the shortest form (1, 20, 0.005, 8192, 1.5).
        guard let step else { return String(format: "%.6g", value) }
        let decimals = max(0, Int((-Foundation.log10(step) - 1e-9).rounded(.up)))
        return String(format: "%.\(min(decimals, 6))f", value)
    }

    private static func scientific(_ value: Double) -> String {
        let exponent = Int(Foundation.log10(abs(value)).rounded(.down))
        let mantissa = value / pow(10, Double(exponent))
        let rounded = (mantissa * 10).rounded() / 10
        let mantissaText = rounded == rounded.rounded() ? String(Int(rounded)) : String(format: "%.1f", rounded)
        return "\(mantissaText)e\(exponent)"
    }
}
