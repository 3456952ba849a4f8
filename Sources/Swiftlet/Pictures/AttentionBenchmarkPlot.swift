/// Attention time and memory against sequence length, one line per implementation (naive,
/// flash, …), side by side on log–log axes.
public struct AttentionBenchmarkPlot: Picture, Sendable {
    /// Measurements of one implementation. NaN marks a length that was not run (e.g. out of memory).
    public struct Series: Sendable {
        public var name: String
        public var sequenceLengths: [Double]
        public var milliseconds: [Double]
        public var peakBytes: [Double]

        public init(name: String, sequenceLengths: [Double], milliseconds: [Double], peakBytes: [Double]) {
            (self.name, self.sequenceLengths, self.milliseconds, self.peakBytes) = (name, sequenceLengths, milliseconds, peakBytes)
        }
    }

    public var series: [Series]
    public var title: String
    public var width: Int, height: Int

    /// - Throws: ``PictureError/invalidArgument(_:)`` when a series' arrays differ in length.
    public init(series: [Series], title: String = "attention: time and memory vs sequence length",
                width: Int = 1400, height: Int = 620) throws {
        for line in series where line.milliseconds.count != line.sequenceLengths.count
            || line.peakBytes.count != line.sequenceLengths.count {
            throw PictureError.invalidArgument("benchmark plot: series '\(line.name)' has \(line.sequenceLengths.count) lengths, "
                + "\(line.milliseconds.count) times and \(line.peakBytes.count) memory values")
        }
        (self.series, self.title, self.width, self.height) = (series, title, width, height)
    }

    public func render() -> Canvas {
        var canvas = Canvas(width: width, height: height)
        let titleHeight = BitmapFont.height(scale: 2) + 24
        canvas.drawText(title, centerX: width / 2, y: 16, scale: 2)
        // Label the measured lengths themselves (64, 128, …) when there are few enough to fit.
        let lengths = Set(series.flatMap(\.sequenceLengths).filter { $0 > 0 && $0.isFinite }).sorted()
        let lengthAxis = ChartAxis(label: "sequence length T", scale: .log10, ticks: lengths.count <= 10 ? lengths : nil)
        func lines(_ values: (Series) -> [Double]) -> [ChartSeries] {
            series.enumerated().map { index, line in
                ChartSeries(name: line.name, x: line.sequenceLengths, y: values(line), color: RGB.palette[index % RGB.palette.count],
                            style: index == 0 ? .solid : .dashed, showsMarkers: true)
            }
        }
        let time = LineChart(title: "time", xAxis: lengthAxis, yAxis: ChartAxis(label: "time (ms)", scale: .log10),
                             series: lines(\.milliseconds), legend: .topLeft)
        let memory = LineChart(title: "peak memory", xAxis: lengthAxis, yAxis: ChartAxis(label: "memory (MiB)", scale: .log10),
                               series: lines { $0.peakBytes.map { $0 / 1_048_576 } }, legend: .topLeft)
        time.draw(on: &canvas, in: PixelRect(x: 0, y: titleHeight, width: width / 2, height: height - titleHeight))
        memory.draw(on: &canvas, in: PixelRect(x: width / 2, y: titleHeight, width: width - width / 2, height: height - titleHeight))
        return canvas
    }
}
