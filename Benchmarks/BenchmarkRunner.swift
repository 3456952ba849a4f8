import Foundation
import Swiftlet

/// What to run and how: the command-line choices of `swiftlet bench`.
public struct BenchmarkOptions: Sendable {
    /// Short run: fewer shapes, shorter machine measurement, fewer samples.
    public var quick: Bool
    /// Case names to run (`matmul_fwd`, or a group prefix such as `matmul`); nil runs everything.
    public var only: [String]?
    /// Thread counts to sweep.
    public var threads: [Int]
    /// Attention sequence lengths T.
    public var sequenceLengths: [Int]
    public var plan: MeasurementPlan

    public init(quick: Bool, only: [String]?, threads: [Int], sequenceLengths: [Int], plan: MeasurementPlan) {
        self.quick = quick
        self.only = only
        self.threads = threads
        self.sequenceLengths = sequenceLengths
        self.plan = plan
    }

    /// Attention T values when `--seq` is not given: 64, 128, …, 8192 (quick: 64, 256, 1024).
    public static func defaultSequenceLengths(quick: Bool) -> [Int] {
        AttentionCases.defaultSequenceLengths(quick: quick)
    }

    /// Whether `name` is selected by `only`: an exact name, or a prefix before an underscore.
    public func selects(_ name: String) -> Bool {
        guard let only else { return true }
        return only.contains { name == $0 || name.hasPrefix($0 + "_") }
    }
}

/// A benchmark option the harness cannot run with.
public enum BenchmarkError: Error, Equatable, CustomStringConvertible {
    case unknownCase(String, known: [String])

    public var description: String {
        switch self {
        case .unknownCase(let name, let known):
            "--only: no benchmark named '\(name)'; choose from \(known.joined(separator: ", ")) (or a prefix such as 'matmul')"
        }
    }
}

/// Runs the machine measurement, then each selected case on each thread count.
public struct BenchmarkRunner {
    public let options: BenchmarkOptions

    public init(options: BenchmarkOptions) { self.options = options }

    /// Every case of this run, before `--only` filtering. Preparing a case is what allocates.
    public func catalog() -> [BenchmarkCase] {
        KernelCases.all(quick: options.quick)
            + AttentionCases.all(sequenceLengths: options.sequenceLengths, availableBytes: AvailableMemory.bytes())
            + AttentionDropoutCases.all(quick: options.quick)
            + TrainStepCases.all(quick: options.quick) + GenerationCases.all() + TokenizerCases.all()
    }

    /// The names `--only` accepts.
    public func caseNames() -> [String] {
        var names: [String] = []
        for benchmark in catalog() where !names.contains(benchmark.name) { names.append(benchmark.name) }
        return names
    }

    /// Throws if an `--only` name selects nothing.
    public func validate() throws {
        let names = caseNames()
        for wanted in options.only ?? [] where !names.contains(where: { $0 == wanted || $0.hasPrefix(wanted + "_") }) {
            throw BenchmarkError.unknownCase(wanted, known: names)
        }
    }

    /// Runs everything selected, printing the table as it goes through `print`.
    public func run(print: (String) -> Void) throws -> Report {
        try validate()
        print("measuring the machine (FMA peak; triad, read and write bandwidth) on \(options.threads.map(String.init).joined(separator: ", ")) threads…")
        var report = Report(machine: MachineProfile.measure(threads: options.threads, quick: options.quick))
        print(report.machineTable)
        print("")
        print("warm-up \(options.plan.warmup), \(options.plan.repetitions) repetitions; median, min and spread (max−min)/median")
        print("% peak: GFLOP/s of the FMA peak, or GB/s of the stream (triad) bandwidth (data that stays in cache can pass 100%)")
        print("% adj: of the best FMA peak (GFLOP/s cases) or in-place triad pass (GB/s cases) measured just before and after the case on its threads (the VM's speed moves during a run)")
        print(Report.header)

        // Allocated once, and only when a memory-bound case runs.
        lazy var bandwidthProbe = BandwidthProbe(bytes: (options.quick ? 96 : 192) << 20)
        let peakProbe = PeakProbe(seconds: options.quick ? 0.03 : 0.05)
        let savedThreads = Runtime.threads
        defer { Runtime.threads = savedThreads }
        for benchmark in catalog() where options.selects(benchmark.name) {
            if let reason = benchmark.skipReason {
                report.skipped.append((benchmark.label, reason))
                print(Report.skippedRow(label: benchmark.label, reason: reason))
                continue
            }
            // One allocation per case, shared by the thread sweep and freed before the next case.
            let workspace = Workspace()
            try withExtendedLifetime(workspace) {
                let call = try benchmark.prepare(workspace)
                for threads in options.threads {
                    Runtime.threads = threads
                    // The probe beside the case: FMA peak for a GFLOP/s case, triad for a GB/s one.
                    let computeBound = benchmark.flops != nil
                    func probe() -> Double? {
                        if computeBound { return peakProbe.bestRate(threads: threads) }
                        if benchmark.bytes != nil { return bandwidthProbe.bestRate(threads: threads) }
                        return nil
                    }
                    let before = probe()
                    let statistics = try options.plan.measure(call, reset: workspace.resetBeforeEachCall)
                    let adjacent = before.flatMap { first in probe().map { max(first, $0) } }
                    let result = BenchmarkResult(
                        benchmark, threads: threads, statistics: statistics,
                        peak: report.machine.peak(threads: threads), tokens: workspace.tokensPerCall,
                        adjacentTriadGbs: computeBound ? nil : adjacent,
                        adjacentPeakGflops: computeBound ? adjacent : nil)
                    report.results.append(result)
                    print(Report.row(result))
                }
            }
        }
        let summary = AttentionSummary(results: report.results).table
        if !summary.isEmpty {
            print("")
            print(summary)
        }
        if !report.results.isEmpty {
            report.machineAtEnd = MachineProfile.measure(threads: options.threads, quick: options.quick)
            print("")
            print(report.machineAtEndTable ?? "")
        }
        return report
    }
}
