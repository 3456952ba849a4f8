#if canImport(Glibc)
import Glibc
#endif

/// Turns Ctrl-C (SIGINT) into a flag the training loop polls, so it can save a checkpoint and
/// exit cleanly. A second Ctrl-C exits at once.
enum InterruptSignal {
    nonisolated(unsafe) private static var interrupted: sig_atomic_t = 0

    static var wasRaised: Bool { interrupted != 0 }

    static func install() {
        // A parent may have spawned us with SIGINT blocked (the mask is inherited): unblock it.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        signal(SIGINT) { _ in
            if InterruptSignal.interrupted != 0 { _exit(130) }
            InterruptSignal.interrupted = 1
        }
    }
}
