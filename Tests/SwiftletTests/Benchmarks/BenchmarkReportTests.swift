import Foundation
import Testing
@testable import SwiftletBenchmarks

/// The harness's statistics and report formats, on fixed numbers (nothing here is timed).
@Suite("Benchmark report") struct BenchmarkReportTests {
    @Test func statisticsOfOddAndEvenCounts() throws {
        let odd = try #require(Statistics(samples: [3, 1, 2, 10, 4]))
        #expect(odd.median == 3)
        #expect(odd.minimum == 1)
        #expect(odd.maximum == 10)
        #expect(odd.spread == 3)  // (10 − 1) / 3
        let even = try #require(Statistics(samples: [4, 1, 3, 2]))
        #expect(even.median == 2.5)
        #expect(even.samples == [4, 1, 3, 2])
        #expect(Statistics(samples: []) == nil)
    }

    @Test func planCallsWarmupThenRepetitions() {
        var calls = 0
        // A sample floor of 0 keeps one call per sample, so the count is exact.
        let statistics = MeasurementPlan(warmup: 2, repetitions: 5, minimumSampleSeconds: 0).measure { calls += 1 }
        #expect(calls == 7)
        #expect(statistics.samples.count == 5)
        #expect(statistics.minimum >= 0)
    }

    @Test func planWithResetRestoresBeforeEveryCallAndTimesEachCallAlone() {
        var log: [String] = []
        // A sample floor far above any call would batch many calls per sample without a reset.
        let statistics = MeasurementPlan(warmup: 2, repetitions: 3, minimumSampleSeconds: 10)
            .measure({ log.append("call") }, reset: { log.append("reset") })
        #expect(log == Array(repeating: ["reset", "call"], count: 5).flatMap { $0 })
        #expect(statistics.samples.count == 3)
    }

    @Test func memoryBoundResultsAreAlsoRatedAgainstTheTriadBesideThem() {
        let gelu = BenchmarkCase(name: "gelu", variant: "forward", shape: "4", bytes: 3e8) { _ in {} }
        let result = BenchmarkResult(gelu, threads: 2, statistics: Self.statistics(10),
                                     peak: Self.machine.peak(threads: 2), adjacentTriadGbs: 40)
        #expect(abs((result.fractionOfPeak ?? 0) - 0.5) < 1e-12)  // 30 GB/s of the table's 60
        #expect(abs((result.fractionOfAdjacentTriad ?? 0) - 0.75) < 1e-12)  // of the 40 beside it
        #expect(Report.row(result).contains("50.0") && Report.row(result).contains("75.0"))

        // A compute-bound case has no bandwidth to rate, whatever triad was passed.
        let matmul = BenchmarkCase(name: "matmul_fwd", shape: "2x3x4", flops: 2e9) { _ in {} }
        let computed = BenchmarkResult(matmul, threads: 2, statistics: Self.statistics(10),
                                       peak: Self.machine.peak(threads: 2), adjacentTriadGbs: 40)
        #expect(computed.adjacentTriadGbs == nil && computed.fractionOfAdjacentTriad == nil)
    }

    @Test func computeBoundResultsAreAlsoRatedAgainstThePeakBesideThem() throws {
        // 2e9 flops in 10 ms: 200 GFLOP/s, against the table's 500 and the 250 measured beside it.
        let matmul = BenchmarkCase(name: "matmul_fwd", shape: "2x3x4", flops: 2e9) { _ in {} }
        let result = BenchmarkResult(matmul, threads: 2, statistics: Self.statistics(10),
                                     peak: Self.machine.peak(threads: 2), adjacentPeakGflops: 250)
        #expect(abs(try #require(result.fractionOfPeak) - 0.4) < 1e-12)
        #expect(abs(try #require(result.fractionOfAdjacentPeak) - 0.8) < 1e-12)
        #expect(result.fractionOfAdjacentProbe == result.fractionOfAdjacentPeak)
        #expect(Report.row(result).contains("40.0") && Report.row(result).contains("80.0"))

        // A memory-bound case has no GFLOP/s to rate, whatever peak was passed.
        let gelu = BenchmarkCase(name: "gelu", variant: "forward", shape: "4", bytes: 3e8) { _ in {} }
        let streamed = BenchmarkResult(gelu, threads: 2, statistics: Self.statistics(10),
                                       peak: Self.machine.peak(threads: 2), adjacentPeakGflops: 250)
        #expect(streamed.adjacentPeakGflops == nil && streamed.fractionOfAdjacentPeak == nil)
    }

