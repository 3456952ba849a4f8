import Foundation

/// Training and validation loss against step, from a run's metrics log or plain arrays.
///
/// The per-step training loss is drawn faintly with a smoothed curve over it (an exponential
/// moving average, as TensorBoard does); evaluation losses are drawn with markers.
public struct LossCurvePlot: Picture, Sendable {
    public var log: MetricsLog
    public var title: String
    /// Log10 loss axis; helps when the loss falls by orders of magnitude.
    public var logarithmicLoss: Bool
    public var width: Int, height: Int

    public init(log: MetricsLog, title: String = "loss", logarithmicLoss: Bool = false, width: Int = 960, height: Int = 600) {
        (self.log, self.title, self.logarithmicLoss, self.width, self.height) = (log, title, logarithmicLoss, width, height)
    }

    /// A plot of the JSONL metrics log at `metricsLog` (see ``MetricsLog``).
    public init(metricsLog: URL, title: String = "loss", logarithmicLoss: Bool = false) throws {
        self.init(log: try MetricsLog(contentsOf: metricsLog), title: title, logarithmicLoss: logarithmicLoss)
    }

    /// A plot of plain arrays: `trainSteps`/`trainLoss` per step, `validationSteps`/`validationLoss` per eval.
    public init(trainSteps: [Double], trainLoss: [Double], validationSteps: [Double] = [], validationLoss: [Double] = [],
                title: String = "loss") throws {
        guard trainSteps.count == trainLoss.count, validationSteps.count == validationLoss.count else {
            throw PictureError.invalidArgument("loss plot: \(trainSteps.count) train steps for \(trainLoss.count) losses, "
                + "\(validationSteps.count) validation steps for \(validationLoss.count) losses")
        }
        var log = MetricsLog()
        log.trainLoss = zip(trainSteps, trainLoss).map { MetricsLog.LossPoint(step: $0, loss: $1) }
        log.validationLoss = zip(validationSteps, validationLoss).map { MetricsLog.LossPoint(step: $0, loss: $1) }
        self.init(log: log, title: title)
    }

    public var chart: LineChart {
        var series: [ChartSeries] = []
        let train = log.trainLoss
        if !train.isEmpty {
            let blue = RGB.palette[0]
            let smooth = train.count > 30
            series.append(ChartSeries(name: smooth ? "train (per step)" : "train", x: train.map(\.step), y: train.map(\.loss),
                                      color: smooth ? blue.mixed(with: .white, amount: 0.55) : blue,
                                      lineWidth: smooth ? 1 : 2, showsMarkers: train.count <= 30))
            if smooth {
                series.append(ChartSeries(name: "train (smoothed)", x: train.map(\.step),
                                          y: Self.smoothed(train.map(\.loss)), color: blue))
            }
        }
        if !log.evalTrainLoss.isEmpty {
            series.append(ChartSeries(name: "train (eval)", x: log.evalTrainLoss.map(\.step), y: log.evalTrainLoss.map(\.loss),
                                      color: RGB.palette[2], style: .dashed, showsMarkers: true))
        }
        if !log.validationLoss.isEmpty {
            series.append(ChartSeries(name: "validation", x: log.validationLoss.map(\.step), y: log.validationLoss.map(\.loss),
                                      color: RGB.palette[1], showsMarkers: true))
        }
        return LineChart(title: title, xAxis: ChartAxis(label: "step"),
                         yAxis: ChartAxis(label: "loss", scale: logarithmicLoss ? .log10 : .linear),
                         series: series, width: width, height: height)
    }

    public func render() -> Canvas { chart.render() }

    /// A centred moving average over about 1/40 of the run: no lag, unlike an exponential
    /// average. Non-finite losses are passed through and left out of their neighbours' averages.
    static func smoothed(_ values: [Double]) -> [Double] {
        let radius = max(1, values.count / 80)
        var sums = [0.0], counts = [0]  // prefix sums over finite values
        for value in values {
            sums.append(sums[sums.count - 1] + (value.isFinite ? value : 0))
            counts.append(counts[counts.count - 1] + (value.isFinite ? 1 : 0))
        }
        return values.indices.map { i in
            guard values[i].isFinite else { return values[i] }
            let r = min(radius, i, values.count - 1 - i)  // symmetric, so the ends are not biased
            let low = i - r, high = i + r + 1
            return (sums[high] - sums[low]) / Double(counts[high] - counts[low])
        }
    }
}
