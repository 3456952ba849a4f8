// swift-tools-version:6.2
// Examples of Swiftlet used as a library. Build and run from this folder:
//   swift run -c release TrainTiny
import PackageDescription

let package = Package(
    name: "SwiftletExamples",
    dependencies: [
        .package(name: "Swiftlet", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "TrainTiny",
            dependencies: [.product(name: "Swiftlet", package: "Swiftlet")],
            path: "Sources/TrainTiny"
        ),
    ]
)