    static let machine = MachineProfile(isa: "avx512", peaks: [
        .init(threads: 1, gflops: 250, gbs: 50), .init(threads: 2, gflops: 500, gbs: 60),
    ])

    static func statistics(_ milliseconds: Double) -> Statistics {
        Statistics(samples: [milliseconds / 1000])!
    }

    @Test func resultRatesWorkAgainstThePeakOfItsThreadCount() {
        let matmul = BenchmarkCase(name: "matmul_fwd", shape: "2x3x4", flops: 2e9) { _ in {} }
        let result = BenchmarkResult(matmul, threads: 2, statistics: Self.statistics(10), peak: Self.machine.peak(threads: 2))
        #expect(abs((result.gflops ?? 0) - 200) < 1e-9)  // 2 GFLOP in 10 ms
        #expect(abs((result.fractionOfPeak ?? 0) - 0.4) < 1e-12)
        #expect(result.gbs == nil && result.extraBytes == nil && result.tokensPerSecond == nil)

        let adamw = BenchmarkCase(name: "adamw", shape: "10", bytes: 3e8, tokens: 100) { _ in {} }
        let streamed = BenchmarkResult(adamw, threads: 1, statistics: Self.statistics(10), peak: Self.machine.peak(threads: 1))
        #expect(abs((streamed.gbs ?? 0) - 30) < 1e-9)
        #expect(abs((streamed.fractionOfPeak ?? 0) - 0.6) < 1e-12)
        #expect(abs((streamed.tokensPerSecond ?? 0) - 10_000) < 1e-6)
    }

    @Test func machineMeasuredAgainShowsInTheTableOnly() throws {
        var report = Report(machine: Self.machine)
        #expect(!report.table.contains("measured again"))
        report.machineAtEnd = MachineProfile(isa: "avx512", peaks: [.init(threads: 1, gflops: 123.4, gbs: 45.6)])
        #expect(report.table.contains("measured again"))
        #expect(report.table.contains("123.4") && report.table.contains("45.6"))
        // The JSON's machine stays the first measurement, in the contract's fields.
        let object = try #require(try JSONSerialization.jsonObject(with: report.json()) as? [String: Any])
        #expect(Set(object.keys) == ["machine", "results"])
        let machine = try #require(object["machine"] as? [String: Any])
        #expect(machine["peak_gflops"] as? Double == 500)
    }

