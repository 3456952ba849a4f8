import ArgumentParser
import Swiftlet

/// `swiftlet info`: what the kernels will run on.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print OpenMP on/off, thread count and the ISA path the kernels use."
    )

    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        try runtime.apply()
        print("OpenMP:  \(Runtime.isOpenMPEnabled ? "on" : "off (single-threaded; install libomp-dev and rebuild)")")
        print("threads: \(Runtime.threads)")
        print("ISA:     \(Runtime.instructionSet.rawValue) (supported here: \(InstructionSet.supported.map(\.rawValue).joined(separator: ", ")))")
    }
}
