import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A one-line progress display for long work: a bar, the step, free-form fields and an ETA.
///
/// On a terminal it redraws in place (at most ~10 times a second). When stdout is not a terminal
/// (a pipe, a log file, CI) it prints a plain line every `plainInterval` steps instead, so logs
/// stay readable.
final class ProgressBar {
    let total: Int
    let label: String
    private let isTerminal = isatty(STDOUT_FILENO) != 0
    private let started = Date()
    private var lastDraw = Date.distantPast
    private let plainInterval: Int
    private var lastPlainStep: Int?
    private let firstStep: Int

    /// - Parameters:
    ///   - total: the step count at which the work is done.
    ///   - firstStep: the step the work starts from (for resumed runs: ETA counts only new steps).
    ///   - plainInterval: steps between lines when stdout is not a terminal.
    init(total: Int, firstStep: Int = 0, label: String = "", plainInterval: Int = 10) {
        self.total = max(total, 1)
        self.firstStep = firstStep
        self.label = label
        self.plainInterval = max(plainInterval, 1)
    }

    /// Shows progress at `step` (1-based count of completed steps) with extra `fields`.
    func update(step: Int, fields: [(String, String)]) {
        let now = Date()
        let fieldText = fields.map { "\($0.0) \($0.1)" }.joined(separator: "  ")
        let eta = etaText(step: step, now: now)
        if isTerminal {
            guard now.timeIntervalSince(lastDraw) >= 0.1 || step >= total else { return }
            lastDraw = now
            let width = 24
            let filled = min(width, width * step / total)
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            let line = "\(label)\(bar) \(step)/\(total)  \(fieldText)  eta \(eta)"
            print("\r\u{1B}[2K" + line, terminator: "")
            fflush(nil)
        } else if lastPlainStep.map({ step - $0 >= plainInterval }) ?? true || step >= total {
            lastPlainStep = step
            print("\(label)step \(step)/\(total)  \(fieldText)  eta \(eta)")
            fflush(nil)
        }
    }

    /// Prints a message on its own line without breaking the bar.
    func message(_ text: String) {
        if isTerminal { print("\r\u{1B}[2K" + text) } else { print(text) }
        fflush(nil)
    }

    /// Ends the bar's line.
    func finish() {
        if isTerminal { print("") }
        fflush(nil)
    }

    private func etaText(step: Int, now: Date) -> String {
        let done = step - firstStep
        guard done > 0 else { return "--" }
        let perStep = now.timeIntervalSince(started) / Double(done)
        return Self.duration(perStep * Double(max(total - step, 0)))
    }

    /// "1h02m", "3m05s", "42s".
    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
        if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return "\(s)s"
    }
}
