/// Maps numbers to colours for heatmaps.
public enum ColorMap: Sendable {
    /// Matplotlib's perceptually uniform dark-purple → green → yellow map.
    case viridis
    /// Matplotlib's black → purple → orange → light-yellow map.
    case magma

    /// The colour of `fraction` (0...1, clamped) along the map.
    public func color(at fraction: Double) -> RGB {
        let stops = self == .viridis ? Self.viridisStops : Self.magmaStops
        let t = fraction.isNaN ? 0 : min(1, max(0, fraction))
        let position = t * Double(stops.count - 1)
        let index = min(stops.count - 2, Int(position))
        return RGB(hex: stops[index]).mixed(with: RGB(hex: stops[index + 1]), amount: position - Double(index))
    }

    /// The colour of `value` within `range`.
    public func color(for value: Double, in range: ClosedRange<Double>) -> RGB {
        let span = range.upperBound - range.lowerBound
        return color(at: span > 0 ? (value - range.lowerBound) / span : 0.5)
    }

    // The maps sampled at 0, 0.1, …, 1 (matplotlib's tables); linear interpolation between
    // neighbouring samples stays within a few levels of the full 256-entry tables.
    private static let viridisStops: [UInt32] = [0x440154, 0x482475, 0x414487, 0x355F8D, 0x2A788E, 0x21918C,
                                                 0x22A884, 0x44BF70, 0x7AD151, 0xBDDF26, 0xFDE725]
    private static let magmaStops: [UInt32] = [0x000004, 0x140E36, 0x3B0F70, 0x641A80, 0x8C2981, 0xB73779,
                                               0xDE4968, 0xF7705C, 0xFE9F6D, 0xFECF92, 0xFCFDBF]

    /// Draws a vertical colour bar in `rect` (high values at the top) with tick labels to its right.
    /// - Returns: the width used, bar and labels together.
    @discardableResult
    func drawColorBar(on canvas: inout Canvas, in rect: PixelRect, range: ClosedRange<Double>, label: String?,
                      scale: Int) -> Int {
        guard rect.height > 1 else { return 0 }
        for row in 0..<rect.height {
            let fraction = 1 - Double(row) / Double(rect.height - 1)
            canvas.fillRectangle(PixelRect(x: rect.x, y: rect.y + row, width: rect.width, height: 1),
                                 color: color(at: fraction))
        }
        canvas.strokeRectangle(rect, color: .axis)
        let axis = AxisScale.linear
        let ticks = axis.ticks(in: range, targetCount: max(2, rect.height / (BitmapFont.height(scale: scale) * 5)))
        var labelWidth = 0
        for tick in ticks.major {
            let y = rect.maxY - 1 - Int(((tick - range.lowerBound) / (range.upperBound - range.lowerBound)
                * Double(rect.height - 1)).rounded())
            canvas.fillRectangle(PixelRect(x: rect.maxX, y: y, width: 3, height: 1), color: .axis)
            let text = ticks.label(for: tick)
            canvas.drawText(text, x: rect.maxX + 10, y: y - BitmapFont.height(scale: scale) / 2, scale: scale)
            labelWidth = max(labelWidth, BitmapFont.width(of: text, scale: scale))
        }
        var used = rect.width + 10 + labelWidth
        if let label {
            let x = rect.maxX + 10 + labelWidth + 8
            canvas.drawText(label, x: x, y: rect.y + (rect.height + BitmapFont.width(of: label, scale: scale)) / 2,
                            scale: scale, direction: .upward)
            used += 8 + BitmapFont.height(scale: scale)
        }
        return used
    }
}
