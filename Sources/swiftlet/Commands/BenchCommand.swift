import ArgumentParser
import Foundation
import Swiftlet
import SwiftletBenchmarks

/// `swiftlet bench`: measures the machine, then kernels, attention and the training step.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark the kernels, naive vs flash attention and the GPT-2 training step.",
        discussion: """
            Measures the FMA peak and stream bandwidth first, then times each case after warm-up \
            calls: median, minimum and spread of the repetitions, GFLOP/s or GB/s and % of the \
            measured peak, for each thread count.
            """
    )

    @Flag(help: "Short run: fewer shapes and sequence lengths, fewer repetitions.")
    var quick = false

    @Option(help: "Run only these cases, comma-separated (e.g. matmul_fwd,attention or a prefix such as matmul).")
    var only: String?

    @Option(help: "Write the results as JSON to this path.")
    var json: String?

    @Option(help: "Write a PNG of attention time and memory vs T (naive vs flash) to this path.")
    var plot: String?

    @Option(help: "Thread counts to sweep, comma-separated (default: 1 up to every core).")
    var threads: String?

    @Option(help: "Attention sequence lengths T, comma-separated (default: 64,128,…,8192; quick: 64,256,1024).")
    var seq: String?

    @Option(help: "Timed repetitions per case (default: 5; quick: 3).")
    var repetitions: Int?

    @Option(help: "Untimed warm-up calls per case (default: 2; quick: 1).")
    var warmup: Int?

    @Option(help: "Force an ISA path: portable, avx2 or avx512 (default: the best this CPU has).")
    var isa: InstructionSet?

    func validate() throws {
        do { try BenchmarkRunner(options: try options()).validate() } catch let error as BenchmarkError {
            throw ValidationError(error.description)
        }
        if let repetitions, repetitions < 1 { throw ValidationError("--repetitions must be at least 1, got \(repetitions)") }
        if let warmup, warmup < 0 { throw ValidationError("--warmup must be at least 0, got \(warmup)") }
        // Fail now rather than after a long run.
        for (option, path) in [("--json", json), ("--plot", plot)] {
            guard let path else { continue }
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
                throw ValidationError("\(option) \(path): the folder \(folder) does not exist")
            }
        }
    }

    func run() throws {
        if let isa {
            do { try Runtime.setInstructionSet(isa) } catch {
                throw ValidationError("--isa \(isa.rawValue): this CPU does not support it")
            }
        }
        let runner = BenchmarkRunner(options: try options())
        let report = try runner.run { line in
            print(line)
            fflush(nil)  // show each row as soon as it is measured
        }
        if let json {
            try report.writeJSON(to: json)
            print("wrote \(json)")
        }
        if let plot {
            if let picture = try AttentionSweepPlot.picture(results: report.results) {
                try picture.write(to: URL(fileURLWithPath: plot))
                print("wrote \(plot)")
            } else {
                print("no attention results to plot (--plot needs attention in --only)")
            }
        }
    }

    /// The parsed options, with defaults filled in.
    func options() throws -> BenchmarkOptions {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let threadCounts = try threads.map { try Self.positiveList($0, option: "--threads") } ?? Array(1...max(1, cores))
        let lengths = try seq.map { try Self.positiveList($0, option: "--seq") }
            ?? BenchmarkOptions.defaultSequenceLengths(quick: quick)
        let names = only.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        if let names, names.isEmpty { throw ValidationError("--only needs at least one case name") }
        let plan = MeasurementPlan(
            warmup: warmup ?? (quick ? 1 : 2), repetitions: repetitions ?? (quick ? 3 : 5))
        return BenchmarkOptions(quick: quick, only: names, threads: threadCounts, sequenceLengths: lengths, plan: plan)
    }

    /// "1,2,4" → [1, 2, 4]; throws a message naming the option on anything else.
    static func positiveList(_ text: String, option: String) throws -> [Int] {
        let items = text.split(separator: ",", omittingEmptySubsequences: false)
        let values = items.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !items.isEmpty, values.count == items.count, values.allSatisfy({ $0 >= 1 }) else {
            throw ValidationError("\(option) takes a comma-separated list of positive integers, got '\(text)'")
        }
        return values
    }
}
