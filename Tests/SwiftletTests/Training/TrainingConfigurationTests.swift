import Foundation
import Swiftlet
import Testing

/// Settings that cannot be used are refused with the setting's name.
@Suite("Training configuration") struct TrainingConfigurationTests {
    func expectRefused(_ layer: TrainingConfiguration.Layer, field: String, mentioning text: String,
                       sourceLocation: SourceLocation = #_sourceLocation) {
        let error = #expect(throws: ConfigError.self, sourceLocation: sourceLocation) {
            try TrainingConfiguration.resolve(layers: [["preset": "tiny"], layer])
        }
        #expect(error?.field == field, "\(error.map { "\($0)" } ?? "no error")", sourceLocation: sourceLocation)
        #expect(error?.reason.contains(text) == true, "\(error.map { "\($0)" } ?? "no error")", sourceLocation: sourceLocation)
    }

    /// Values JSON cannot hold, and values the decoder refuses without naming a key.
    @Test func badValuesNameTheirSetting() throws {
        expectRefused(["lr": Double.infinity], field: "lr", mentioning: "finite")
        expectRefused(["dropout": Double.nan], field: "dropout", mentioning: "finite")
        expectRefused(["steps": 2.5], field: "steps", mentioning: "2.5")
        expectRefused(["seed": -1], field: "seed", mentioning: "-1")
        expectRefused(["lr": "fast"], field: "lr", mentioning: "fast")
        expectRefused(["n_layers": 3], field: "n_layers", mentioning: "not a setting")
        #expect(try TrainingConfiguration.resolve(layers: [["preset": "tiny"], ["steps": 7]]).steps == 7)
        let preset = #expect(throws: ConfigError.self) { try TrainingConfiguration.resolve(layers: [["preset": 3]]) }
        #expect(preset?.field == "preset")
    }
}
