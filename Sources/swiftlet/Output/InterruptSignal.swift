#if canImport(Glibc)
import Glibc
#endif

/// Turns Ctrl-C (SIGINT) into a flag the training loop polls, so it can save a checkpoint and
/// exit cleanly; says so on stderr. A second Ctrl-C exits at once, without saving (a checkpoint
/// being written is left as it was: the atomic write's temporary file never replaces it).
enum InterruptSignal {
    private static let notice: StaticString = "\nstopping after this step to save last.safetensors (Ctrl-C again quits without saving)\n"

    nonisolated(unsafe) private static var interrupted: sig_atomic_t = 0

    static var wasRaised: Bool { interrupted != 0 }

    static func install() {
        _ = (interrupted, notice)  // initialized here, not first in the handler
        // A parent may have spawned us with SIGINT blocked (the mask is inherited): unblock it.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        signal(SIGINT) { _ in
            if InterruptSignal.interrupted != 0 { _exit(130) }
            InterruptSignal.interrupted = 1
            // write(2) is async-signal-safe, and a StaticString's bytes are constant data.
            _ = write(STDERR_FILENO, InterruptSignal.notice.utf8Start, InterruptSignal.notice.utf8CodeUnitCount)
        }
    }
}
