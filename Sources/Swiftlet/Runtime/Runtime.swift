import Foundation
import SwiftletKernels

/// The instruction-set path the C kernels take.
public enum InstructionSet: String, CaseIterable, Sendable, Codable {
    case portable, avx2, avx512

    var kernelValue: swl_isa {
        switch self {
        case .portable: SWL_ISA_PORTABLE
        case .avx2: SWL_ISA_AVX2
        case .avx512: SWL_ISA_AVX512
        }
    }

    init(_ value: swl_isa) {
        switch value {
        case SWL_ISA_AVX512: self = .avx512
        case SWL_ISA_AVX2: self = .avx2
        default: self = .portable
        }
    }

    /// Whether this CPU can run the path.
    public var isSupported: Bool { self <= InstructionSet.best }

    /// Every path this CPU supports, portable first.
    public static var supported: [InstructionSet] { allCases.filter(\.isSupported) }

    /// The best path this CPU supports.
    public static var best: InstructionSet { InstructionSet(swl_isa_best()) }

}

extension InstructionSet: Comparable {
    public static func < (lhs: InstructionSet, rhs: InstructionSet) -> Bool {
        lhs.kernelValue.rawValue < rhs.kernelValue.rawValue
    }
}

/// Process-wide settings of the kernels: threads and ISA path.
///
/// Threads default to `OMP_NUM_THREADS` (or every core); the ISA path defaults to the best the
/// CPU supports, or to `SWIFTLET_ISA=portable|avx2|avx512`.
public enum Runtime {
    /// Whether the kernels were built with OpenMP. Without it they run on one thread.
    public static var isOpenMPEnabled: Bool { swl_openmp_enabled() != 0 }

    /// The most threads the kernels take (OpenMP's runtime fails well before a huge count).
    public static let maximumThreads = 1024

    /// Threads the kernels use, 1…`maximumThreads` (a value outside is clamped).
    public static var threads: Int {
        get { Int(swl_threads_get()) }
        set { swl_threads_set(Int32(min(max(1, newValue), maximumThreads))) }
    }

    /// What is wrong with `OMP_NUM_THREADS` in `environment`, or nil when it is unset or valid:
    /// a comma-separated list of whole numbers, the first 1…`maximumThreads`. OpenMP's runtime
    /// reads it at the first parallel kernel and aborts or misbehaves on other values (an empty
    /// string, "abc", "-1", a number too big for it), so a program checks it first.
    public static func threadEnvironmentProblem(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String? {
        guard let value = environment["OMP_NUM_THREADS"] else { return nil }
        let counts = value.split(separator: ",", omittingEmptySubsequences: false)
            .map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard let first = counts.first ?? nil, counts.allSatisfy({ $0 != nil && $0! >= 1 }),
              first <= maximumThreads else {
            return "OMP_NUM_THREADS=\"\(value)\" is not a thread count: give a whole number from 1 to \(maximumThreads), or unset it"
        }
        return nil
    }

    /// The ISA path the kernels use now.
    public static var instructionSet: InstructionSet { InstructionSet(swl_isa_active()) }

    /// Chooses the ISA path. Throws if this CPU lacks it.
    public static func setInstructionSet(_ isa: InstructionSet) throws {
        guard swl_isa_set(isa.kernelValue) == 0 else {
            throw KernelError.unsupportedInstructionSet(isa.rawValue)
        }
    }

    /// Runs `body` with the given threads and ISA path, then restores the previous settings.
    public static func with<Result>(
        threads: Int? = nil, instructionSet: InstructionSet? = nil,
        _ body: () throws -> Result
    ) throws -> Result {
        let savedThreads = self.threads
        let savedISA = self.instructionSet
        defer {
            self.threads = savedThreads
            _ = swl_isa_set(savedISA.kernelValue)
        }
        if let threads { self.threads = threads }
        if let instructionSet { try setInstructionSet(instructionSet) }
        return try body()
    }

    /// One line for `swiftlet info` and logs: OpenMP, threads, ISA path.
    public static var summary: String {
        let omp = isOpenMPEnabled ? "on" : "off (single-threaded: install libomp-dev and rebuild)"
        return "OpenMP \(omp), threads \(threads), ISA \(instructionSet.rawValue) (best on this CPU: \(InstructionSet.best.rawValue))"
    }
}
