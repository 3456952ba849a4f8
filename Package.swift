// swift-tools-version:6.2
// Tools 6.2+ lets other packages depend on a released Swiftlet even though the kernels
// use unsafe flags (-fopenmp, -O3); see the README's "Building" section.
import Foundation
import PackageDescription

/// OpenMP comes from Debian's libomp-dev (`make deps` installs it). Where it is missing the
/// kernels still build and run single-threaded, and `swiftlet info` says so.
let openMPLibraryDirectories = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib"]
let hasOpenMP = ProcessInfo.processInfo.environment["SWIFTLET_NO_OPENMP"] == nil
    && openMPLibraryDirectories.contains { FileManager.default.fileExists(atPath: $0 + "/libomp5.so") }

// The kernels are compiled at -O3 in every configuration so debug tests run at real speed
// (clang takes the last -O it sees, and user flags come after SwiftPM's own). FMA contraction
// within an expression is clang's default for C, stated here because flash attention's AVX-512
// intrinsics reproduce the contracted C bit for bit.
var kernelFlags = ["-O3", "-fno-math-errno", "-ffp-contract=on", "-std=c11"]
var kernelLinker: [LinkerSetting] = [.linkedLibrary("m")]
if hasOpenMP {
    kernelFlags.append("-fopenmp")
    kernelLinker.append(.linkedLibrary("omp5"))
}

let package = Package(
    name: "Swiftlet",
    products: [
        .library(name: "Swiftlet", targets: ["Swiftlet"]),
        .executable(name: "swiftlet", targets: ["swiftlet"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .target(
            name: "SwiftletKernels",
            path: "Kernels",
            cSettings: [.unsafeFlags(kernelFlags)],
            linkerSettings: kernelLinker
        ),
        .target(
            name: "Swiftlet",
            dependencies: ["SwiftletKernels"],
            path: "Sources/Swiftlet",
            resources: [.copy("Resources")]
        ),
        .target(
            name: "SwiftletBenchmarks",
            dependencies: ["Swiftlet", "SwiftletKernels"],
            path: "Benchmarks"
        ),
        .executableTarget(
            name: "swiftlet",
            dependencies: [
                "Swiftlet",
                "SwiftletBenchmarks",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/swiftlet"
        ),
        .testTarget(
            name: "SwiftletTests",
            dependencies: ["Swiftlet", "SwiftletKernels", "SwiftletBenchmarks"],
            path: "Tests/SwiftletTests"
        ),
    ]
)
