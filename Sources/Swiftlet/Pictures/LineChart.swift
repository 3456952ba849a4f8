/// One line on a ``LineChart``: (x, y) points joined in order.
///
/// Points that the axes cannot show (NaN, infinities, non-positive values on a log axis) break
/// the line instead of being drawn.
public struct ChartSeries: Sendable {
    public enum Style: Sendable { case solid, dashed }

    public var name: String
    public var x: [Double]
    public var y: [Double]
    /// Nil picks the next colour of ``RGB/palette``.
    public var color: RGB?
    public var style: Style
    public var lineWidth: Double
    public var showsMarkers: Bool

    public init(name: String, x: [Double], y: [Double], color: RGB? = nil, style: Style = .solid,
                lineWidth: Double = 2, showsMarkers: Bool = false) {
        (self.name, self.x, self.y, self.color, self.style) = (name, x, y, color, style)
        (self.lineWidth, self.showsMarkers) = (lineWidth, showsMarkers)
    }
}

/// An axis of a ``LineChart``: its label, its scale, and optionally a fixed range.
public struct ChartAxis: Sendable {
    public var label: String
    public var scale: AxisScale
    /// Nil fits the range to the data. Ignored when a log axis is given a range reaching 0 or below.
    public var range: ClosedRange<Double>?
    /// Values to label instead of automatic nice ticks (e.g. the sequence lengths of a benchmark).
    public var ticks: [Double]?

    public init(label: String, scale: AxisScale = .linear, range: ClosedRange<Double>? = nil, ticks: [Double]? = nil) {
        (self.label, self.scale, self.range, self.ticks) = (label, scale, range, ticks)
    }

    /// The range drawn for `values`: the fixed ``range`` if the scale can show it, else fitted.
    func drawnRange(for values: [Double], margin: Double) -> ClosedRange<Double> {
        if let range, range.upperBound > range.lowerBound, scale.canShow(range.lowerBound), range.upperBound.isFinite {
            return range
        }
        return scale.domain(of: values + (ticks ?? []), margin: margin) ?? (scale == .log10 ? 1...10 : 0...1)
    }

    /// Tick marks for `range`: the explicit ``ticks`` that fall inside it, or nice automatic ones.
    func ticks(in range: ClosedRange<Double>, targetCount: Int) -> AxisTicks {
        let automatic = scale.ticks(in: range, targetCount: targetCount)
        guard let ticks else { return automatic }
        return AxisTicks(major: ticks.filter { range.contains($0) && scale.canShow($0) }, minor: automatic.minor, step: nil)
    }
}

/// A line chart: several series, a legend, nice ticks on linear or log10 axes, title and labels.
public struct LineChart: Picture, Sendable {
    /// Which corner of the plot area holds the legend.
    public enum LegendPlacement: Sendable { case topRight, topLeft, bottomRight, bottomLeft, hidden }

    public var title: String
    public var xAxis: ChartAxis
    public var yAxis: ChartAxis
    public var series: [ChartSeries]
    public var legend: LegendPlacement
    /// Image size in pixels when rendered on its own.
    public var width: Int, height: Int
    /// Integer scale of the 5×7 font (2 gives 14-pixel-high text).
    public var textScale: Int

    public init(title: String, xAxis: ChartAxis, yAxis: ChartAxis, series: [ChartSeries],
                legend: LegendPlacement = .topRight, width: Int = 960, height: Int = 600, textScale: Int = 2) {
        (self.title, self.xAxis, self.yAxis, self.series, self.legend) = (title, xAxis, yAxis, series, legend)
        (self.width, self.height, self.textScale) = (width, height, max(1, textScale))
    }

    public func render() -> Canvas {
        var canvas = Canvas(width: width, height: height)
        draw(on: &canvas, in: PixelRect(x: 0, y: 0, width: width, height: height))
        return canvas
    }

