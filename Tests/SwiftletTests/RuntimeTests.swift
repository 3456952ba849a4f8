import Swiftlet
import Testing

@Suite("Runtime") struct RuntimeTests {
    @Test func portablePathIsAlwaysSupported() {
        #expect(InstructionSet.supported.contains(.portable))
        #expect(InstructionSet.supported.contains(InstructionSet.best))
    }

    @Test func threadsAndISARestoreAfterScope() throws {
        let threads = Runtime.threads
        let isa = Runtime.instructionSet
        try Runtime.with(threads: 1, instructionSet: .portable) {
            #expect(Runtime.threads == 1)
            #expect(Runtime.instructionSet == .portable)
        }
        #expect(Runtime.threads == threads)
        #expect(Runtime.instructionSet == isa)
    }

    @Test func safeTensorsRoundTrip() throws {
        var writer = SafeTensorsWriter(metadata: ["config": "{\"n\": 1}"])
        try writer.add("a", floats: [1, 2, 3, 4, 5, 6], shape: [2, 3])
        try writer.add("ids", int32s: [7, -1], shape: [2])
        let file = try SafeTensors(bytes: writer.serialized())
        #expect(try file.floats("a") == [1, 2, 3, 4, 5, 6])
        #expect(try file.int32s("ids") == [7, -1])
        #expect(file.metadata["config"] == "{\"n\": 1}")
        #expect(throws: SafeTensorsError.self) { try file.floats("ids") }
    }

    /// OMP_NUM_THREADS values OpenMP's runtime aborts or misbehaves on are named before any
    /// kernel runs; valid ones (a count, or a list for nested regions) pass.
    @Test func invalidThreadEnvironmentIsNamed() throws {
        for value in ["abc", "", "-1", "0", "99999999999", "2,", " "] {
            let problem = Runtime.threadEnvironmentProblem(["OMP_NUM_THREADS": value])
            #expect(problem?.contains("is not a thread count") == true, "'\(value)'")
        }
        for value in ["1", "2", " 2", "2,1", "1024"] {
            #expect(Runtime.threadEnvironmentProblem(["OMP_NUM_THREADS": value]) == nil, "'\(value)'")
        }
        #expect(Runtime.threadEnvironmentProblem([:]) == nil)
        let result = try CommandLineTool.run(["info"], environment: ["OMP_NUM_THREADS": "abc"])
        #expect(result.status == 1 && result.error.contains("OMP_NUM_THREADS=\"abc\""), "\(result.error)")
    }
}
