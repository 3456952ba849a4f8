import ArgumentParser
import Swiftlet

/// Options every compute command shares: threads and ISA path.
struct RuntimeOptions: ParsableArguments {
    @Option(help: "Threads for the kernels (default: OMP_NUM_THREADS or every core).")
    var threads: Int?

    @Option(help: "Force an ISA path: portable, avx2 or avx512 (default: the best this CPU has).")
    var isa: InstructionSet?

    func validate() throws {
        try validateThreads(threads)
    }

    func apply() throws {
        if let threads { Runtime.threads = threads }
        if let isa {
            do { try Runtime.setInstructionSet(isa) } catch {
                throw ValidationError("--isa \(isa.rawValue): this CPU does not support it (supported: \(InstructionSet.supported.map(\.rawValue).joined(separator: ", ")))")
            }
        }
    }
}

extension InstructionSet: ExpressibleByArgument {}

/// --threads, where given, is 1…`Runtime.maximumThreads`.
func validateThreads(_ threads: Int?) throws {
    guard let threads else { return }
    guard (1...Runtime.maximumThreads).contains(threads) else {
        throw ValidationError("--threads must be from 1 to \(Runtime.maximumThreads), got \(threads)")
    }
}
