/// A command that cannot do its work (a missing or unsuitable file, say): ArgumentParser prints
/// "Error: …" and exits with status 1. Problems with the arguments themselves are
/// `ValidationError`s instead, which also print the usage and exit with status 64.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
