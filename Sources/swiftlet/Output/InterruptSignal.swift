#if canImport(Glibc)
import Glibc
#endif

/// Turns Ctrl-C (SIGINT) into a flag the training loop polls, so it can save a checkpoint and
/// exit cleanly. A second Ctrl-C exits at once.
enum InterruptSignal {
    nonisolated(unsafe) private static var interrupted: sig_atomic_t = 0

    static var wasRaised: Bool { interrupted != 0 }

    static func install() {
        signal(SIGINT) { _ in
            if InterruptSignal.interrupted != 0 { _exit(130) }
            InterruptSignal.interrupted = 1
        }
    }
}