    @Test func jsonHasExactlyTheContractFields() throws {
        let flash = BenchmarkCase(name: "attention_fwd", variant: "flash", shape: "1,12,64,64", flops: 1e6,
                                  extraBytes: { threads in 100 * threads }) { _ in {} }
        let report = Report(machine: Self.machine, results: [
            BenchmarkResult(flash, threads: 2, statistics: Self.statistics(2), peak: Self.machine.peak(threads: 2)),
        ])
        let object = try #require(try JSONSerialization.jsonObject(with: report.json()) as? [String: Any])
        #expect(Set(object.keys) == ["machine", "results"])

        let machine = try #require(object["machine"] as? [String: Any])
        #expect(Set(machine.keys) == ["peak_gflops", "bandwidth_gbs", "threads", "isa"])
        #expect(machine["peak_gflops"] as? Double == 500)
        #expect(machine["bandwidth_gbs"] as? Double == 60)
        #expect(machine["threads"] as? Int == 2)
        #expect(machine["isa"] as? String == "avx512")

        let results = try #require(object["results"] as? [[String: Any]])
        let result = try #require(results.first)
        #expect(Set(result.keys) == ["name", "variant", "shape", "threads", "median_ms", "min_ms", "gflops", "gbs",
                                     "extra_bytes", "tokens_per_s"])
        #expect(result["name"] as? String == "attention_fwd")
        #expect(result["variant"] as? String == "flash")
        #expect(result["shape"] as? String == "1,12,64,64")
        #expect(result["threads"] as? Int == 2)
        #expect(abs((result["median_ms"] as? Double ?? 0) - 2) < 1e-9)
        #expect(abs((result["min_ms"] as? Double ?? 0) - 2) < 1e-9)
        #expect(result["extra_bytes"] as? Int == 200)
        // Fields that do not apply are present and null.
        #expect(result["gbs"] is NSNull)
        #expect(result["tokens_per_s"] is NSNull)

        // The table shows the machine and the row, with its extra memory in MiB.
        #expect(report.table.contains("avx512"))
        #expect(report.table.contains("attention_fwd          flash        1,12,64,64"))
    }

    @Test func attentionSummaryPairsNaiveWithFlash() throws {
        func result(_ variant: String, t: Int, ms: Double) -> BenchmarkResult {
            BenchmarkResult(name: "attention_fwd", variant: variant, shape: "1,12,\(t),64", threads: 1,
                            statistics: Self.statistics(ms), extraBytes: 4)
        }
        let summary = AttentionSummary(results: [
            result("naive", t: 64, ms: 8), result("flash", t: 64, ms: 2), result("flash", t: 128, ms: 5),
        ])
        #expect(summary.rows.map(\.sequenceLength) == [64, 128])
        #expect(summary.rows[0].speedup == 4)
        #expect(summary.rows[1].naive == nil && summary.rows[1].speedup == nil)
        #expect(summary.table.contains("skipped"))  // naive did not run at T = 128

        let series = AttentionSweepPlot.series(results: summary.rows.compactMap(\.flash) + summary.rows.compactMap(\.naive))
        #expect(series.map(\.name) == ["naive forward, 1 thr", "flash forward, 1 thr"])
        #expect(series[0].milliseconds[0] == 8 && series[0].milliseconds[1].isNaN)
    }

    @Test func onlySelectsNamesAndPrefixesAndRejectsUnknownNames() throws {
        let plan = MeasurementPlan(warmup: 0, repetitions: 1)
        let options = BenchmarkOptions(quick: true, only: ["matmul", "gelu"], threads: [1], sequenceLengths: [64], plan: plan)
        #expect(options.selects("matmul_bwd_dw"))
        #expect(options.selects("gelu"))
        #expect(!options.selects("attention_fwd"))
        #expect(!options.selects("matmulx"))
        try BenchmarkRunner(options: options).validate()

        var unknown = options
        unknown.only = ["attention_forward"]
        #expect(throws: BenchmarkError.self) { try BenchmarkRunner(options: unknown).validate() }
    }

    @Test func naiveAttentionIsSkippedWhenItWouldNotFit() {
        // T = 8192 needs 2 × 12·8192² floats (6 GiB) of att + scratch: over half of 4 GiB.
        let big = AttentionCases.naive(t: 8192, backward: true, availableBytes: 4 << 30)
        #expect(big.skipReason?.contains("skipped") == true)
        #expect(AttentionCases.naive(t: 64, backward: true, availableBytes: 4 << 30).skipReason == nil)
        #expect(AttentionCases.naiveExtraBytes(t: 8192, backward: true) == 2 * 12 * 8192 * 8192 * 4)
    }
}

extension BenchmarkReportTests {
    @Test func zeroWarmupTimesOneCallPerSample() {
        var calls = 0
        let statistics = MeasurementPlan(warmup: 0, repetitions: 3).measure { calls += 1 }
        #expect(calls == 3)
        #expect(statistics.samples.count == 3)
    }
}

extension BenchmarkReportTests {
    @Test func aZeroMedianHasNoRatesAndStillEncodes() throws {
        let instant = BenchmarkCase(name: "gelu", shape: "1", bytes: 8, tokens: 1) { _ in {} }
        let result = BenchmarkResult(instant, threads: 1, statistics: Self.statistics(0), peak: Self.machine.peak(threads: 1))
        #expect(result.gbs == nil && result.tokensPerSecond == nil && result.fractionOfPeak == nil)
        _ = try Report(machine: Self.machine, results: [result]).json()
    }
}
