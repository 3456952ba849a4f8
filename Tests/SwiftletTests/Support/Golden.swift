import Foundation
import Swiftlet
import Testing

/// Golden references from `Tests/Fixtures/golden` (PyTorch float64, rounded to float32).
/// `Golden("linear").case("small")` gives the tensors of one case and each output's atol.
struct Golden {
    let file: SafeTensors
    let sidecar: [String: Any]

    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/golden")

    init(_ name: String) throws {
        file = try SafeTensors(contentsOf: Golden.directory.appendingPathComponent("\(name).safetensors"))
        let json = try Data(contentsOf: Golden.directory.appendingPathComponent("\(name).json"))
        sidecar = try JSONSerialization.jsonObject(with: json) as! [String: Any]
    }

    /// Names of the cases in this file.
    var caseNames: [String] { ((sidecar["cases"] as? [String: Any]) ?? [:]).keys.sorted() }

    func `case`(_ name: String) -> Case {
        let cases = sidecar["cases"] as! [String: Any]
        return Case(file: file, info: cases[name] as! [String: Any], name: name)
    }

    struct Case {
        let file: SafeTensors
        let info: [String: Any]
        let name: String

        var config: [String: Any] { info["config"] as? [String: Any] ?? [:] }
        private var tensorsInfo: [String: Any] { info["tensors"] as! [String: Any] }
        private func tensorInfo(_ short: String) -> [String: Any] { tensorsInfo[short] as! [String: Any] }

        /// Whether the case has a tensor with this short name (`x`, `dW`, `step3/...`).
        func has(_ short: String) -> Bool { tensorsInfo[short] != nil }

        func fullName(_ short: String) -> String { tensorInfo(short)["name"] as! String }
        func shape(_ short: String) -> [Int] { (tensorInfo(short)["shape"] as! [Any]).map { ($0 as! NSNumber).intValue } }
        func floats(_ short: String) throws -> [Float] { try file.floats(fullName(short)) }
        func int32s(_ short: String) throws -> [Int32] { try file.int32s(fullName(short)) }
        func tensor(_ short: String) throws -> Tensor { try file.tensor(fullName(short)) }
        func scalar(_ short: String) throws -> Float { try floats(short)[0] }

        /// The recommended absolute tolerance of an output.
        func atol(_ short: String) -> Float {
            let tolerance = tensorInfo(short)["tolerance"] as! [String: Any]
            return (tolerance["atol"] as! NSNumber).floatValue
        }

        /// Elements with their own looser tolerance (AdamW-amplified rounding), if any.
        func illConditioned(_ short: String) -> (indices: Set<Int>, atol: Float)? {
            guard let block = tensorInfo(short)["ill_conditioned"] as? [String: Any] else { return nil }
            let indices = (block["flat_indices"] as! [Any]).map { ($0 as! NSNumber).intValue }
            return (Set(indices), (block["atol"] as! NSNumber).floatValue)
        }

        /// Checks `got` against the reference output `short` with its recommended atol.
        func expectClose(_ got: [Float], _ short: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let reference = try floats(short)
            let label = "\(name)/\(short)"
            if let special = illConditioned(short) {
                var main: [Float] = [], mainRef: [Float] = [], ill: [Float] = [], illRef: [Float] = []
                for i in reference.indices {
                    if special.indices.contains(i) { ill.append(got[i]); illRef.append(reference[i]) }
                    else { main.append(got[i]); mainRef.append(reference[i]) }
                }
                Swiftlet_expectClose(main, mainRef, atol: atol(short), label, sourceLocation: sourceLocation)
                Swiftlet_expectClose(ill, illRef, atol: special.atol, label + " (ill-conditioned)", sourceLocation: sourceLocation)
            } else {
                Swiftlet_expectClose(got, reference, atol: atol(short), label, sourceLocation: sourceLocation)
            }
        }
    }
}

/// max |got − ref| ≤ atol, element counts equal, and no NaN or Inf anywhere in `got`.
func Swiftlet_expectClose(
    _ got: [Float], _ reference: [Float], atol: Float, _ label: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(got.count == reference.count, "\(label): \(got.count) elements, expected \(reference.count)", sourceLocation: sourceLocation)
    guard got.count == reference.count else { return }
    var worst: Float = 0
    var worstIndex = 0
    for i in got.indices {
        guard got[i].isFinite else {
            Issue.record("\(label): element \(i) is \(got[i])", sourceLocation: sourceLocation)
            return
        }
        let error = abs(got[i] - reference[i])
        if error > worst { worst = error; worstIndex = i }
    }
    #expect(worst <= atol, "\(label): max error \(worst) at \(worstIndex) (got \(got[worstIndex]), ref \(reference[worstIndex])) > atol \(atol)", sourceLocation: sourceLocation)
}

/// Same as `Swiftlet_expectClose`, named for use in tests.
func expectClose(_ got: [Float], _ reference: [Float], atol: Float, _ label: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    Swiftlet_expectClose(got, reference, atol: atol, label, sourceLocation: sourceLocation)
}

/// Bitwise equality of two float arrays (NaN-safe: compares bit patterns).
func expectBitwiseEqual(_ a: [Float], _ b: [Float], _ label: String,
                        sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern },
            "\(label): results differ bitwise", sourceLocation: sourceLocation)
}
