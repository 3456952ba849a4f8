import Foundation

/// Text given on the command line: literal, or @FILE.
enum PromptText {
    static func read(_ argument: String) throws -> String {
        guard argument.hasPrefix("@") else { return argument }
        let path = String(argument.dropFirst())
        guard let data = FileManager.default.contents(atPath: path) else { throw CommandError("cannot read the prompt file \(path)") }
        guard let text = String(data: data, encoding: .utf8) else { throw CommandError("the prompt file \(path) is not UTF-8 text") }
        return text
    }
}
