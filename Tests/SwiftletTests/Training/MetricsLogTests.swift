import Foundation
import Testing
@testable import Swiftlet

@Suite("Metrics log") struct MetricsLogTests {
    @Test func parsesStepAndEvalRecordsIgnoringUnknownKeys() throws {
        let text = """
            {"step": 0, "loss": 10.5, "lr": 0.0001, "tokens_per_s": 1234.5}

            {"step": 1, "loss": 9.25, "lr": 0.0002, "tokens_per_s": 1300, "grad_norm": 1.5}
            {"step": 1, "train_loss": 9.0, "val_loss": 9.5, "note": "eval"}
            {"event": "checkpoint", "path": "x.safetensors"}
            """
        let log = try MetricsLog(jsonLines: text)
        #expect(log.trainLoss == [.init(step: 0, loss: 10.5), .init(step: 1, loss: 9.25)])
        #expect(log.evalTrainLoss == [.init(step: 1, loss: 9)])
        #expect(log.validationLoss == [.init(step: 1, loss: 9.5)])
    }

    @Test func nonFiniteLossesFromADivergedRunAreKept() throws {
        let log = try MetricsLog(jsonLines: "{\"step\": 1, \"loss\": NaN}\n{\"step\": 2, \"loss\": \"Infinity\"}\n{\"step\": 3, \"loss\": 2.5}")
        #expect(log.trainLoss.count == 3 && log.trainLoss[0].loss.isNaN && log.trainLoss[1].loss == .infinity)
        #expect(try DecodedPNG(LossCurvePlot(log: log).png()).width == 960)
    }

    @Test func garbledLinesNameTheLine() {
        #expect(throws: PictureError.malformedMetricsLog(path: "m.jsonl", line: 2, reason: "not valid JSON: {\"step\": 1, \"loss\":")) {
            try MetricsLog(jsonLines: "{\"step\": 0, \"loss\": 1}\n{\"step\": 1, \"loss\":\n", path: "m.jsonl")
        }
        #expect(throws: PictureError.malformedMetricsLog(path: "m", line: 1, reason: "'loss' is not a number")) {
            try MetricsLog(jsonLines: "{\"step\": 0, \"loss\": \"high\"}", path: "m")
        }
        #expect(throws: PictureError.malformedMetricsLog(path: "m", line: 1, reason: "a loss record without 'step'")) {
            try MetricsLog(jsonLines: "{\"loss\": 2}", path: "m")
        }
        #expect(throws: PictureError.malformedMetricsLog(path: "m", line: 1, reason: "expected a JSON object")) {
            try MetricsLog(jsonLines: "[1, 2]", path: "m")
        }
    }

    @Test func emptyOrLosslessLogsAreRejected() {
        #expect(throws: PictureError.cannotReadMetricsLog(path: "m", reason: "the file is empty")) {
            try MetricsLog(jsonLines: "\n  \n", path: "m")
        }
        #expect(throws: PictureError.cannotReadMetricsLog(path: "m", reason: "no record has 'loss', 'train_loss' or 'val_loss'")) {
            try MetricsLog(jsonLines: "{\"step\": 3}", path: "m")
        }
    }

    @Test func missingFileNamesThePath() {
        let url = URL(fileURLWithPath: "/nonexistent/swiftlet/metrics.jsonl")
        #expect(throws: PictureError.cannotReadMetricsLog(path: url.path, reason: "the file does not exist or cannot be read")) {
            try LossCurvePlot(metricsLog: url)
        }
    }

    @Test func smoothingFollowsTheTrendWithoutLag() {
        let values = (0..<400).map { Double($0) + ($0 % 2 == 0 ? 1 : -1) }  // a ramp with alternating noise
        let smooth = LossCurvePlot.smoothed(values)
        #expect(smooth.count == 400 && abs(smooth[200] - 200) < 0.5 && smooth[0] == values[0])
        #expect(LossCurvePlot.smoothed([1, .nan, 3])[1].isNaN)
    }

    @Test func arraysMustPair() {
        #expect(throws: PictureError.self) { try LossCurvePlot(trainSteps: [1, 2], trainLoss: [3]) }
    }
}