    /// Draws the chart into `frame` of `canvas`, so several charts can share one image.
    public func draw(on canvas: inout Canvas, in frame: PixelRect) {
        let s = textScale, textHeight = BitmapFont.height(scale: s), padding = 8 * s
        let points = series.map { zip($0.x, $0.y).filter { xAxis.scale.canShow($0.0) && yAxis.scale.canShow($0.1) } }
        let xRange = xAxis.drawnRange(for: points.flatMap { $0.map(\.0) }, margin: 0.02)
        let yRange = yAxis.drawnRange(for: points.flatMap { $0.map(\.1) }, margin: 0.04)

        // Margins: title above; y label and tick labels left; tick labels and x label below.
        let top = frame.y + padding + (title.isEmpty ? 0 : textHeight + padding)
        let provisionalHeight = frame.maxY - top - 2 * padding - 2 * textHeight
        let yTicks = yAxis.ticks(in: yRange, targetCount: max(2, provisionalHeight / (textHeight * 4)))
        let yLabelWidth = yTicks.major.map { BitmapFont.width(of: yTicks.label(for: $0), scale: s) }.max() ?? 0
        let left = frame.x + padding + (yAxis.label.isEmpty ? 0 : textHeight + padding) + yLabelWidth + 4 * s
        let bottom = frame.maxY - padding - (xAxis.label.isEmpty ? 0 : textHeight + padding) - textHeight - 4 * s
        let right = frame.maxX - padding - 2 * BitmapFont.advance * s  // room for the last x tick label
        let plot = PixelRect(x: left, y: top, width: max(1, right - left), height: max(1, bottom - top))
        let xTicks = xAxis.ticks(in: xRange, targetCount: max(2, plot.width / (BitmapFont.advance * s * 10)))

        // Data to pixel centres: the range's ends land on the plot's first and last pixel.
        func px(_ x: Double) -> Double {
            Double(plot.x) + xAxis.scale.fraction(of: x, in: xRange) * Double(plot.width - 1) + 0.5
        }
        func py(_ y: Double) -> Double {
            Double(plot.maxY - 1) - yAxis.scale.fraction(of: y, in: yRange) * Double(plot.height - 1) + 0.5
        }

        if !title.isEmpty { canvas.drawText(title, centerX: plot.x + plot.width / 2, y: frame.y + padding, scale: s) }
        // Grid and ticks.
        for tick in yTicks.major {
            let y = Int(py(tick))
            canvas.fillRectangle(PixelRect(x: plot.x, y: y, width: plot.width, height: 1), color: .grid)
            canvas.fillRectangle(PixelRect(x: plot.x - 3 * s, y: y, width: 3 * s, height: 1), color: .axis)
            let label = yTicks.label(for: tick)
            canvas.drawText(label, x: plot.x - 4 * s - BitmapFont.width(of: label, scale: s), y: y - textHeight / 2, scale: s)
        }
        for tick in yTicks.minor {
            canvas.fillRectangle(PixelRect(x: plot.x - 2 * s, y: Int(py(tick)), width: 2 * s, height: 1), color: .axis)
        }
        for tick in xTicks.major {
            let x = Int(px(tick))
            canvas.fillRectangle(PixelRect(x: x, y: plot.y, width: 1, height: plot.height), color: .grid)
            canvas.fillRectangle(PixelRect(x: x, y: plot.maxY, width: 1, height: 3 * s), color: .axis)
            canvas.drawText(xTicks.label(for: tick), centerX: x, y: plot.maxY + 4 * s, scale: s)
        }
        for tick in xTicks.minor {
            canvas.fillRectangle(PixelRect(x: Int(px(tick)), y: plot.maxY, width: 1, height: 2 * s), color: .axis)
        }
        if !xAxis.label.isEmpty {
            canvas.drawText(xAxis.label, centerX: plot.x + plot.width / 2, y: frame.maxY - padding - textHeight, scale: s)
        }
        if !yAxis.label.isEmpty {
            canvas.drawText(yAxis.label, x: frame.x + padding,
                            y: plot.y + (plot.height + BitmapFont.width(of: yAxis.label, scale: s)) / 2,
                            scale: s, direction: .upward)
        }

        // Series, clipped to the plot area; lines break at points the axes cannot show.
        let savedClip = canvas.clip
        canvas.clip = plot
        for (index, line) in series.enumerated() {
            let color = color(of: index)
            var run: [CanvasPoint] = []
            func flush() {
                canvas.drawPolyline(run, color: color, width: line.lineWidth, dashed: line.style == .dashed)
                run = []
            }
            for (x, y) in zip(line.x, line.y) {
                guard xAxis.scale.canShow(x), yAxis.scale.canShow(y) else { flush(); continue }
                run.append(CanvasPoint(x: px(x), y: py(y)))
            }
            flush()
            if line.showsMarkers {
                for (x, y) in points[index] {
                    canvas.fillCircle(center: CanvasPoint(x: px(x), y: py(y)), radius: line.lineWidth + 1.5, color: color)
                }
            }
        }
        canvas.clip = savedClip
        canvas.strokeRectangle(plot, color: .axis)
        drawLegend(on: &canvas, plot: plot)
    }

    private func color(of index: Int) -> RGB { series[index].color ?? RGB.palette[index % RGB.palette.count] }

    private func drawLegend(on canvas: inout Canvas, plot: PixelRect) {
        let named = series.indices.filter { !series[$0].name.isEmpty }
        guard legend != .hidden, !named.isEmpty else { return }
        let s = textScale, rowHeight = BitmapFont.height(scale: s) + 4 * s, sample = 12 * s
        let textWidth = named.map { BitmapFont.width(of: series[$0].name, scale: s) }.max() ?? 0
        let boxWidth = 4 * s + sample + 4 * s + textWidth + 4 * s
        let boxHeight = rowHeight * named.count + 2 * s
        let inset = 6 * s
        let x = legend == .topLeft || legend == .bottomLeft ? plot.x + inset : plot.maxX - inset - boxWidth
        let y = legend == .topLeft || legend == .topRight ? plot.y + inset : plot.maxY - inset - boxHeight
        canvas.fillRectangle(PixelRect(x: x, y: y, width: boxWidth, height: boxHeight), color: .white)
        canvas.strokeRectangle(PixelRect(x: x, y: y, width: boxWidth, height: boxHeight), color: RGB(hex: 0xBBBBBB))
        for (row, index) in named.enumerated() {
            let line = series[index], color = color(of: index)
            let rowY = y + 2 * s + row * rowHeight
            let middle = Double(rowY + rowHeight / 2) + 0.5
            let a = CanvasPoint(x: Double(x + 4 * s), y: middle), b = CanvasPoint(x: Double(x + 4 * s + sample), y: middle)
            if line.style == .dashed {
                canvas.drawDashedLine(from: a, to: b, color: color, width: line.lineWidth, dash: Double(4 * s), gap: Double(2 * s))
            } else {
                canvas.drawLine(from: a, to: b, color: color, width: line.lineWidth)
            }
            if line.showsMarkers {
                canvas.fillCircle(center: CanvasPoint(x: (a.x + b.x) / 2, y: middle), radius: line.lineWidth + 1.5, color: color)
            }
            canvas.drawText(line.name, x: x + 8 * s + sample, y: rowY + (rowHeight - BitmapFont.height(scale: s)) / 2, scale: s)
        }
    }
}
